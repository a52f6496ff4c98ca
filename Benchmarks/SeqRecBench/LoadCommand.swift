import SeqRecProtocol

/// `seqrec-bench load`: open-loop, closed-loop or a sweep (closed loop to find the maximum, then
/// open loop at fractions of it) against a running `seqrec serve`, with JSON, CSV and SVG output.
public enum LoadCommand {
    static let options: Set<String> = ["mode", "connections", "depth", "host", "port", "warmup", "duration", "rate",
                                       "fractions", "json", "csv", "svg", "svg-load", "items", "session-length", "k",
                                       "first-item", "model-name", "latency-log"]

    struct RunReport: Codable {
        var mode: String
        var connections: Int
        var depth: Int
        var offeredRPS: Double
        var throughputRPS: Double
        var completed: Int
        var errors: Int
        var unanswered: Int
        var durationSeconds: Double
        var latency: LatencySummary
        var service: LatencySummary

        enum CodingKeys: String, CodingKey {
            case mode, connections, depth, completed, errors, unanswered, latency, service
            case offeredRPS = "offered_rps", throughputRPS = "throughput_rps", durationSeconds = "duration_s"
        }
    }

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        let mode = try arguments.choice("mode", default: "closed", from: ["open", "closed", "sweep"])
        let connections = try arguments.int("connections", default: 64, range: 1...1000)
        let depth = try arguments.int("depth", default: 1, range: 1...128)
        let frames = try requestFrames(arguments)
        func plan(_ loadMode: LoadPlan.Mode) throws -> LoadPlan {
            var plan = LoadPlan(host: arguments.string("host", default: "127.0.0.1"),
                     port: UInt16(try arguments.int("port", default: 7878, range: 1...65535)),
                     connections: connections, mode: loadMode,
                     warmupSeconds: try arguments.double("warmup", default: 1, range: 0...600),
                     durationSeconds: try arguments.double("duration", default: 10, range: 0.1...3600))
            plan.recordsSamples = arguments.string("latency-log") != nil
            return plan
        }
        var results: [LoadResult] = []
        switch mode {
        case "open":
            let rates = try arguments.intList("rate", default: [1000], range: 1...10_000_000)
            for rate in rates { results.append(try report(LoadGenerator.run(try plan(.open(ratePerSecond: Double(rate))), frames: frames))) }
        case "closed":
            results.append(try report(LoadGenerator.run(try plan(.closed(depth: depth)), frames: frames)))
        default:
            let maximum = try report(LoadGenerator.run(try plan(.closed(depth: depth)), frames: frames))
            results.append(maximum)
            let fractions = (arguments.string("fractions") ?? "0.1,0.3,0.5,0.7,0.9")
                .split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 && $0 <= 2 }
            for fraction in fractions {
                let rate = maximum.throughputPerSecond * fraction
                results.append(try report(LoadGenerator.run(try plan(.open(ratePerSecond: rate)), frames: frames)))
            }
        }
        let reports = results.map(runReport)
        if let path = arguments.string("json") { try ReportEncoding.write(try ReportEncoding.json(reports), to: path) }
        if let path = arguments.string("csv") { try ReportEncoding.write(csv(reports), to: path) }
        if let path = arguments.string("latency-log") {
            // One line per measured request of the last run: CLOCK_MONOTONIC due time, latency (ns), 1 = OK.
            var text = "scheduled_ns,latency_ns,ok\n"
            for sample in results.last?.samples ?? [] {
                text += "\(sample.scheduled),\(sample.latency),\(sample.succeeded ? 1 : 0)\n"
            }
            try ReportEncoding.write(text, to: path)
        }
        if let path = arguments.string("svg") { try ReportEncoding.write(LoadPlots.spectrum(results), to: path) }
        if let path = arguments.string("svg-load"), results.count > 1 {
            try ReportEncoding.write(LoadPlots.latencyVersusLoad(results), to: path)
        }
        return try ReportEncoding.json(reports)
    }

    /// 64 RECOMMEND frames with deterministic full-length sessions, encoded once.
    static func requestFrames(_ arguments: BenchArguments) throws -> [[UInt8]] {
        let items = try arguments.int("items", default: 1682, range: 1...100_000_000)
        let length = try arguments.int("session-length", default: 50, range: 1...1000)
        let k = try arguments.int("k", default: 10, range: 1...1000)
        let first = try arguments.int("first-item", default: 1, range: 0...1)
        let model = arguments.string("model-name", default: "")
        return try (0..<64).map { session in
            let ids = (0..<length).map { position in
                UInt32(BenchSessions.item(session: session, position: position,
                                              itemCount: items, firstItem: first))
            }
            let request = RecommendRequest(session: .internal(ids), k: k, modelName: model)
            try request.validate()
            return request.frameBytes(requestID: 1)
        }
    }

    /// Prints one progress line per run to stderr and passes the result on.
    private static func report(_ result: LoadResult) -> LoadResult {
        let summary = result.latency.summary
        BenchCommandLine.printError(
            "\(describe(result.plan.mode)) connections=\(result.plan.connections): offered "
            + ReportEncoding.decimal(result.offeredPerSecond, 0) + "/s, throughput "
            + ReportEncoding.decimal(result.throughputPerSecond, 0) + "/s, p50 "
            + ReportEncoding.decimal(summary.p50) + " p99 " + ReportEncoding.decimal(summary.p99)
            + " p99.9 " + ReportEncoding.decimal(summary.p999) + " µs, errors \(result.errors), unanswered \(result.unanswered)")
        return result
    }

    static func describe(_ mode: LoadPlan.Mode) -> String {
        switch mode {
        case .open(let rate): return "open rate=" + ReportEncoding.decimal(rate, 0)
        case .closed(let depth): return "closed depth=\(depth)"
        }
    }

    private static func runReport(_ result: LoadResult) -> RunReport {
        let depth: Int
        let mode: String
        switch result.plan.mode {
        case .open: (mode, depth) = ("open", 0)
        case .closed(let value): (mode, depth) = ("closed", value)
        }
        return RunReport(mode: mode, connections: result.plan.connections, depth: depth,
                         offeredRPS: result.offeredPerSecond, throughputRPS: result.throughputPerSecond,
                         completed: result.completed, errors: result.errors, unanswered: result.unanswered,
                         durationSeconds: result.plan.durationSeconds, latency: result.latency.summary,
                         service: result.service.summary)
    }

    static func csv(_ reports: [RunReport]) -> String {
        ReportEncoding.csv(
            header: ["mode", "connections", "depth", "offered_rps", "throughput_rps", "completed", "errors",
                     "unanswered", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "service_p50_us", "service_p99_us"],
            rows: reports.map { r in
                [r.mode, String(r.connections), String(r.depth), ReportEncoding.decimal(r.offeredRPS, 0),
                 ReportEncoding.decimal(r.throughputRPS, 0), String(r.completed), String(r.errors),
                 String(r.unanswered), ReportEncoding.decimal(r.latency.p50), ReportEncoding.decimal(r.latency.p90),
                 ReportEncoding.decimal(r.latency.p99), ReportEncoding.decimal(r.latency.p999),
                 ReportEncoding.decimal(r.latency.max), ReportEncoding.decimal(r.service.p50),
                 ReportEncoding.decimal(r.service.p99)]
            })
    }
}

/// The load generator's SVG plots.
enum LoadPlots {
    static func spectrum(_ results: [LoadResult]) -> String {
        var chart = SVGChart(title: "SeqRec serve latency by percentile", xLabel: "percentile",
                             yLabel: "latency (µs, log scale)", xScale: .percentileNines, yScale: .logarithmic)
        for result in results {
            let name = LoadCommand.describe(result.plan.mode) + " ×\(result.plan.connections)"
            chart.series.append(.init(name: name, points: result.latency.spectrum().map { ($0.percent, $0.microseconds) }))
        }
        return chart.render()
    }

    static func latencyVersusLoad(_ results: [LoadResult]) -> String {
        var chart = SVGChart(title: "SeqRec serve latency vs throughput (open loop)", xLabel: "throughput (requests/s)",
                             yLabel: "latency (µs, log scale)", xScale: .linear, yScale: .logarithmic)
        let open = results.filter { if case .open = $0.plan.mode { return true } else { return false } }
            .sorted { $0.throughputPerSecond < $1.throughputPerSecond }
        for (name, percent) in [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)] {
            chart.series.append(.init(name: name, points: open.map {
                ($0.throughputPerSecond, Double($0.latency.percentile(percent)) / 1000)
            }))
        }
        return chart.render()
    }
}

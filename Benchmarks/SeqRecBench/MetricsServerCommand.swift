// `seqrec-bench metrics-server`: what metrics counting costs THROUGH the server (issue 12), before and
// after in one run. Two servers of the same model run in this process on loopback ports: one exactly as
// `seqrec serve` sets it up (`Server.attach(OperationsRuntime)`: every request counted, the duration,
// queue-wait, batch-size and compute histograms observed), one never attached (its core has no metrics
// writer, so the counting code is skipped: the "metrics off" build the issue asks to compare with). The
// same closed-loop load (`LoadGenerator`, the engine of `seqrec-bench load`) runs against each in
// alternation, `--rounds` times, the order flipping every round; the admin port is not opened, so
// nothing scrapes: this is the counting alone.
import Foundation
import SeqRecCore
import SeqRecOperations
import SeqRecServer

public enum MetricsServerCommand {
    static let options: Set<String> = ["model", "connections", "depth", "warmup", "duration", "rounds", "workers",
                                       "items", "session-length", "k", "first-item", "model-name"]

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        guard let path = arguments.string("model") else { throw BenchUsageError("metrics-server needs --model <file.seqrec>") }
        let connections = try arguments.int("connections", default: 8, range: 1...1000)
        let depth = try arguments.int("depth", default: 1, range: 1...128)
        let warmup = try arguments.double("warmup", default: 1, range: 0...60)
        let duration = try arguments.double("duration", default: 3, range: 0.1...600)
        let rounds = try arguments.int("rounds", default: 3, range: 1...100)
        let workers = try arguments.int("workers", default: 1, range: 1...64)
        let frames = try LoadCommand.requestFrames(arguments)
        configureBLASThreads(1)

        var operationsOptions = OperationsOptions()
        operationsOptions.adminPort = nil
        let runtime = OperationsRuntime(options: operationsOptions, environment: [:],
                                        build: BuildInfo(version: "bench", kernels: "auto"))
        /// A loaded server running on its own thread; `counting`: attached to `runtime` first, as `seqrec serve` does.
        func start(counting: Bool) throws -> (server: Server, thread: Thread) {
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.workers = workers
            configuration.models = [ModelSource(path: path)]
            configuration.stateCacheMegabytes = 0   // full forward passes: the sessions repeat
            configuration.drainDelayMilliseconds = 0
            let server = try Server.load(configuration: configuration)
            if counting { _ = try server.attach(runtime) }
            let thread = Thread { try? server.run() }
            thread.start()
            return (server, thread)
        }
        let off = try start(counting: false)
        let on = try start(counting: true)
        defer {
            off.server.drain()
            on.server.drain()
            off.server.waitUntilStopped()
            on.server.waitUntilStopped()
        }

        var lines = ["metrics counting through the server: \(path), \(workers) worker(s), closed loop "
                     + "\(connections) connections × depth \(depth), \(duration) s per run after \(warmup) s warm-up, "
                     + "\(rounds) rounds (order flips each round), state cache off, no scraping",
                     "round  metrics  throughput/s  p50 µs  p99 µs  p99.9 µs  errors"]
        var throughput: [String: [Double]] = ["off": [], "on": []]
        var p50: [String: [Double]] = ["off": [], "on": []]
        var p99: [String: [Double]] = ["off": [], "on": []]
        for round in 1...rounds {
            let order = round % 2 == 1 ? [("off", off.server), ("on", on.server)] : [("on", on.server), ("off", off.server)]
            for (label, server) in order {
                let plan = LoadPlan(host: "127.0.0.1", port: server.port, connections: connections,
                                    mode: .closed(depth: depth), warmupSeconds: warmup, durationSeconds: duration)
                let result = try LoadGenerator.run(plan, frames: frames)
                let summary = result.latency.summary
                throughput[label]!.append(result.throughputPerSecond)
                p50[label]!.append(summary.p50)
                p99[label]!.append(summary.p99)
                lines.append("\(round)  \(label)  " + ReportEncoding.decimal(result.throughputPerSecond, 0) + "  "
                             + ReportEncoding.decimal(summary.p50) + "  " + ReportEncoding.decimal(summary.p99) + "  "
                             + ReportEncoding.decimal(summary.p999) + "  \(result.errors + result.unanswered)")
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        for label in ["off", "on"] {
            lines.append("median \(label): throughput " + ReportEncoding.decimal(median(throughput[label]!), 0)
                         + "/s (" + ReportEncoding.decimal(throughput[label]!.min()!, 0) + "–"
                         + ReportEncoding.decimal(throughput[label]!.max()!, 0) + "), p50 "
                         + ReportEncoding.decimal(median(p50[label]!)) + " µs, p99 " + ReportEncoding.decimal(median(p99[label]!)) + " µs")
        }
        // Paired by round (the two runs of a round are seconds apart): robust to load that drifts slowly.
        let throughputRatios = zip(throughput["on"]!, throughput["off"]!).map { $0 / $1 }.sorted()
        let p50Ratios = zip(p50["on"]!, p50["off"]!).map { $0 / $1 }.sorted()
        func quartiles(_ sorted: [Double]) -> String {
            ReportEncoding.decimal(median(sorted), 3) + " (quartiles " + ReportEncoding.decimal(sorted[sorted.count / 4], 3)
                + "–" + ReportEncoding.decimal(sorted[(3 * sorted.count) / 4], 3) + ")"
        }
        lines.append("per-round on/off, median over \(rounds) rounds: throughput " + quartiles(throughputRatios)
                     + ", p50 " + quartiles(p50Ratios))
        let snapshot = runtime.registry.snapshot()
        let counted = snapshot.series.indices.map { snapshot.requests(series: $0) }.reduce(0, +)
        lines.append("on/off: throughput " + ReportEncoding.decimal(median(throughput["on"]!) / median(throughput["off"]!), 3)
                     + ", p50 " + ReportEncoding.decimal(median(p50["on"]!) / median(p50["off"]!), 3)
                     + "; seqrec_requests_total of the counting server: \(counted) (warm-ups included)")
        return lines.joined(separator: "\n")
    }
}

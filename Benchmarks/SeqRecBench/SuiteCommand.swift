import Foundation

/// `seqrec-bench suite`: every model in a folder × batch sizes × kernel paths, one table.
public enum SuiteCommand {
    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Set(["models", "batches", "kernels", "json", "csv"])
            .union(passThroughNames))
        let folder = try arguments.requiredString("models")
        let batches = try arguments.intList("batches", default: [1, 8, 32, 64], range: 1...4096)
        let kernelNames = (arguments.string("kernels") ?? "blas,simd").split(separator: ",").map(String.init)
        for name in kernelNames { _ = try InProcessBenchmark.kernelSelection(name) }
        let template = try InProcessCommand.configuration(try BenchArguments(
            ["--model", folder] + passThrough(arguments), known: InProcessCommand.options))
        let models = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".seqrec") }.sorted()
        guard !models.isEmpty else { throw BenchUsageError("no *.seqrec files in \(folder)") }
        var reports: [InProcessReport] = []
        var lines: [String] = []
        for model in models {
            for batch in batches {
                for kernels in kernelNames {
                    var configuration = template
                    configuration.modelPath = folder + "/" + model
                    configuration.batch = batch
                    configuration.kernels = kernels
                    let report = try InProcessBenchmark.run(configuration)
                    reports.append(report)
                    let line = InProcessCommand.textLine(report)
                    lines.append(line)
                    BenchCommandLine.printError(line)
                }
            }
        }
        if let path = arguments.string("json") { try ReportEncoding.write(try ReportEncoding.json(reports), to: path) }
        if let path = arguments.string("csv") { try ReportEncoding.write(csv(reports), to: path) }
        return markdownTable(reports)
    }

    /// The inprocess options a suite hands to every run.
    private static let passThroughNames: Set<String> = ["k", "session-length", "warmup", "iterations", "max-seconds",
                                                         "min-iterations", "repeats"]

    private static func passThrough(_ arguments: BenchArguments) -> [String] {
        passThroughNames.sorted().flatMap { name in
            arguments.string(name).map { ["--\(name)", $0] } ?? []
        }
    }

    static func csv(_ reports: [InProcessReport]) -> String {
        ReportEncoding.csv(
            header: ["model", "family", "items", "batch", "k", "kernels", "iterations", "repeats",
                     "p50_us", "p50_min_us", "p50_max_us", "p90_us", "p99_us", "p999_us",
                     "per_request_p50_us", "throughput_rps", "allocs_per_request"],
            rows: reports.map { r in
                [r.model, r.family, String(r.items), String(r.batch), String(r.k), r.kernels,
                 String(r.iterations), String(r.repeats), ReportEncoding.decimal(r.p50Us),
                 ReportEncoding.decimal(r.p50Spread.min), ReportEncoding.decimal(r.p50Spread.max),
                 ReportEncoding.decimal(r.p90Us), ReportEncoding.decimal(r.p99Us),
                 ReportEncoding.decimal(r.p999Us), ReportEncoding.decimal(r.perRequestP50Us, 2),
                 ReportEncoding.decimal(r.throughputRPS, 0),
                 r.allocsPerRequest.map { ReportEncoding.decimal($0, 3) } ?? ""]
            })
    }

    static func markdownTable(_ reports: [InProcessReport]) -> String {
        var text = "| family | items | batch | kernels | p50 µs (min–max) | p90 µs | p99 µs | p99.9 µs | µs/request | req/s (1 thread) | allocs/request |\n"
        text += "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|\n"
        for r in reports {
            let d = { (value: Double) in ReportEncoding.decimal(value, 1) }
            text += "| \(r.family) | \(r.items) | \(r.batch) | \(r.kernels) | \(d(r.p50Us)) (\(d(r.p50Spread.min))–\(d(r.p50Spread.max))) "
                + "| \(d(r.p90Us)) | \(d(r.p99Us)) | \(d(r.p999Us)) | \(ReportEncoding.decimal(r.perRequestP50Us, 2)) "
                + "| \(ReportEncoding.decimal(r.throughputRPS, 0)) | \(r.allocsPerRequest.map { ReportEncoding.decimal($0, 2) } ?? "n/a") |\n"
        }
        return text
    }
}

/// `seqrec-bench inprocess` (also `seqrec bench`): one configuration, JSON or a text line.
import SeqRecCore
public enum InProcessCommand {
    static let options: Set<String> = ["model", "batch", "k", "kernels", "session-length", "warmup", "iterations",
                                       "max-seconds", "min-iterations", "repeats", "format", "state-cache-mb", "sessions"]

    public static func configuration(_ arguments: BenchArguments) throws -> InProcessConfiguration {
        let plan = TimingPlan(
            warmup: try arguments.int("warmup", default: 100, range: 0...1_000_000),
            iterations: try arguments.int("iterations", default: 5_000, range: 1...10_000_000),
            maxSeconds: try arguments.double("max-seconds", default: 3, range: 0.001...3600),
            minimumIterations: try arguments.int("min-iterations", default: 20, range: 1...1_000_000),
            repeats: try arguments.int("repeats", default: 3, range: 1...1000))
        var configuration = InProcessConfiguration(
            modelPath: try arguments.requiredString("model"),
            batch: try arguments.int("batch", default: 1, range: 1...4096),
            k: try arguments.int("k", default: 10, range: 1...1000),
            kernels: try arguments.choice("kernels", default: "auto", from: KernelSelection.acceptedNames),
            sessionLength: try arguments.int("session-length", default: 50, range: 1...100_000),
            plan: plan)
        configuration.stateCacheMegabytes = try arguments.int("state-cache-mb", default: 0, range: StateCacheSettings.megabyteRange)
        configuration.growing = try arguments.choice("sessions", default: "fixed", from: ["fixed", "growing"]) == "growing"
        return configuration
    }

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        let format = try arguments.choice("format", default: "text", from: ["json", "text"])
        let report = try InProcessBenchmark.run(try configuration(arguments))
        return format == "json" ? try ReportEncoding.json(report) : textLine(report)
    }

    static func textLine(_ report: InProcessReport) -> String {
        let allocations = report.allocsPerRequest.map { ReportEncoding.decimal($0, 2) } ?? "n/a"
        return "\(report.family) items=\(report.items) B=\(report.batch) k=\(report.k) \(report.kernels): "
            + "p50 \(us(report.p50Us)) (\(us(report.p50Spread.min))–\(us(report.p50Spread.max))) "
            + "p90 \(us(report.p90Us)) p99 \(us(report.p99Us)) p99.9 \(us(report.p999Us)) µs, "
            + "\(us(report.perRequestP50Us)) µs/request, allocs/request \(allocations), "
            + "\(report.iterations)×\(report.repeats) calls"
    }

    private static func us(_ value: Double) -> String { ReportEncoding.decimal(value, 1) }
}

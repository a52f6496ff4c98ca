// `seqrec-bench answers`: what diversity (MMR over the top `pool` → k) and explanations (one extra
// batch of leave-one-out sessions) cost per request, in process, side by side with the plain request
// in the same run: the three configurations take turns within every repeat, on the same sessions.
import Foundation
import SeqRecCore

public enum AnswersCommand {
    static let options: Set<String> = ["model", "session-length", "k", "pool", "lambda", "sessions", "repeats",
                                       "iterations", "max-seconds", "kernels", "state-cache"]

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        guard let path = arguments.string("model") else { throw BenchUsageError("answers needs --model <file.seqrec>") }
        let length = try arguments.int("session-length", default: 50, range: 1...4096)
        let k = try arguments.int("k", default: 10, range: 1...SessionQuery.maxK)
        let pool = try arguments.int("pool", default: 200, range: k...SessionQuery.maxK)
        let lambda = Float(try arguments.double("lambda", default: 0.7, range: 0...1))
        let sessionCount = try arguments.int("sessions", default: 16, range: 1...1024)
        let repeats = try arguments.int("repeats", default: 5, range: 1...100)
        let iterations = try arguments.int("iterations", default: 2_000, range: 10...1_000_000)
        let maxSeconds = try arguments.double("max-seconds", default: 1, range: 0.01...60)
        let cache = try arguments.int("state-cache", default: 0, range: 0...1 << 20)
        let kernelName = arguments.string("kernels", default: "auto")
        guard let kernels = KernelSelection(name: kernelName) else { throw BenchUsageError("unknown --kernels '\(kernelName)'") }
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, kernels: kernels, maxBatch: 64, stateCacheEntries: cache)
        let context = recommender.makeContext()
        let info = recommender.info
        // Distinct sessions in turn (no state cache by default: every request is a full forward pass).
        let sessions = (0..<sessionCount).map { s in
            (0..<length).map { BenchSessions.item(session: s, position: $0, itemCount: info.itemCount, firstItem: info.firstItem) }
        }
        func queries(_ configure: (inout SessionQuery) -> Void) -> [[SessionQuery]] {
            sessions.map { items in
                var query = SessionQuery(items: items, k: k)
                configure(&query)
                return [query]
            }
        }
        let configurations: [(name: String, queries: [[SessionQuery]])] = [
            ("plain top \(k)", queries { _ in }),
            ("plain top \(pool) (the pool MMR starts from)", queries { $0.k = pool }),
            ("MMR top \(pool) → \(k), λ \(lambda)", queries { $0.diversity = DiversityOptions(lambda: lambda, pool: pool) }),
            ("explain (top 3 of \(k) items)", queries { $0.explain = true }),
        ]
        var results: [Recommendation] = []
        let plan = TimingPlan(warmup: 50, iterations: iterations, maxSeconds: maxSeconds, minimumIterations: 20, repeats: 1)
        var p50: [[Double]] = Array(repeating: [], count: configurations.count)
        var p99: [[Double]] = Array(repeating: [], count: configurations.count)
        var allocations: [UInt64] = Array(repeating: 0, count: configurations.count)
        for _ in 0..<repeats {
            for (index, configuration) in configurations.enumerated() {
                var next = 0
                let runs = TimingLoop.measure(plan) {
                    // Validated once per call, as a server does; an error here is a bug in this command.
                    try! context.recommend(configuration.queries[next][...], into: &results)
                    next = (next + 1) % configuration.queries.count
                }
                p50[index].append(runs[0].latency.p50)
                p99[index].append(runs[0].latency.p99)
                allocations[index] += runs[0].allocations
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func format(_ value: Double) -> String { String(format: "%.1f", value) }
        let base = median(p50[0])
        var lines = ["model \(info.name) (\(info.family), \(info.itemCount) items), session length \(length), "
            + "kernels \(kernelName), state cache \(cache), \(repeats) repeats × ≤\(iterations) calls, B=1"]
        for (index, configuration) in configurations.enumerated() {
            let values = p50[index].sorted()
            lines.append("  \(configuration.name): p50 \(format(median(values))) µs (repeats \(format(values.first!))–"
                + "\(format(values.last!))), p99 \(format(median(p99[index]))) µs, "
                + "\(String(format: "%.2f", median(values) / base)) × plain, extra \(format(median(values) - base)) µs, "
                + "allocations \(AllocationCounts.isActive ? String(allocations[index]) : "n/a")")
        }
        return lines.joined(separator: "\n")
    }
}

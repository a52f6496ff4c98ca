// `seqrec-bench metrics`: what the server's per-request counting costs (docs/OPERATIONS.md §4,
// "Cost"). Per request the server makes one countRequest on the event loop, and per request a
// queue-wait observation plus per batch one countBatch on a worker; this times exactly that set
// of calls, alone and while another thread scrapes the registry in a loop, against an empty loop
// of the same shape, and counts the heap allocations of the timed calls.
import Foundation
import SeqRecOperations

public enum MetricsCommand {
    static let options: Set<String> = ["iterations", "repeats", "batch"]

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        let iterations = try arguments.int("iterations", default: 2_000_000, range: 1_000...1_000_000_000)
        let repeats = try arguments.int("repeats", default: 5, range: 1...100)
        let batch = try arguments.int("batch", default: 8, range: 1...1_024)
        let registry = MetricsRegistry()
        let series = try registry.series(model: "bench", version: 1, family: "none")
        let writer = registry.makeWriter(name: "bench")

        var lines: [String] = []
        for scraping in [false, true] {
            let stop = ScrapeFlag()
            let scraper = scraping ? Thread {
                while !stop.isSet { _ = registry.snapshot() }
            } : nil
            scraper?.start()
            var baseline: [Double] = [], counted: [Double] = []
            var allocations: UInt64 = 0
            for _ in 0..<repeats {
                baseline.append(timePerRequest(iterations) { step in
                    blackHole(step)
                })
                let before = AllocationCounts.thisThread()
                counted.append(timePerRequest(iterations) { step in
                    let duration = UInt64(truncatingIfNeeded: step &* 7_919) % 5_000_000
                    writer.countRequest(series: series, code: 0, durationNanoseconds: duration)
                    writer.observeQueueWait(series: series, nanoseconds: duration / 3)
                    if step % batch == 0 { writer.countBatch(series: series, size: batch, computeNanoseconds: duration) }
                })
                allocations += AllocationCounts.thisThread().allocationsSince(before)
            }
            stop.set()
            if scraping { Thread.sleep(forTimeInterval: 0.05) }
            let extra = zip(counted, baseline).map { $0 - $1 }.sorted()
            lines.append("metrics per request (batch \(batch)\(scraping ? ", scraper running" : "")): "
                + "median \(String(format: "%.2f", extra[extra.count / 2])) ns over the empty loop "
                + "(min \(String(format: "%.2f", extra.first!)), max \(String(format: "%.2f", extra.last!)); "
                + "empty loop \(String(format: "%.2f", baseline.sorted()[baseline.count / 2])) ns), "
                + "allocations \(AllocationCounts.isActive ? String(allocations) : "n/a"), \(repeats)×\(iterations) requests")
        }
        return lines.joined(separator: "\n")
    }

    /// Nanoseconds per call of `body` over `iterations` calls.
    private static func timePerRequest(_ iterations: Int, _ body: (Int) -> Void) -> Double {
        let start = monotonicNanoseconds()
        for step in 0..<iterations { body(step) }
        return Double(monotonicNanoseconds() &- start) / Double(iterations)
    }

    @inline(never)
    private static func blackHole(_ value: Int) {
        if value == -1 { print("unreachable") }
    }
}

private final class ScrapeFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

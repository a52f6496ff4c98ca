// `seqrec-bench catalogue`: the cost of item-attribute filters and of live attribute updates
// (issue 15, Benchmarks/RESULTS.md "Item attributes"), in one process, side by side:
//   filter: B=1 requests alternating unfiltered / filtered (10 % of items unavailable + a category
//           rule) on the same context, so both see the same machine state; medians and p99, ratio
//   update: a 10,000-item bulk update (parse, journal append + fsync, apply + publish) timed alone,
//           then the p99 of B=1 requests while another thread applies such updates back to back,
//           against the p99 of the same requests without updates (phases alternate)
import Foundation
import SeqRecCore

public enum CatalogueCommand {
    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: ["model", "requests", "repeats", "unavailable", "state-dir", "k"])
        let path = try arguments.requiredString("model")
        let requests = try arguments.int("requests", default: 300, range: 10...1_000_000)
        let repeats = try arguments.int("repeats", default: 3, range: 1...100)
        let k = try arguments.int("k", default: 10, range: 1...1000)
        let unavailablePercent = try arguments.int("unavailable", default: 10, range: 0...99)
        let stateDirectory = arguments.string("state-dir", default: NSTemporaryDirectory() + "seqrec-bench-catalogue-\(getpid())")
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, maxBatch: 8, tableMemory: .automatic)
        let info = recommender.info
        var lines = ["catalogue: \(path), \(info.itemCount) items, d \(info.embeddingWidth), B=1, k \(k)"]

        // 10 % unavailable, every item in one of 20 categories, by a fixed-seed generator.
        var random = SplitMix(seed: 15)
        var updates: [AttributeUpdate] = []
        updates.reserveCapacity(info.itemCount)
        for id in info.firstItem ..< info.firstItem + info.itemCount {
            updates.append(AttributeUpdate(key: .token(recommender.token(of: Int32(id))),
                                           available: Int(random.next() % 100) >= unavailablePercent,
                                           categories: ["c\(random.next() % 20)"]))
        }
        try? FileManager.default.removeItem(atPath: stateDirectory)
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let catalogue = try ItemCatalogue(name: "bench", stateDirectory: stateDirectory)
        catalogue.attach(recommender)
        let loadStart = monotonicNanoseconds()
        for start in stride(from: 0, to: updates.count, by: ItemCatalogue.maxBatch) {
            try catalogue.apply(Array(updates[start ..< min(start + ItemCatalogue.maxBatch, updates.count)]))
        }
        lines.append("initial attributes: \(updates.count) items in \(ms(monotonicNanoseconds() - loadStart)) ms (batches of 100,000, journaled)")

        let context = recommender.makeContext()
        let session: [Int32] = (0..<50).map { Int32(info.firstItem + ($0 * 7919) % info.itemCount) }
        var plain = SessionQuery(items: session, k: k)
        plain.filters.availableOnly = false
        var filtered = SessionQuery(items: session, k: k)
        filtered.filters.categoriesExclude = ["c3", "c7"]
        var capped = filtered
        capped.filters.maxPerCategory = 2
        var results: [Recommendation] = []
        func time(_ query: SessionQuery) -> UInt64 {
            let start = monotonicNanoseconds()
            try! context.recommend([query][...], into: &results)
            return monotonicNanoseconds() - start
        }
        for _ in 0..<5 { _ = time(plain); _ = time(filtered); _ = time(capped) }
        for run in 1...repeats {
            var a: [UInt64] = [], b: [UInt64] = [], c: [UInt64] = []
            for _ in 0..<requests { a.append(time(plain)); b.append(time(filtered)); c.append(time(capped)) }
            let sa = LatencySummary(sortingNanoseconds: &a), sb = LatencySummary(sortingNanoseconds: &b)
            let sc = LatencySummary(sortingNanoseconds: &c)
            lines.append("filter run \(run): unfiltered p50 \(us(sa.p50)) p99 \(us(sa.p99)) µs | 10 % unavailable + "
                + "categories_exclude p50 \(us(sb.p50)) p99 \(us(sb.p99)) µs = \(ratio(sb.p50, sa.p50)) × | + max_per_category 2 "
                + "p50 \(us(sc.p50)) µs = \(ratio(sc.p50, sa.p50)) ×")
        }

        // Bulk updates of 10,000 random items (availability flips, some category moves).
        func bulk() -> [UInt8] {
            var text = "{\"updates\":["
            for index in 0..<10_000 {
                let id = info.firstItem + Int(random.next() % UInt64(info.itemCount))
                if index > 0 { text += "," }
                text += "{\"id\":\"\(recommender.token(of: Int32(id)))\",\"available\":\(random.next() % 2 == 0)"
                if index % 10 == 0 { text += ",\"categories\":[\"c\(random.next() % 20)\"]" }
                text += "}"
            }
            return Array((text + "]}").utf8)
        }
        let bodies = (0..<8).map { _ in bulk() }
        var applyTimes: [UInt64] = []
        for body in bodies {
            let start = monotonicNanoseconds()
            try catalogue.apply(json: body)
            applyTimes.append(monotonicNanoseconds() - start)
        }
        let memory = try ItemCatalogue(name: "bench-memory")   // no state directory: no journal
        memory.attach(recommender)
        for start in stride(from: 0, to: updates.count, by: ItemCatalogue.maxBatch) {
            try memory.apply(Array(updates[start ..< min(start + ItemCatalogue.maxBatch, updates.count)]))
        }
        var memoryTimes: [UInt64] = [], parsed: [[AttributeUpdate]] = []
        for body in bodies { parsed.append(try ItemCatalogue.parseBatch(body)) }
        for batch in parsed {
            let start = monotonicNanoseconds()
            try memory.apply(batch)
            memoryTimes.append(monotonicNanoseconds() - start)
        }
        catalogue.attach(recommender)   // back to the journaled catalogue's snapshot
        applyTimes.sort()
        memoryTimes.sort()
        lines.append("bulk update of 10,000 items: parse + journal (append + fsync) + apply + publish median "
            + "\(ms(applyTimes[applyTimes.count / 2])) ms (min \(ms(applyTimes[0])), max \(ms(applyTimes.last!))); "
            + "apply + publish alone median \(ms(memoryTimes[memoryTimes.count / 2])) ms (min \(ms(memoryTimes[0])), max \(ms(memoryTimes.last!)))")

        for run in 1...repeats {
            var quiet: [UInt64] = [], busy: [UInt64] = []
            for _ in 0..<requests { quiet.append(time(filtered)) }
            let stop = UnsafeAtomicFlag()
            let updater = Thread {
                var index = 0
                while !stop.isSet {
                    try? catalogue.apply(json: bodies[index % bodies.count])
                    index += 1
                }
            }
            updater.start()
            for _ in 0..<requests { busy.append(time(filtered)) }
            stop.set()
            while !updater.isFinished { usleep(1000) }
            let sq = LatencySummary(sortingNanoseconds: &quiet), sb = LatencySummary(sortingNanoseconds: &busy)
            lines.append("update run \(run): requests without updates p50 \(us(sq.p50)) p99 \(us(sq.p99)) µs | during "
                + "back-to-back 10,000-item updates p50 \(us(sb.p50)) p99 \(us(sb.p99)) µs = p99 \(ratio(sb.p99, sq.p99)) ×")
        }
        return lines.joined(separator: "\n")
    }

    private static func ms(_ nanoseconds: UInt64) -> String { String(format: "%.2f", Double(nanoseconds) / 1e6) }
    private static func us(_ microseconds: Double) -> String { String(format: "%.0f", microseconds) }
    private static func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.3f", a / b) }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    final class UnsafeAtomicFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }
}

// `seqrec-bench catalogue`: the cost of item-attribute filters and of live attribute updates
// (issue 15, Benchmarks/RESULTS.md "Item attributes"), in one process, side by side:
//   filter: B=1 requests alternating unfiltered / filtered (10 % of items unavailable + a category
//           rule) on the same context, so both see the same machine state; medians and p99, ratio
//   update: a 10,000-item bulk update timed alone, whole (parse, check, journal append + fsync, apply +
//           publish) and by part (parse; `BatchTimings` from inside the catalogue: check, journal,
//           apply, publish; "apply + publish" = check + apply + publish without a journal, the issue's
//           < 10 ms target, docs/OPERATIONS.md §12.4), also with expiry changes;
//           then per run three phases of B=1 filtered requests on the same context: without updates,
//           with one 10,000-item batch every --update-interval-ms (a shop's rate; default 1 s), and
//           with batches back to back (stress: the updater keeps one core busy); p99 ratios per run.
//           The load average is printed at the start and the end (/proc/loadavg).
import Foundation
import SeqRecCore
import SeqRecPosix

public enum CatalogueCommand {
    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: ["model", "requests", "repeats", "unavailable", "state-dir", "k",
                                                                     "update-interval-ms", "update-requests", "bulk-rounds"])
        let path = try arguments.requiredString("model")
        let requests = try arguments.int("requests", default: 300, range: 10...1_000_000)
        let repeats = try arguments.int("repeats", default: 3, range: 1...100)
        let k = try arguments.int("k", default: 10, range: 1...1000)
        let unavailablePercent = try arguments.int("unavailable", default: 10, range: 0...99)
        let updateInterval = try arguments.int("update-interval-ms", default: 1000, range: 1...60_000)
        let updateRequests = try arguments.int("update-requests", default: 1000, range: 10...1_000_000)
        // Rounds of 8 batches for the "apply + publish" timing (more samples, or a profile).
        let bulkRounds = try arguments.int("bulk-rounds", default: 1, range: 1...1000)
        let stateDirectory = arguments.string("state-dir", default: NSTemporaryDirectory() + "seqrec-bench-catalogue-\(getpid())")
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, maxBatch: 8, tableMemory: .automatic)
        let info = recommender.info
        var lines = ["catalogue: \(path), \(info.itemCount) items, d \(info.embeddingWidth), B=1, k \(k); load average at start: \(loadAverage())"]

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

        // Bulk updates of 10,000 random items (availability flips, a category move on every tenth;
        // `expiring` bodies also set or clear expires_at on every fifth).
        func bulk(expiring: Bool) -> [UInt8] {
            var text = "{\"updates\":["
            for index in 0..<10_000 {
                let id = info.firstItem + Int(random.next() % UInt64(info.itemCount))
                if index > 0 { text += "," }
                text += "{\"id\":\"\(recommender.token(of: Int32(id)))\",\"available\":\(random.next() % 2 == 0)"
                if index % 10 == 0 { text += ",\"categories\":[\"c\(random.next() % 20)\"]" }
                if expiring && index % 5 == 0 {
                    text += random.next() % 4 == 0 ? ",\"expires_at\":null"
                        : ",\"expires_at\":\"20\(27 + random.next() % 10)-0\(1 + random.next() % 9)-1\(random.next() % 10)T00:00:00Z\""
                }
                text += "}"
            }
            return Array((text + "]}").utf8)
        }
        let bodies = (0..<8).map { _ in bulk(expiring: false) }
        let expiringBodies = (0..<8).map { _ in bulk(expiring: true) }
        func timed(_ body: () throws -> Void) rethrows -> UInt64 {
            let start = monotonicNanoseconds()
            try body()
            return monotonicNanoseconds() - start
        }
        var parseTimes: [UInt64] = [], parsed: [[AttributeUpdate]] = []
        for body in bodies { parseTimes.append(try timed { parsed.append(try ItemCatalogue.parseBatch(body)) }) }
        var applyTimes: [UInt64] = [], parts: [BatchTimings] = []
        for body in bodies {
            applyTimes.append(try timed { try catalogue.apply(json: body) })
            parts.append(catalogue.lastBatchTimings)
        }
        var expiringTimes: [UInt64] = []
        for body in expiringBodies { expiringTimes.append(try timed { try catalogue.apply(json: body) }) }
        let memory = try ItemCatalogue(name: "bench-memory")   // no state directory: no journal
        memory.attach(recommender)
        for start in stride(from: 0, to: updates.count, by: ItemCatalogue.maxBatch) {
            try memory.apply(Array(updates[start ..< min(start + ItemCatalogue.maxBatch, updates.count)]))
        }
        // Fresh batches every round (a batch applied again changes nothing and would cost less), all
        // made before the first is timed, so the timed batches run back to back.
        let batches = parsed + (try (0 ..< 8 * (bulkRounds - 1)).map { _ in try ItemCatalogue.parseBatch(bulk(expiring: false)) })
        var memoryTimes: [UInt64] = [], memoryParts: [UInt64] = []
        for batch in batches {
            memoryTimes.append(try timed { try memory.apply(batch) })
            memoryParts.append(memory.lastBatchTimings.applyAndPublish)
        }
        catalogue.attach(recommender)   // back to the journaled catalogue's snapshot
        func spread(_ times: [UInt64]) -> String {
            let sorted = times.sorted()
            let p90 = sorted.count >= 20 ? ", p90 \(ms(sorted[sorted.count * 9 / 10]))" : ""
            return "median \(ms(sorted[sorted.count / 2])) ms (min \(ms(sorted[0]))\(p90), max \(ms(sorted.last!)))"
        }
        lines.append("bulk update of 10,000 items, 8 batches (apply + publish: \(8 * bulkRounds)): whole PATCH (parse + check + journal append + fsync + apply + publish) "
            + spread(applyTimes) + "; parse alone " + spread(parseTimes) + "; whole PATCH with expires_at on every fifth item "
            + spread(expiringTimes))
        // The < 10 ms target (docs/OPERATIONS.md §12.4): check + apply + publish, i.e. the whole `apply`
        // of parsed updates without a journal; the journal's encode + write + fsync is reported apart.
        lines.append("  apply + publish (BatchTimings.applyAndPublish = check + apply + publish; parsed, no journal) "
            + spread(memoryParts) + "; the same call timed outside " + spread(memoryTimes)
            + "; parts of the journaled PATCH: check " + spread(parts.map(\.check)) + ", journal encode + write + fsync "
            + spread(parts.map(\.journal)) + ", apply " + spread(parts.map(\.apply)) + ", publish " + spread(parts.map(\.publish)))

        enum Updater { case none, paced, backToBack }
        func phase(_ mode: Updater) -> LatencySummary {
            let stop = UnsafeAtomicFlag()
            let updater = Thread {
                try? ThreadScheduling.normal(nice: 10).apply()   // as the server's catalogue writer thread
                var index = 0
                var next = monotonicNanoseconds()
                while !stop.isSet {
                    if mode == .paced {
                        let now = monotonicNanoseconds()
                        if now < next {
                            usleep(useconds_t(min(5_000, (next - now) / 1000)))
                            continue
                        }
                        next += UInt64(updateInterval) * 1_000_000
                    }
                    _ = try? catalogue.apply(json: bodies[index % bodies.count])
                    index += 1
                }
            }
            if mode != .none { updater.start() }
            var samples: [UInt64] = []
            samples.reserveCapacity(updateRequests)
            for _ in 0..<updateRequests { samples.append(time(filtered)) }
            stop.set()
            while mode != .none && !updater.isFinished { usleep(1000) }
            return LatencySummary(sortingNanoseconds: &samples)
        }
        for run in 1...repeats {
            let quiet = phase(.none), paced = phase(.paced), stress = phase(.backToBack)
            lines.append("update run \(run) (\(updateRequests) requests per phase): without updates p50 \(us(quiet.p50)) p99 \(us(quiet.p99)) µs | "
                + "one batch per \(updateInterval) ms p50 \(us(paced.p50)) p99 \(us(paced.p99)) µs = p99 \(ratio(paced.p99, quiet.p99)) × | "
                + "back to back (stress) p50 \(us(stress.p50)) p99 \(us(stress.p99)) µs = p99 \(ratio(stress.p99, quiet.p99)) ×")
        }
        lines.append("load average at the end: \(loadAverage())")
        return lines.joined(separator: "\n")
    }

    /// The first three fields of /proc/loadavg (1, 5, 15 minutes).
    private static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
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

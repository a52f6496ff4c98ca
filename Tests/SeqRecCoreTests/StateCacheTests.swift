import Foundation
import Testing
@testable import SeqRecCore

/// A session that grew by one item resumes from its stored state — GRU hidden states (MODELS.md §5.5,
/// §7.5), SASRec keys and values (§3.6): the scores must still be upstream's, on both kernel paths, and
/// the cache must actually be used.
@Suite("State caches", .serialized)
struct StateCacheTests {
    static let fixtures = ["recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate", "gru4rec-official-video",
                           "recbole-sasrec-ml100k"]

    /// Every golden session, sent the way a gateway does (one item more per request): the full session's
    /// scores come from a resumed state and must match the golden scores.
    @Test(arguments: fixtures, ParityTests.backends)
    func resumedSessionsMatchGolden(fixture name: String, backend: KernelBackend) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, kernels: .forced(backend), maxBatch: 16)
        let context = recommender.makeContext()
        var resumable = 0
        for (index, golden) in fixture.cases.enumerated() {
            guard let expected = golden.scores, golden.session.count > 1 else { continue }
            let hitsBefore = context.stateCacheStatistics?.hits ?? 0
            _ = try context.rawScores(session: Array(golden.session.dropLast()))
            let actual = try context.rawScores(session: golden.session)
            let resumed = (context.stateCacheStatistics?.hits ?? 0) > hitsBefore
            // RecBole's window slides once the session is longer than it (§3.6, §5.5): no reuse.
            let shouldResume = golden.session.count <= recommender.encoder.window
            #expect(resumed == shouldResume, "\(name) case \(index): resumed \(resumed)")
            if resumed { resumable += 1 }
            let scale = expected.compactMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1
            let worst = zip(actual, expected).compactMap { a, e in e.map { abs(a - $0) } }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "\(name) [\(backend)] case \(index): max |Δ| \(worst), scale \(scale)")
        }
        #expect(resumable > 0, "\(name): no golden session was resumed")
    }

    /// A batch mixing resumed and fresh sessions of different lengths gives what a cache-less model gives.
    @Test(arguments: ["recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate", "recbole-sasrec-ml100k"])
    func mixedBatchesMatchAModelWithoutCache(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 16)
        let cached = recommender.makeContext()
        let plain = try Recommender(path: path, maxBatch: 16, stateCache: .off).makeContext()
        #expect(plain.stateCacheStatistics == nil)
        // Within the window, so every warmed session is resumable.
        let window = recommender.encoder.window
        let sessions = fixture.cases.map(\.session).filter { $0.count > 2 && $0.count <= window }.prefix(12)
        #expect(sessions.count == 12)
        // Warm the cache with every other session minus its last item, then run all of them in one batch.
        var warmup: [SessionQuery] = []
        for (index, session) in sessions.enumerated() where index % 2 == 0 {
            warmup.append(SessionQuery(items: Array(session.dropLast()), k: 5))
        }
        var ignored: [Recommendation] = []
        try cached.recommend(warmup[...], into: &ignored)
        let queries = sessions.map { SessionQuery(items: $0, k: 20) }
        var fromCache: [Recommendation] = [], fromScratch: [Recommendation] = []
        let hitsBefore = cached.stateCacheStatistics?.hits ?? 0
        try cached.recommend(queries[...], into: &fromCache)
        try plain.recommend(queries[...], into: &fromScratch)
        #expect((cached.stateCacheStatistics?.hits ?? 0) - hitsBefore == warmup.count)
        for index in queries.indices {
            let scale = fromScratch[index].scores.map(abs).max() ?? 1
            for (a, b) in zip(fromCache[index].scores, fromScratch[index].scores) {
                #expect(abs(a - b) <= 1e-5 * scale, "\(name) session \(index)")
            }
        }
    }

    /// The smallest budget the model loads with (a ring of two largest records and the smallest index).
    private static func smallestCache(_ path: String, maxBatch: Int) throws -> Recommender {
        for kibibytes in 1...256 {
            if let recommender = try? Recommender(path: path, maxBatch: maxBatch,
                                                  stateCache: StateCacheSettings(budgetBytes: kibibytes << 10)) {
                return recommender
            }
        }
        throw ModelLoadError("no budget up to 256 KiB loads \(path)")
    }

    /// A batch whose own stores evict what it resumed from (the smallest cache the model accepts): every
    /// record is read before any of the batch's records is written, and the answers stay a full pass's.
    @Test(arguments: ["recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate", "recbole-sasrec-ml100k"])
    func aBatchEvictingItsOwnResumesStaysCorrect(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let context = try Self.smallestCache(path, maxBatch: 8).makeContext()
        let reference = try Recommender(path: path, maxBatch: 8, stateCache: .off).makeContext()
        let a: [Int32] = [3, 7, 11, 2], b: [Int32] = [5, 9], c: [Int32] = [4, 6, 8]
        var ignored: [Recommendation] = []
        try context.recommend([SessionQuery(items: Array(a.dropLast()))][...], into: &ignored)
        let queries = [b, a, c, a, b + [1]].map { SessionQuery(items: $0, k: 30) }
        var cached: [Recommendation] = [], plain: [Recommendation] = []
        for _ in 0..<3 {
            try context.recommend(queries[...], into: &cached)
            try reference.recommend(queries[...], into: &plain)
            for index in queries.indices {
                let scale = plain[index].scores.map(abs).max() ?? 1
                #expect(cached[index].items == plain[index].items, "\(name) query \(index)")
                #expect(zip(cached[index].scores, plain[index].scores).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
            }
        }
        #expect((context.stateCacheStatistics?.hits ?? 0) >= 2, "both copies of a resume")
    }

    /// The cache belongs to the model, not the context: a session's clicks alternating between two
    /// contexts (two server workers) resume on every click after the first, with a full pass's answers.
    @Test(arguments: ["recbole-gru4rec-ml100k", "recbole-sasrec-ml100k", "recbole-narm-ml100k"])
    func contextsShareTheModelsCache(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 4)
        let workers = [recommender.makeContext(), recommender.makeContext()]
        let reference = try Recommender(path: path, maxBatch: 4, stateCache: .off).makeContext()
        let session = try #require(fixture.cases.map(\.session).first { $0.count >= 6 && $0.count <= recommender.encoder.window })
        for length in 1...session.count {
            let window = Array(session.prefix(length))
            let actual = try workers[length % 2].rawScores(session: window), expected = try reference.rawScores(session: window)
            let scale = expected.map(abs).max() ?? 1
            #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * scale }, "\(name) length \(length)")
        }
        let hits = workers.map { $0.stateCacheStatistics?.hits ?? 0 }.reduce(0, +)
        #expect(hits == session.count - 1)
        let usage = try #require(recommender.stateCacheUsage)
        #expect(usage.entries == session.count)
        #expect(usage.evictions == 0)
    }

    /// A repeated request (same window) runs no step at all and gives bit-identical scores; the RecBole
    /// model reuses a repeated window even beyond its length limit, since the window itself is the key.
    @Test(arguments: ["recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate", "recbole-sasrec-ml100k"])
    func aRepeatedWindowIsServedFromTheCache(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let context = try Recommender(path: path, maxBatch: 4).makeContext()
        let longest = try #require(fixture.cases.map(\.session).max { $0.count < $1.count })
        let first = try context.rawScores(session: longest)
        let hits = context.stateCacheStatistics?.hits ?? 0
        #expect(try context.rawScores(session: longest) == first)
        #expect(context.stateCacheStatistics?.hits == hits + 1)
    }

    /// gru4rec-official's one-hot mode (a GRU-embedding first cell) has no golden fixture: a small synthetic
    /// model of each mode must give the same scores with and without the cache as a session grows.
    @Test(arguments: ["onehot", "separate", "constrained"])
    func growingSessionsOfEveryOfficialModeMatchNoCache(mode: String) throws {
        let path = try FormatTestSupport.write(try FormatTestSupport.smallWriter(.gru4recOfficial, mode: mode).serialize())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let context = try Recommender(path: path, maxBatch: 2).makeContext()
        let reference = try Recommender(path: path, maxBatch: 2, stateCache: .off).makeContext()
        let session: [Int32] = [1, 4, 2, 0, 3, 3]
        for length in 1...session.count {
            let window = Array(session.prefix(length))
            let expected = try reference.rawScores(session: window), actual = try context.rawScores(session: window)
            let scale = expected.map(abs).max() ?? 1
            #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * scale }, "\(mode) length \(length)")
        }
        #expect(context.stateCacheStatistics?.hits == session.count - 1)
    }

    @Test func keysDependOnOrderAndLength() {
        func key(_ items: [Int]) -> WindowKey {
            var key = WindowKey()
            for item in items { key.append(item) }
            return key
        }
        #expect(key([1, 2]) != key([2, 1]))
        #expect(key([0]) != key([]))
        #expect(key([0, 0]) != key([0]))
        #expect(key([5, 6, 7]) == key([5, 6, 7]))
    }
}

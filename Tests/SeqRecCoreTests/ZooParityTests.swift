import Foundation
import Testing
@testable import SeqRecCore

/// RecBole's session-based zoo (MODELS-next.md): each shared fixture, converted with `FixtureImporter`,
/// must reproduce upstream's golden outputs on both kernel paths with the tolerances of MODELS.md §9.2
/// (as `ParityTests`): full score vectors within 1e-4 · max|golden|, rank-wise scores likewise, and
/// identical top-k except inside near-ties (τ = 1e-5 · max|golden|). Every case is also answered one at
/// a time and inside batches of every size, which must not change it.
@Suite("Upstream parity: session-based zoo", .serialized)
struct ZooParityTests {
    static let fixtures = [
        "recbole-narm-ml100k", "recbole-stamp-ml100k", "recbole-core-ml100k", "recbole-core-ave-ml100k",
        "recbole-srgnn-ml100k", "recbole-gcsan-ml100k", "recbole-lightsans-ml100k",
    ]
    static let backends: [KernelBackend] = [.blas, .simd]

    @Test(arguments: fixtures, backends)
    func matchesGolden(fixture name: String, backend: KernelBackend) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, kernels: .forced(backend), maxBatch: 16)
        let context = recommender.makeContext()
        let label = "\(name) [\(backend)]"
        #expect(recommender.encoder.scoring.firstItem == 1, "\(label): row 0 (PAD) must never be recommended")

        var full = 0
        for (index, golden) in fixture.cases.enumerated() {
            guard let expected = golden.scores else { continue }
            full += 1
            expectScores(try context.rawScores(session: golden.session), expected, label: "\(label) case \(index)")
        }
        #expect(full == 8, "\(label): \(full) cases with full score vectors, expected 8")

        // Top-k of every case through the batched path (batches of 16), then one at a time.
        let (queries, tops, scales) = Self.queries(fixture)
        for query in queries { try recommender.validate(query) }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)
        for index in queries.indices {
            expectTop(results[index], tops[index], scale: scales[index], label: "\(label) case \(index)")
            let single = try context.recommend(queries[index])
            expectTop(single, tops[index], scale: scales[index], label: "\(label) case \(index) alone")
        }
    }

    /// The graph and GRU families pack a batch's sessions together (graph nodes of all sessions in one
    /// block, time-major GRU steps): batch limits 1, 7 and 128 must give the golden answers too.
    @Test(arguments: fixtures, [1, 7, 128])
    func batchLimitDoesNotChangeAnswers(fixture name: String, maxBatch: Int) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: maxBatch)
        let (queries, tops, scales) = Self.queries(fixture)
        var results: [Recommendation] = []
        try recommender.makeContext().recommend(queries[...], into: &results)
        for index in queries.indices {
            expectTop(results[index], tops[index], scale: scales[index], label: "\(name) [maxBatch \(maxBatch)] case \(index)")
        }
    }

    /// NARM's state cache (MODELS-next.md §3.4): without it, and with it while every session grows one item
    /// per request (so each request but the first resumes from the stored prefix, one GRU step), the golden
    /// answers stay; batches mixing stored, grown and new windows too.
    @Test(arguments: backends)
    func narmStateCacheKeepsGoldenAnswers(backend: KernelBackend) throws {
        let fixture = try GoldenFixture("recbole-narm-ml100k")
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (queries, tops, scales) = Self.queries(fixture)
        let uncached = try Recommender(path: path, kernels: .forced(backend), maxBatch: 16, stateCache: .off)
        #expect(uncached.makeContext().stateCacheStatistics == nil)
        var results: [Recommendation] = []
        try uncached.makeContext().recommend(queries[...], into: &results)
        for index in queries.indices {
            expectTop(results[index], tops[index], scale: scales[index], label: "NARM [\(backend), no cache] case \(index)")
        }

        let cached = try Recommender(path: path, kernels: .forced(backend), maxBatch: 16)
        let context = cached.makeContext()
        for (index, query) in queries.enumerated().prefix(40) {
            var last = Recommendation()
            for length in 1...query.items.count {
                last = try context.recommend(SessionQuery(items: Array(query.items.prefix(length)), k: query.k))
            }
            expectTop(last, tops[index], scale: scales[index], label: "NARM [\(backend)] case \(index) grown")
        }
        let grown = context.stateCacheStatistics
        #expect((grown?.hits ?? 0) > (grown?.lookups ?? 0) / 2, "NARM [\(backend)]: \(String(describing: grown))")

        // One batch: windows stored whole (cases 0–39), grown by one item (their sessions plus one more
        // click, answered against golden only as a run without the cache) and never seen (cases 40–).
        var mixed = Array(queries.prefix(48))
        for index in 0..<8 { mixed.append(SessionQuery(items: queries[index].items + [queries[index + 8].items[0]], k: 10)) }
        var expected: [Recommendation] = [], actual: [Recommendation] = []
        try uncached.makeContext().recommend(mixed[...], into: &expected)
        try context.recommend(mixed[...], into: &actual)
        for index in mixed.indices {
            let scale = index < 48 ? scales[index] : (expected[index].scores.map(abs).max() ?? 1)
            expectTop(actual[index], Array(zip(expected[index].items, expected[index].scores)), scale: scale,
                      label: "NARM [\(backend)] mixed batch \(index)")
            if index < 48 {
                expectTop(actual[index], tops[index], scale: scales[index], label: "NARM [\(backend)] mixed batch golden \(index)")
            }
        }
    }

    /// The fixtures exercise what the families get wrong most easily (MODELS-next.md §10): windows shorter
    /// than, equal to and longer than L, and repeated items.
    @Test(arguments: fixtures)
    func fixtureCoversWindowsAndRepeats(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let lengths = fixture.cases.map(\.session.count)
        #expect(lengths.contains { $0 < 50 } && lengths.contains(50) && lengths.contains { $0 > 50 }, "\(name)")
        #expect(fixture.cases.contains { Set($0.session).count < $0.session.count }, "\(name): no repeated items")
        #expect(lengths.contains(1), "\(name): no one-item session")
    }

    static func queries(_ fixture: GoldenFixture) -> ([SessionQuery], [[(item: Int32, score: Float)]], [Float]) {
        var queries: [SessionQuery] = [], tops: [[(item: Int32, score: Float)]] = [], scales: [Float] = []
        for golden in fixture.cases {
            // Upstream ranks row 0 at −∞; a runtime never returns it.
            let top = golden.top.filter { $0.item >= 1 }
            queries.append(SessionQuery(items: golden.session, k: top.count))
            tops.append(top)
            let all = golden.scores?.compactMap { $0 }.filter(\.isFinite) ?? golden.top.map(\.score)
            scales.append(all.map(abs).max() ?? 1)
        }
        return (queries, tops, scales)
    }

    private func expectScores(_ actual: [Float], _ expected: [Float?], label: String) {
        #expect(actual.count == expected.count, "\(label): score count \(actual.count), expected \(expected.count)")
        let scale = expected.compactMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1
        var worst: (error: Float, item: Int) = (0, -1)
        for (item, value) in expected.enumerated() {
            guard let value, value.isFinite, item < actual.count else { continue }
            let error = abs(actual[item] - value)
            if !(error <= worst.error) { worst = (error, item) }
        }
        #expect(worst.error <= 1e-4 * scale, "\(label): max |Δ| \(worst.error) at item \(worst.item), scale \(scale)")
    }

    private func expectTop(_ result: Recommendation, _ golden: [(item: Int32, score: Float)], scale: Float, label: String) {
        #expect(result.items.count == golden.count, "\(label): \(result.items.count) items, expected \(golden.count)")
        let tolerance = 1e-4 * scale, tie = 1e-5 * scale
        for rank in 0..<min(result.items.count, golden.count) {
            #expect(abs(result.scores[rank] - golden[rank].score) <= tolerance,
                    "\(label) rank \(rank): score \(result.scores[rank]) vs golden \(golden[rank].score)")
            guard result.items[rank] != golden[rank].item else { continue }
            let nearTie = (rank > 0 && abs(golden[rank].score - golden[rank - 1].score) <= tie)
                || (rank + 1 < golden.count && abs(golden[rank].score - golden[rank + 1].score) <= tie)
                || (rank == golden.count - 1 && abs(result.scores[rank] - golden[rank].score) <= tie)
            #expect(nearTie, "\(label) rank \(rank): item \(result.items[rank]) vs golden \(golden[rank].item) (not a near-tie)")
        }
    }
}

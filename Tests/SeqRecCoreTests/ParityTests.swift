import Foundation
import Testing
@testable import SeqRecCore

/// Every shared fixture, converted with `FixtureImporter`, must reproduce upstream's golden outputs on
/// both kernel paths (MODELS.md §9.2): scores within 1e-4 · max|golden|, rank-wise scores likewise, and
/// identical top-k except inside near-ties (τ = 1e-5 · max|golden|).
@Suite("Upstream parity", .serialized)
struct ParityTests {
    static let backends: [KernelBackend] = [.blas, .simd]
    /// Every kernel path: BLAS, and the SIMD backend at each native level (a level above the CPU's runs at
    /// the CPU's, docs/KERNELS.md).
    static let selections: [KernelSelection] = [.forced(.blas)] + InstructionSet.allCases.reversed().map { .instructionSet($0) }

    @Test(arguments: GoldenFixture.names, selections)
    func matchesGolden(fixture name: String, selection backend: KernelSelection) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, kernels: backend, maxBatch: 16)
        let context = recommender.makeContext()
        let firstItem = recommender.encoder.scoring.firstItem
        try expectRawScores(fixture, context, label: "\(name) [\(backend)]")

        // Top-k of every case, through the batched path.
        var queries: [SessionQuery] = []
        var expectedTops: [[(item: Int32, score: Float)]] = []
        var scales: [Float] = []
        for golden in fixture.cases {
            let top = golden.top.filter { Int($0.item) >= firstItem }
            queries.append(SessionQuery(items: golden.session, k: top.count))
            expectedTops.append(top)
            let all = golden.scores?.compactMap { $0 }.filter(\.isFinite) ?? golden.top.map(\.score)
            scales.append(all.map(abs).max() ?? 1)
        }
        for query in queries { try recommender.validate(query) }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)
        for (index, result) in results.enumerated() {
            expectTopMatches(result, expectedTops[index], scale: scales[index], label: "\(name) [\(backend)] case \(index)")
        }

        // Batched equals one at a time.
        for (index, query) in queries.enumerated().prefix(24) {
            let single = try context.recommend(query)
            expectTopMatches(results[index], Array(zip(single.items, single.scores)), scale: scales[index],
                             label: "\(name) [\(backend)] case \(index) batch vs single")
        }
    }

    /// GRU stacks embed and project sessions in chunks whose length follows the batch limit (16 steps
    /// at a limit of 16, one step at 1,024): the one-step chunks must reproduce the golden scores too.
    @Test(arguments: ["recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate"])
    func gruChunkLengthDoesNotChangeScores(fixture name: String) throws {
        let fixture = try GoldenFixture(name)
        let path = try fixture.convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 1_024)
        try expectRawScores(fixture, recommender.makeContext(), label: "\(name) [maxBatch 1024]")
    }

    /// Full score vectors (padding row included) within 1e-4 · max|golden| of every golden case
    /// (`GoldenComparison`, the rule `seqrec convert --verify` applies).
    private func expectRawScores(_ fixture: GoldenFixture, _ context: InferenceContext, label: String) throws {
        for (index, golden) in fixture.cases.enumerated() {
            guard let expected = golden.scores else { continue }
            let scale = expected.compactMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1
            let problem = GoldenComparison.checkScores(try context.rawScores(session: golden.session), against: expected, scale: scale)
            #expect(problem == nil, "\(label) case \(index): \(problem ?? "")")
        }
    }

    private func expectTopMatches(_ result: Recommendation, _ golden: [(item: Int32, score: Float)], scale: Float,
                                  label: String) {
        let problem = GoldenComparison.checkTop(items: result.items, scores: result.scores,
                                                against: golden.map { GoldenScore(item: $0.item, score: $0.score) }, scale: scale)
        #expect(problem == nil, "\(label): \(problem ?? "")")
    }
}

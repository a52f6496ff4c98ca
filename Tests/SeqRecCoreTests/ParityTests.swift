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
        expectRawScores(fixture, context, label: "\(name) [\(backend)]")

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
        context.recommend(queries[...], into: &results)
        for (index, result) in results.enumerated() {
            expectTopMatches(result, expectedTops[index], scale: scales[index], label: "\(name) [\(backend)] case \(index)")
        }

        // Batched equals one at a time.
        for (index, query) in queries.enumerated().prefix(24) {
            let single = context.recommend(query)
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
        expectRawScores(fixture, recommender.makeContext(), label: "\(name) [maxBatch 1024]")
    }

    /// Full score vectors (padding row included) within 1e-4 · max|golden| of every golden case.
    private func expectRawScores(_ fixture: GoldenFixture, _ context: InferenceContext, label: String) {
        for (index, golden) in fixture.cases.enumerated() {
            guard let expected = golden.scores else { continue }
            let actual = context.rawScores(session: golden.session)
            #expect(actual.count == expected.count, "\(label) case \(index): score count")
            let scale = expected.compactMap { $0 }.filter(\.isFinite).map(abs).max() ?? 1
            var worst: (error: Float, item: Int) = (0, -1)
            for (item, value) in expected.enumerated() {
                guard let value, value.isFinite, item < actual.count else { continue }
                let error = abs(actual[item] - value)
                if error > worst.error { worst = (error, item) }
            }
            #expect(worst.error <= 1e-4 * scale,
                    "\(label) case \(index): max |Δ| \(worst.error) at item \(worst.item), scale \(scale)")
        }
    }

    private func expectTopMatches(_ result: Recommendation, _ golden: [(item: Int32, score: Float)], scale: Float,
                                  label: String) {
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

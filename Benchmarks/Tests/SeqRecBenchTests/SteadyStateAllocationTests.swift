import Foundation
import SeqRecBench
import SeqRecCore
import SeqRecTestSupport
import Testing

/// The engine's hot path allocates nothing per request once its buffers have grown (counted by the
/// malloc interposer, per thread), for every family on the production (automatic) and SIMD paths, with
/// filters in use. The forced-BLAS path is not gated: OpenBLAS 0.3.21 itself mallocs inside sgemm for
/// some small shapes (docs/KERNELS.md lists the measured ones).
@Suite("Steady-state allocations", .serialized)
struct SteadyStateAllocationTests {
    static let fixtures = ["recbole-sasrec-ml100k", "recbole-bert4rec-ml100k", "recbole-gru4rec-ml100k",
                           "pmixer-sasrec-v3-wiki-prenorm", "gru4rec-official-ml100k-separate", "recbole-narm-ml100k", "recbole-stamp-ml100k", "recbole-core-ml100k", "recbole-core-ave-ml100k", "recbole-srgnn-ml100k", "recbole-gcsan-ml100k", "recbole-lightsans-ml100k"]

    static func fixtureFolder(_ name: String) -> String {
        PackagePaths.fixture(name)
    }

    @Test func interposerSeesAllocations() {
        #expect(AllocationCounts.isActive, "the malloc interposer must be active for the other checks to mean anything")
    }

    @Test(arguments: fixtures, [KernelSelection.automatic, .forced(.simd)])
    func recommendAllocatesNothing(fixture: String, backend: KernelSelection) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alloc-\(fixture)-\(UUID().uuidString).seqrec").path
        try FixtureImporter.convert(folder: Self.fixtureFolder(fixture), output: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, kernels: backend, maxBatch: 8)
        let context = recommender.makeContext()
        let first = Int32(recommender.info.firstItem)
        let queries: [SessionQuery] = (0..<8).map { b in
            var query = SessionQuery(items: (0..<(5 + 9 * b)).map { first + Int32(($0 * 37 + b) % 400) }, k: 10 + b)
            query.excludeSeen = b % 2 == 0
            query.deny = [first + 3, first + 4]
            if b == 3 { query.candidates = (0..<50).map { first + Int32($0) } }
            if b == 5 { query.includeEmbedding = true }
            return query
        }
        for query in queries { try recommender.validate(query) }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)   // warm-up grows the result buffers once
        let before = AllocationCounts.thisThread()
        for round in 0..<20 {
            try context.recommend(queries[0..<(1 + round % 8)], into: &results)
            try context.recommend(queries[...], into: &results)
        }
        let allocations = AllocationCounts.thisThread().allocationsSince(before)
        #expect(allocations == 0, "\(fixture) [\(backend)]: \(allocations) allocations in 40 steady-state batches")
    }
}

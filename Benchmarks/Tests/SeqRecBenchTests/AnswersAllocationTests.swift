import Foundation
import SeqRecBench
import SeqRecCore
import Testing

/// Diversity, fallback and explanations allocate nothing per request once a context has answered one of
/// each (the explainer's buffers are built on its first explained query), on models with a state cache
/// (SASRec, GRU4Rec: explanations through the cache-less binding) and without (STAMP).
@Suite("Answers: steady-state allocations", .serialized)
struct AnswersAllocationTests {
    @Test(arguments: ["recbole-sasrec-ml100k", "recbole-gru4rec-ml100k", "recbole-stamp-ml100k"],
          [KernelSelection.automatic, .forced(.simd)])
    func answersAllocateNothing(fixture: String, backend: KernelSelection) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("answers-alloc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Popularity from a small interaction file in the dataset's item ids (ml-100k tokens).
        let inter = directory.appendingPathComponent("data.inter").path
        let lines = (0..<300).map { "u\($0 % 7)\t\(["50", "181", "258", "100", "294"][$0 % 5 == 0 ? 0 : $0 % 4])" }
        try (["user_id:token\titem_id:token"] + lines).joined(separator: "\n").write(toFile: inter, atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("model.seqrec").path
        try FixtureImporter.convert(folder: SteadyStateAllocationTests.fixtureFolder(fixture), output: path, popularity: inter)
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, kernels: backend, maxBatch: 8)
        let context = recommender.makeContext()
        let first = Int32(recommender.info.firstItem)
        let queries: [SessionQuery] = (0..<6).map { b in
            var query = SessionQuery(items: b == 4 ? [] : (0..<(5 + 9 * b)).map { first + Int32(($0 * 37 + b) % 400) },
                                     k: 10)
            query.deny = [first + 3, first + 4]
            query.excludeSeen = b % 2 == 0
            if b % 3 != 1 { query.diversity = DiversityOptions(lambda: 0.7, pool: 200) }
            query.explain = b != 2
            query.fallback = b == 4
            if b == 5 { query.candidates = (0..<60).map { first + Int32($0) } }
            return query
        }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)   // warm-up: result buffers, the explainer
        #expect(results[4].usedFallback && results[0].contributorsPerItem == 3)
        let before = AllocationCounts.thisThread()
        for round in 0..<10 {
            try context.recommend(queries[0..<(1 + round % 6)], into: &results)
            try context.recommend(queries[...], into: &results)
        }
        let allocations = AllocationCounts.thisThread().allocationsSince(before)
        // Per query, so a failure names the feature that allocates.
        var single: [UInt64] = []
        for index in queries.indices {
            let one = queries[index...index]
            try context.recommend(one, into: &results)
            let start = AllocationCounts.thisThread()
            for _ in 0..<5 { try context.recommend(one, into: &results) }
            single.append(AllocationCounts.thisThread().allocationsSince(start))
        }
        #expect(allocations == 0 && single.allSatisfy { $0 == 0 },
                "\(fixture) [\(backend)]: \(allocations) allocations in 20 steady-state batches; per query ×5: \(single)")
    }
}

import Foundation
import SeqRecBench
import SeqRecCore
import Testing

/// Requests with item-attribute filters (availability, expiry, categories, the per-category cap with
/// its re-scan rounds) allocate nothing once their buffers have grown, on the automatic and SIMD paths.
@Suite("Catalogue: steady-state allocations", .serialized)
struct CatalogueAllocationTests {
    @Test(arguments: [KernelSelection.automatic, .forced(.simd)])
    func filteredRequestsAllocateNothing(backend: KernelSelection) throws {
        let fixture = "recbole-sasrec-ml100k"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alloc-catalogue-\(UUID().uuidString).seqrec").path
        try FixtureImporter.convert(folder: SteadyStateAllocationTests.fixtureFolder(fixture), output: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, kernels: backend, maxBatch: 8)
        let catalogue = try ItemCatalogue(name: "m")
        let info = recommender.info
        var updates: [AttributeUpdate] = []
        for id in info.firstItem ..< info.firstItem + info.itemCount {
            updates.append(AttributeUpdate(key: .id(Int64(id)), available: id % 10 != 0,
                                           categories: id % 50 == 5 ? [] : [["A", "B", "C"][id % 3]],
                                           expiresAt: id % 7 == 0 ? .at(2_000_000_000_000) : nil))
        }
        catalogue.attach(recommender)
        try catalogue.apply(updates)
        recommender.catalogue.pinTime(1_900_000_000_000)
        let context = recommender.makeContext()
        let first = Int32(info.firstItem)
        let queries: [SessionQuery] = (0..<8).map { b in
            var query = SessionQuery(items: (0..<(5 + 9 * b)).map { first + Int32(($0 * 37 + b) % 400) }, k: 10 + b)
            query.excludeSeen = b % 2 == 0
            if b == 1 { query.filters.categoriesInclude = ["A", "C"] }
            if b == 2 { query.filters.categoriesExclude = ["B"] }
            if b == 3 { query.candidates = (0..<50).map { first + Int32($0) } ; query.filters.maxPerCategory = 2 }
            if b >= 4 { query.filters.maxPerCategory = b - 3 }   // pools run out: several rounds
            if b == 6 { query.filters.availableOnly = false }
            return query
        }
        for query in queries { try recommender.validate(query) }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)   // warm-up grows the buffers once
        try context.recommend(queries[...], into: &results)
        let before = AllocationCounts.thisThread()
        for round in 0..<20 {
            try context.recommend(queries[0..<(1 + round % 8)], into: &results)
            try context.recommend(queries[...], into: &results)
        }
        let allocations = AllocationCounts.thisThread().allocationsSince(before)
        #expect(allocations == 0, "[\(backend)]: \(allocations) allocations in 40 filtered steady-state batches")
        #expect(results[4].items.count == 14 && results[1].items.count == 11)
    }
}

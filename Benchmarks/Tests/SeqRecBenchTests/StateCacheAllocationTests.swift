import Foundation
@testable import SeqRecBench
import SeqRecCore
import Testing

/// The state cache's paths allocate nothing per request: sessions growing one click per call (a
/// resume and a store per session), repeated windows (hits, renewals) and a budget small enough that
/// every round evicts. And the click-stream plan sends every click of every session once, round by round.
@Suite("State cache allocations and click-stream plan", .serialized)
struct StateCacheAllocationTests {
    @Test(arguments: ["recbole-sasrec-ml100k", "recbole-gru4rec-ml100k", "gru4rec-official-ml100k-separate", "recbole-narm-ml100k"],
          [StateCacheSettings(), StateCacheSettings(budgetBytes: 256 << 10)])
    func growingSessionsAllocateNothing(fixture: String, cache: StateCacheSettings) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alloc-cache-\(fixture)-\(UUID().uuidString).seqrec").path
        try FixtureImporter.convert(folder: SteadyStateAllocationTests.fixtureFolder(fixture), output: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        configureBLASThreads(1)
        let recommender = try Recommender(path: path, maxBatch: 8, stateCache: cache)
        let context = recommender.makeContext()
        let first = Int32(recommender.info.firstItem)
        var queries: [SessionQuery] = (0..<8).map { b in
            var query = SessionQuery(items: [], k: 10)
            query.items.reserveCapacity(64)
            query.items.append(first + Int32(b))
            return query
        }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)   // warm-up grows the result buffers once
        let before = AllocationCounts.thisThread()
        for click in 1..<40 {
            for b in queries.indices { queries[b].items.append(first + Int32((click * 37 + b * 11) % 400)) }
            try context.recommend(queries[...], into: &results)
            try context.recommend(queries[...], into: &results)   // the same windows again: hits
        }
        let allocations = AllocationCounts.thisThread().allocationsSince(before)
        #expect(allocations == 0, "\(fixture) [\(cache.budgetBytes) bytes]: \(allocations) allocations in 78 batches")
        let statistics = try #require(context.stateCacheStatistics)
        #expect(statistics.hits > statistics.lookups / 2)
    }

    @Test(arguments: [(200, 30, 4), (7, 3, 3), (5, 2, 8), (2_000, 20, 8)])
    func planSendsEveryClickOnceInRounds(sessions: Int, clicks: Int, connections: Int) {
        let plan = ClickStreamPlan(sessions: sessions, clicks: clicks, connections: min(connections, sessions))
        var seen = Set<Int>()
        for connection in 0..<plan.connections {
            var index = 0, lastClick = 0
            while let (session, click) = plan.request(index, of: connection) {
                #expect(session % plan.connections == connection)
                #expect(click >= lastClick, "clicks go round by round")
                #expect(seen.insert(session * clicks + click).inserted)
                lastClick = click
                index += 1
            }
        }
        #expect(seen.count == sessions * clicks)
    }
}

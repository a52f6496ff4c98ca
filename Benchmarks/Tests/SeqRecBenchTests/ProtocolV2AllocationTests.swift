// Protocol version 2 on the server's hot path allocates nothing (counted by the malloc interposer, on
// this thread): decoding a RECOMMEND without extensions, or with only a session key that fits the
// reused request's capacity, into the reused request value, and encoding the response with its
// (empty or fallback) extension block into a reused output buffer. Filters, diversity and explanations
// allocate (category names, the explanation list) and are not on this path.
import SeqRecBench
import SeqRecProtocol
import Testing

@Suite("Protocol v2 hot path allocations", .serialized)
struct ProtocolV2AllocationTests {
    @Test func decodingAndEncodingAllocateNothingPerRequest() throws {
        #expect(AllocationCounts.isActive, "the malloc interposer must be active for this check to mean anything")
        let session: [UInt32] = Array(1...50)
        let bodies: [[UInt8]] = [
            RecommendRequest(session: .internal(session), k: 10).frameBytes(requestID: 1, version: 2),
            RecommendRequest(session: .internal(Array(session.prefix(7))), k: 5, excludeSeen: true,
                             sessionKey: Array("shopper-000042".utf8)).frameBytes(requestID: 2, version: 2),
            RecommendRequest(session: .internal(Array(session.prefix(20))), k: 3, deny: .internal([4, 5]),
                             sessionKey: Array(repeating: 0xAB, count: 64)).frameBytes(requestID: 3, version: 2),
        ].map { Array($0[16...]) }
        var request = RecommendRequest(session: .internal([]))
        var output: [UInt8] = []
        output.reserveCapacity(4_096)
        let items: [UInt32] = Array(100..<110)
        let scores: [Float] = (0..<10).map { Float($0) }
        let empty: [Float] = []
        func round() throws {
            for body in bodies {
                try request.decode(body[...], limits: .default, version: 2)
                output.removeAll(keepingCapacity: true)
                RecommendResponse.encodeFrame(requestID: 9, modelName: "sasrec", modelVersion: 3, items: items.prefix(request.k),
                                              scores: scores.prefix(request.k), embedding: empty, version: 2,
                                              usedFallback: request.sessionKey.count > 10, into: &output)
            }
        }
        try round()  // buffers grow to their steady size here
        let before = AllocationCounts.thisThread()
        for _ in 0..<1_000 { try round() }
        let allocations = AllocationCounts.thisThread().allocationsSince(before)
        #expect(allocations == 0, "\(allocations) allocations in 3,000 v2 decode + encode rounds")
        #expect(request.sessionKey.count == 64 && output.count > 16)
    }

    /// The counter sees this path's allocations when there are some: category names are Strings.
    @Test func filtersDoAllocate() throws {
        let body = Array(RecommendRequest(session: .internal([1]), k: 1,
                                          filters: RecommendFilters(categoriesInclude: ["Action", "Comedy"]))
            .frameBytes(requestID: 1, version: 2)[16...])
        var request = RecommendRequest(session: .internal([]))
        try request.decode(body[...], limits: .default, version: 2)
        let before = AllocationCounts.thisThread()
        for _ in 0..<100 { try request.decode(body[...], limits: .default, version: 2) }
        #expect(AllocationCounts.thisThread().allocationsSince(before) >= 100)
    }
}

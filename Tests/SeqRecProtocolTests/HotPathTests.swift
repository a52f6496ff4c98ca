// The server's hot-path entry points: decoding into a reused request and writing a response
// straight from engine buffers give the same bytes and values as the plain API, without
// reallocating.
import Testing
import SeqRecProtocol

@Suite struct HotPathTests {
    @Test func responseFromBuffersMatchesTheStruct() {
        let items: [UInt32] = [42, 7]
        let scores: [Float] = [1.5, -0.25]
        let embedding: [Float] = [0.5, 2.0]
        var direct: [UInt8] = []
        items.withUnsafeBufferPointer { itemBuffer in
            RecommendResponse.encodeFrame(
                requestID: 7, modelName: "sasrec", modelVersion: 3, items: itemBuffer, scores: scores[...],
                embedding: embedding, into: &direct)
        }
        #expect(hexString(direct) == Golden.response)

        let tokens = ["x"]
        var external: [UInt8] = []
        RecommendResponse.encodeFrame(
            requestID: 8, modelName: "m", modelVersion: 1, items: [UInt32(0)], scores: [0.75],
            embedding: [Float](), externalID: { tokens[Int($0)] }, into: &external)
        #expect(hexString(external) == Golden.responseExternal)
    }

    @Test func reusedOutputBufferKeepsItsStorage() {
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        let address = output.withUnsafeBufferPointer { $0.baseAddress }
        let scores = [Float](repeating: 1, count: 100)
        for round in 0..<100 {
            output.removeAll(keepingCapacity: true)
            RecommendResponse.encodeFrame(
                requestID: UInt32(round + 1), modelName: "sasrec", modelVersion: 1, items: (0..<UInt32(100)),
                scores: scores, embedding: scores[..<64], into: &output)
        }
        #expect(output.withUnsafeBufferPointer { $0.baseAddress } == address)
        #expect(output.count == 16 + 2 + 6 + 4 + 1 + 4 + 400 + 400 + 4 + 256)
    }

    @Test func decodingIntoAReusedRequestKeepsArrayStorage() throws {
        let large = RecommendRequest(session: .internal(Array(0..<200)), k: 5, deny: .internal(Array(0..<300)))
        let small = RecommendRequest(session: .internal([9, 8]), k: 1, modelName: "m", excludeSeen: true)
        let largeBody = Array(large.frameBytes(requestID: 1)[16...])
        let smallBody = Array(small.frameBytes(requestID: 2)[16...])

        var request = try RecommendRequest(decoding: largeBody)
        #expect(request == large)
        let sessionStorage = Self.storage(of: request.session)
        let denyStorage = Self.storage(of: request.deny)
        try request.decode(smallBody[...])
        #expect(request == small)
        #expect(Self.storage(of: request.session) == sessionStorage)
        #expect(Self.storage(of: request.deny) == denyStorage)
        try request.decode(largeBody[...])
        #expect(request == large)
        #expect(Self.storage(of: request.session) == sessionStorage)
    }

    @Test func reusedRequestSwitchesIdSpaces() throws {
        var request = try RecommendRequest(decoding: Array(bytes(hex: Golden.recommendInternal)[16...]))
        try request.decode(bytes(hex: Golden.recommendExternal)[16...])
        #expect(request.session == .external(["tt0111161", "b"]))
        #expect(request.deny == .external([]))
        try request.decode(bytes(hex: Golden.recommendInternal)[16...])
        #expect(request.session == .internal([1, 2, 3]) && request.deny == .internal([5]))
        #expect(request.candidates == .internal([]) && request.excludeSeen && !request.includeEmbedding)
    }

    /// Version 2 bodies without extensions, or with a session key that fits the reused capacity, keep
    /// every buffer of the reused request (the server's decode path allocates nothing for them).
    @Test func versionTwoDecodingReusesStorage() throws {
        let keyed = RecommendRequest(session: .internal(Array(0..<50)), k: 5, sessionKey: Array(repeating: 7, count: 64))
        let plain = RecommendRequest(session: .internal([1, 2]), k: 1)
        let shortKey = RecommendRequest(session: .internal([3]), k: 1, sessionKey: [1, 2, 3])
        var request = try RecommendRequest(decoding: keyed.frameBytes(requestID: 1, version: 2)[16...], limits: .default, version: 2)
        #expect(request == keyed)
        let sessionStorage = Self.storage(of: request.session)
        let keyStorage = request.sessionKey.withUnsafeBufferPointer { $0.baseAddress }
        for next in [plain, shortKey, plain, keyed] {
            try request.decode(next.frameBytes(requestID: 2, version: 2)[16...], version: 2)
            #expect(request == next)
            #expect(Self.storage(of: request.session) == sessionStorage)
            #expect(request.sessionKey.isEmpty || request.sessionKey.withUnsafeBufferPointer { $0.baseAddress } == keyStorage)
        }
    }

    private static func storage(of ids: ItemIDs) -> UnsafePointer<UInt32>? {
        guard case .internal(let values) = ids else { return nil }
        return values.withUnsafeBufferPointer { $0.baseAddress }
    }
}

// Version 2 golden frames (docs/PROTOCOL.md Appendix A, second table): the same hex strings are
// checked by Clients/python/test_seqrec_client.py. Version 1 frames stay those of GoldenFrameTests.
import Testing
import SeqRecProtocol

enum GoldenV2 {
    static let hello = "000000140100000000000000000000000001000200000000"
    static let helloAck = "000000460200000000000000000000000002004000000000008000000400000003e800002710000003e800000100000004000000400000000400000f4240009896800006736571726563"
    static let recommendPlain = "0000003703000000000000070003d09002000a00000000000000000003000000010000000200000003000000000000000100000005000000000000"
    static let recommendOptions = "00000077030000000000000a0000000002000a000000000000000000030000000100000002000000030000000000000000000000000005000100000007757365722d34320002000000170100010006416374696f6e00010006486f72726f7200020003000000063333333f00c80004000000010100050000000103"
    static let recommendColdStart = "0000002e030000000000000b0000000000000500000000000000000000000000000000000000000000000100040000000101"
    static let recommendIgnorable = "00000033030000000000000c0000000000000500000000000000000001000000010000000000000000000000000001806300000002dead"
    static let responsePlain = "0000003b04000000000000070000000000067361737265630000000300000000020000002a000000070000c03f000080be000000020000003f000000400000"
    static let responseExplained = "00000057040000000000000a0000000000067361737265630000000300000000020000002a000000070000c03f000080be00000000000100020000001e0000000202000000030000003f000000010000803e01000000020000003e"
    static let responseFallback = "00000031040000000000000b0000000000067361737265630000000300000000010000000500004041000000000001000100000000"
}

let optionsRequest = RecommendRequest(
    session: .internal([1, 2, 3]), k: 10, excludeSeen: true, sessionKey: Array("user-42".utf8),
    filters: RecommendFilters(availableOnly: true, categoriesInclude: ["Action"], categoriesExclude: ["Horror"],
                              maxPerCategory: 2),
    diversity: RecommendDiversity(lambda: 0.7, pool: 200), fallback: true, explainContributors: 3)

let explainedResponse = RecommendResponse(
    modelName: "sasrec", modelVersion: 3, items: .internal([42, 7]), scores: [1.5, -0.25],
    explanations: [Explanation(items: .internal([3, 1]), contributions: [0.5, 0.25]),
                   Explanation(items: .internal([2]), contributions: [0.125])])

@Suite struct GoldenFrameV2Tests {
    @Test func handshake() throws {
        #expect(hexString(Hello(maxVersion: ProtocolVersion.maximum).frameBytes(requestID: 0)) == GoldenV2.hello)
        #expect(hexString(HelloAck(version: 2, serverID: "seqrec").frameBytes(requestID: 0)) == GoldenV2.helloAck)
        let hello = try Hello(decoding: Array(bytes(hex: GoldenV2.hello)[16...]))
        #expect(hello.negotiatedVersion() == 2)
        // A version 1 HELLO gets version 1 from the same server.
        let helloV1 = try Hello(decoding: Array(bytes(hex: Golden.hello)[16...]))
        #expect(helloV1.negotiatedVersion() == 1)
    }

    @Test func requestsEncodeToTheSpecBytes() {
        let plain = RecommendRequest(session: .internal([1, 2, 3]), k: 10, excludeSeen: true, deny: .internal([5]))
        #expect(hexString(plain.frameBytes(requestID: 7, aux: 250_000, version: 2)) == GoldenV2.recommendPlain)
        // The same request on a version 1 connection is the version 1 golden frame, byte for byte.
        #expect(hexString(plain.frameBytes(requestID: 7, aux: 250_000, version: 1)) == Golden.recommendInternal)
        #expect(hexString(optionsRequest.frameBytes(requestID: 10, version: 2)) == GoldenV2.recommendOptions)
        let coldStart = RecommendRequest(session: .internal([]), k: 5, fallback: true)
        #expect(hexString(coldStart.frameBytes(requestID: 11, version: 2)) == GoldenV2.recommendColdStart)
    }

    @Test func requestsDecodeFromTheSpecBytes() throws {
        let options = try RecommendRequest(decoding: bytes(hex: GoldenV2.recommendOptions)[16...], limits: .default, version: 2)
        #expect(options == optionsRequest)
        #expect(options.diversity?.lambda == Float(0.7))
        let coldStart = try RecommendRequest(decoding: bytes(hex: GoldenV2.recommendColdStart)[16...], limits: .default, version: 2)
        #expect(coldStart.session.isEmpty && coldStart.fallback == true && coldStart.k == 5)
        // An unknown IGNORABLE extension is skipped; re-encoding drops it.
        let ignorable = try RecommendRequest(decoding: bytes(hex: GoldenV2.recommendIgnorable)[16...], limits: .default, version: 2)
        #expect(ignorable == RecommendRequest(session: .internal([1]), k: 5))
        #expect(!ignorable.hasExtensions)
        // Read as version 1, the extension block is trailing bytes.
        #expect(throws: ProtocolError.trailingBytes(.recommend, count: 2)) {
            try RecommendRequest(decoding: bytes(hex: GoldenV2.recommendPlain)[16...], limits: .default, version: 1)
        }
    }

    @Test func responsesEncodeAndDecode() throws {
        let plain = RecommendResponse(modelName: "sasrec", modelVersion: 3, items: .internal([42, 7]),
                                      scores: [1.5, -0.25], embedding: [0.5, 2.0])
        #expect(hexString(plain.frameBytes(requestID: 7, version: 2)) == GoldenV2.responsePlain)
        #expect(hexString(plain.frameBytes(requestID: 7, version: 1)) == Golden.response)
        #expect(hexString(explainedResponse.frameBytes(requestID: 10, version: 2)) == GoldenV2.responseExplained)
        let fallback = RecommendResponse(modelName: "sasrec", modelVersion: 3, items: .internal([5]), scores: [12],
                                         usedFallback: true)
        #expect(hexString(fallback.frameBytes(requestID: 11, version: 2)) == GoldenV2.responseFallback)

        let clientSide = try decodeAll(
            [GoldenV2.helloAck, GoldenV2.responsePlain, GoldenV2.responseExplained, GoldenV2.responseFallback]
                .map { bytes(hex: $0) }, role: .client)
        #expect(try RecommendResponse(decoding: clientSide[1].body[...], limits: .default, version: 2) == plain)
        #expect(try RecommendResponse(decoding: clientSide[2].body[...], limits: .default, version: 2) == explainedResponse)
        #expect(try RecommendResponse(decoding: clientSide[3].body[...], limits: .default, version: 2) == fallback)
    }

    /// The server's allocation-free encoder writes the same bytes as the value type, in both versions.
    @Test func hotPathEncoderMatchesTheStruct() {
        for version: UInt16 in [1, 2] {
            var output: [UInt8] = []
            RecommendResponse.encodeFrame(
                requestID: 10, modelName: "sasrec", modelVersion: 3, items: [42, 7] as [UInt32], scores: [1.5, -0.25] as [Float],
                embedding: [] as [Float], version: version, explanations: explainedResponse.explanations, into: &output)
            #expect(output == explainedResponse.frameBytes(requestID: 10, version: version))
            output.removeAll()
            RecommendResponse.encodeFrame(
                requestID: 11, modelName: "m", modelVersion: 1, items: [5] as [UInt32], scores: [2] as [Float],
                embedding: [] as [Float], version: version, usedFallback: true,
                externalID: { "tok\($0)" }, into: &output)
            let expected = RecommendResponse(modelName: "m", modelVersion: 1, items: .external(["tok5"]), scores: [2],
                                             usedFallback: true)
            #expect(output == expected.frameBytes(requestID: 11, version: version))
        }
    }

    @Test func externalIDExplanationsRoundTrip() throws {
        let response = RecommendResponse(
            modelName: "m", modelVersion: 1, items: .external(["x", "y"]), scores: [2, 1], usedFallback: true,
            explanations: [Explanation(items: .external(["a", "bb", "c"]), contributions: [3, -1, 0]),
                           Explanation(items: .external([]), contributions: [])])
        let frame = response.frameBytes(requestID: 1, version: 2)
        #expect(try RecommendResponse(decoding: frame[16...], limits: .default, version: 2) == response)
        // On a version 1 connection the same response carries neither flag nor explanations.
        let v1 = try RecommendResponse(decoding: response.frameBytes(requestID: 1, version: 1)[16...])
        #expect(v1.items == response.items && !v1.usedFallback && v1.explanations == nil)
    }

    @Test func messageDecodingFollowsTheVersion() throws {
        let frames = try decodeAll([ConnectionPreface.bytes, bytes(hex: GoldenV2.hello), bytes(hex: GoldenV2.recommendOptions)],
                                   role: .server)
        let frame = Frame(header: frames[1].header, body: frames[1].body[...])
        #expect(try Message(decoding: frame, version: 2) == .recommend(optionsRequest))
        #expect(throws: ProtocolError.trailingBytes(.recommend, count: 70)) { try Message(decoding: frame, version: 1) }
    }
}

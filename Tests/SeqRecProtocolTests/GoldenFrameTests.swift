// Golden frames: the same hex strings are checked by Clients/python/test_seqrec_client.py and
// listed in docs/PROTOCOL.md Appendix A, so the Swift codec, the Python client and the spec agree.
import Testing
import SeqRecProtocol

enum Golden {
    static let hello = "000000140100000000000000000000000001000100000000"
    static let helloAck = "000000460200000000000000000000000001004000000000008000000400000003e800002710000003e800000100000004000000400000000400000f4240009896800006736571726563"
    static let recommendInternal = "0000003503000000000000070003d09002000a0000000000000000000300000001000000020000000300000000000000010000000500000000"
    static let recommendExternal = "000000480300000000000008000000000d000500067361737265630000000200000002000974743031313131363100016200000000000000000000000500017800017900017a000177000176"
    static let response = "0000003904000000000000070000000000067361737265630000000300000000020000002a000000070000c03f000080be000000020000003f00000040"
    static let responseExternal = "0000002304000000000000080000000000016d0000000101000000010001780000403f00000000"
    static let error = "0000001a0502000000000009000000640008000a71756575652066756c6c"
    static let goAway = "0000001808000000000000000000002a000e0008647261696e696e67"
    static let ping = "000000140600000000000000000000000102030405060708"
    static let pong = "000000140700000000000000000000000102030405060708"
    static let modelInfo = "0000000e0c00000000000003000000000000"
    static let modelList = "0000003b0d00000000000003000000000001000673617372656300000002000e726563626f6c652d7361737265630000069300000001000000320000004003"
    static let cancel = "0000000c0b0000000000000700000000"
    static let healthProbe = "5352454376310d0a0000000e0900000000000001000000000000"
    static let healthServing = "0000000d0a000000000000010000000001"
    static let healthNotServing = "0000000d0a000000000000010000000002"
}

let sasrecModel = ModelDescription(
    name: "sasrec", version: 2, family: "recbole-sasrec", itemCount: 1683, maxSessionLength: 50,
    embeddingWidth: 64, hasVocabulary: true, isDefault: true, firstItemID: 1)

@Suite struct GoldenFrameTests {
    @Test func healthProbeIsTheSpecConstant() throws {
        #expect(hexString(HealthProbe.request) == Golden.healthProbe)
        let frames = try decodeAll([bytes(hex: Golden.healthProbe)], role: .server)
        #expect(frames.count == 1)
        #expect(frames[0].header == FrameHeader(type: .health, requestID: 1))
        #expect(try HealthRequest(decoding: frames[0].body) == HealthRequest(service: ""))
    }

    @Test func healthyAnswerIsTheSpecConstant() throws {
        #expect(hexString(HealthProbe.servingResponse) == Golden.healthServing)
        #expect(hexString(HealthResponse(status: .serving).frameBytes(requestID: 1)) == Golden.healthServing)
        #expect(hexString(HealthResponse(status: .notServing).frameBytes(requestID: 1)) == Golden.healthNotServing)
        let frames = try decodeAll([bytes(hex: Golden.healthServing)], role: .client)
        #expect(try HealthResponse(decoding: frames[0].body).status == .serving)
    }

    @Test func handshakeFrames() {
        #expect(hexString(Hello(minVersion: 1, maxVersion: 1).frameBytes(requestID: 0)) == Golden.hello)
        #expect(hexString(HelloAck(version: 1, serverID: "seqrec").frameBytes(requestID: 0)) == Golden.helloAck)
    }

    @Test func recommendRequests() {
        let internalIDs = RecommendRequest(session: .internal([1, 2, 3]), k: 10, excludeSeen: true, deny: .internal([5]))
        #expect(hexString(internalIDs.frameBytes(requestID: 7, aux: 250_000)) == Golden.recommendInternal)
        let externalIDs = RecommendRequest(
            session: .external(["tt0111161", "b"]), k: 5, modelName: "sasrec", modelVersion: 2,
            candidates: .external(["x", "y", "z", "w", "v"]), skipUnknown: true, includeEmbedding: true)
        #expect(hexString(externalIDs.frameBytes(requestID: 8)) == Golden.recommendExternal)
    }

    @Test func responses() {
        let internalIDs = RecommendResponse(
            modelName: "sasrec", modelVersion: 3, items: .internal([42, 7]), scores: [1.5, -0.25], embedding: [0.5, 2.0])
        #expect(hexString(internalIDs.frameBytes(requestID: 7)) == Golden.response)
        let externalIDs = RecommendResponse(modelName: "m", modelVersion: 1, items: .external(["x"]), scores: [0.75])
        #expect(hexString(externalIDs.frameBytes(requestID: 8)) == Golden.responseExternal)
        #expect(hexString(ModelListResponse(models: [sasrecModel]).frameBytes(requestID: 3)) == Golden.modelList)
    }

    @Test func errorsAndConnectionFrames() {
        let error = ErrorBody(status: .resourceExhausted, message: "queue full")
        #expect(hexString(error.frameBytes(requestID: 9, aux: 100, flags: .notProcessed)) == Golden.error)
        #expect(hexString(GoAway(status: .unavailable, message: "draining").frameBytes(requestID: 0, aux: 42)) == Golden.goAway)
        #expect(hexString(Ping(payload: 0x0102_0304_0506_0708).frameBytes(requestID: 0)) == Golden.ping)
        #expect(hexString(Pong(payload: 0x0102_0304_0506_0708).frameBytes(requestID: 0)) == Golden.pong)
        #expect(hexString(ModelInfoRequest().frameBytes(requestID: 3)) == Golden.modelInfo)
        #expect(hexString(Cancel().frameBytes(requestID: 7)) == Golden.cancel)
    }

    @Test func goldenFramesDecodeBack() throws {
        let fromClient = [Golden.hello, Golden.recommendInternal, Golden.recommendExternal, Golden.ping,
                          Golden.modelInfo, Golden.cancel, Golden.goAway]
        let serverSide = try decodeAll([ConnectionPreface.bytes] + fromClient.map { bytes(hex: $0) }, role: .server)
        #expect(serverSide.map(\.header.type) == [.hello, .recommend, .recommend, .ping, .modelInfo, .cancel, .goAway])
        #expect(serverSide[1].header.aux == 250_000)
        let request = try RecommendRequest(decoding: serverSide[2].body)
        #expect(request.session == .external(["tt0111161", "b"]))
        #expect(request.includeEmbedding && request.skipUnknown && !request.excludeSeen)

        let fromServer = [Golden.helloAck, Golden.response, Golden.responseExternal, Golden.error, Golden.pong,
                          Golden.modelList, Golden.healthServing, Golden.goAway]
        let clientSide = try decodeAll(fromServer.map { bytes(hex: $0) }, role: .client)
        #expect(clientSide.count == fromServer.count)
        #expect(clientSide[3].header.flags == .notProcessed && clientSide[3].header.aux == 100)
        #expect(try HelloAck(decoding: clientSide[0].body) == HelloAck(version: 1, serverID: "seqrec"))
        #expect(try ModelListResponse(decoding: clientSide[5].body).models == [sasrecModel])
    }
}

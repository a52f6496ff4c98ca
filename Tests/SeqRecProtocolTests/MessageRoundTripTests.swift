// Every message body survives encode → decode unchanged, alone and inside a frame.
import Testing
import SeqRecProtocol

/// Encodes `message` as a frame, decodes it with a decoder of `role`, and decodes the body back.
func roundTrip<Body: FrameBody & Equatable>(
    _ message: Body, requestID: UInt32, role: FrameDecoder.Role, limits: ProtocolLimits = .default
) throws -> Body {
    var wire: [UInt8] = role == .server ? clientOpening : []
    message.encodeFrame(requestID: requestID, into: &wire)
    let frames = try decodeAll([wire], role: role, limits: limits)
    let frame = try #require(frames.last)
    #expect(frame.header.type == Body.frameType)
    #expect(frame.header.requestID == requestID)
    var bodyOnly: [UInt8] = []
    message.encode(into: &bodyOnly)
    #expect(frame.body == bodyOnly)
    return try Frame(header: frame.header, body: frame.body[...]).decode(Body.self, limits: limits)
}

@Suite struct MessageRoundTripTests {
    @Test func hello() throws {
        let plain = Hello()
        let full = Hello(minVersion: 1, maxVersion: 3, capabilities: [Capability(key: 9, value: 77)],
                         authToken: Array("s3cret".utf8))
        #expect(try Hello(decoding: clientOpening[(ConnectionPreface.bytes.count + 16)...]) == plain)
        var bytes: [UInt8] = []
        full.encode(into: &bytes)
        #expect(try Hello(decoding: bytes) == full)
        #expect(full.negotiatedVersion() == 2)
        #expect(Hello(minVersion: 1, maxVersion: 1).negotiatedVersion() == 1, "a version 1 client gets version 1")
        #expect(Hello(minVersion: 2, maxVersion: 4).negotiatedVersion() == 2)
        #expect(Hello(minVersion: 3, maxVersion: 4).negotiatedVersion() == nil)
        #expect(Hello(minVersion: 1, maxVersion: 3).negotiatedVersion(serverMin: 1, serverMax: 1) == 1)
    }

    @Test func helloAck() throws {
        var limits = ProtocolLimits()
        limits.maxK = 100
        limits.maxFrameLength = 65_536
        limits.maxTimeoutMicroseconds = 2_000_000
        let ack = HelloAck(limits: limits, serverID: "replica-7 ✓")
        #expect(try roundTrip(ack, requestID: 0, role: .client) == ack)
    }

    @Test(arguments: [
        RecommendRequest(session: .internal([0])),
        RecommendRequest(session: .internal([3, 1, 4, 1, 5]), k: 2, modelName: "gru4rec", modelVersion: 9,
                         excludeSeen: true, allow: .internal([1, 2, 3, 4]), deny: .internal([5]),
                         candidates: .internal([1, 2, 3]), includeEmbedding: true),
        RecommendRequest(session: .external(["a", "ßeta", "日本"]), k: 1000, deny: .external(["a"]), skipUnknown: true),
        RecommendRequest(session: .external([String(repeating: "x", count: 256)]), k: 1,
                         modelName: String(repeating: "m", count: 256), candidates: .external(["q"])),
    ])
    func recommendRequest(_ request: RecommendRequest) throws {
        try request.validate()
        #expect(try roundTrip(request, requestID: 42, role: .server) == request)
    }

    @Test(arguments: [
        RecommendResponse(modelName: "sasrec", modelVersion: 1, items: .internal([]), scores: []),
        RecommendResponse(modelName: "sasrec", modelVersion: 4, items: .internal([9, 8, 7]),
                          scores: [3.25, -.infinity, .greatestFiniteMagnitude], embedding: [1, 2, 3, 4]),
        RecommendResponse(modelName: "x", modelVersion: 1, items: .external(["tt1", "é"]), scores: [0.1, 0.2],
                          embedding: (0..<300).map { Float($0) / 7 }),
    ])
    func recommendResponse(_ response: RecommendResponse) throws {
        #expect(try roundTrip(response, requestID: 42, role: .client) == response)
    }

    @Test func widestEmbeddingRoundTrips() throws {
        let embedding = (0..<16_384).map { Float($0) * 0.25 }
        let response = RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([1]), scores: [0], embedding: embedding)
        let decoded = try roundTrip(response, requestID: 1, role: .client)
        #expect(decoded.embedding.count == 16_384)
        #expect(decoded.embedding.elementsEqual(embedding), "embedding differs after the round trip")
    }

    @Test func nanScoreKeepsItsBits() throws {
        let response = RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([1]), scores: [.nan])
        let decoded = try roundTrip(response, requestID: 1, role: .client)
        #expect(decoded.scores[0].bitPattern == Float.nan.bitPattern)
    }

    @Test func errorAndGoAway() throws {
        for status in StatusCode.allCases where status != .ok {
            let error = ErrorBody(status: status, message: "bad \(status.name)")
            #expect(try roundTrip(error, requestID: 5, role: .client) == error)
        }
        for status in StatusCode.allCases {
            let goAway = GoAway(status: status, message: "bye")
            #expect(try roundTrip(goAway, requestID: 0, role: .client) == goAway)
            #expect(try roundTrip(goAway, requestID: 0, role: .server) == goAway)
            #expect(goAway.isGraceful == (status == .ok || status == .unavailable))
        }
    }

    @Test func healthAndModels() throws {
        for service in ["", "sasrec"] {
            let request = HealthRequest(service: service)
            #expect(try roundTrip(request, requestID: 2, role: .server) == request)
        }
        for status in HealthStatus.allCases {
            #expect(try roundTrip(HealthResponse(status: status), requestID: 2, role: .client).status == status)
        }
        #expect(try roundTrip(ModelInfoRequest(modelName: "bert4rec"), requestID: 3, role: .server).modelName == "bert4rec")
        let other = ModelDescription(name: "gru", version: 1, family: "gru4rec-official", itemCount: 23_496,
                                     maxSessionLength: .max, embeddingWidth: 100, hasVocabulary: false, isDefault: false,
                                     firstItemID: 0)
        for models in [[], [sasrecModel], [sasrecModel, other]] {
            let list = ModelListResponse(models: models)
            #expect(try roundTrip(list, requestID: 3, role: .client) == list)
        }
    }

    @Test func pingPongCancel() throws {
        let ping = Ping(payload: .max)
        #expect(try roundTrip(ping, requestID: 0, role: .server) == ping)
        #expect(try roundTrip(Pong(answering: ping), requestID: 0, role: .client).payload == .max)
        #expect(try roundTrip(Cancel(), requestID: 77, role: .server) == Cancel())
    }

    @Test func decodingAsTheWrongBodyIsRejected() throws {
        let frame = Frame(header: FrameHeader(type: .ping, requestID: 0), body: [0, 0, 0, 0, 0, 0, 0, 0][...])
        #expect(throws: ProtocolError.bodyTypeMismatch(expected: .pong, actual: .ping)) {
            try frame.decode(Pong.self)
        }
    }
}

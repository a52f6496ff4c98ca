// Framing violations (docs/PROTOCOL.md §11): each gives its specific, connection-fatal error, and
// no length is trusted before it is checked.
import SeqRecProtocol
import SeqRecTestSupport
import Testing

@Suite struct MalformedFrameTests {
    @Test func badPrefaceFailsAtTheFirstWrongByte() {
        #expect(decodeError([Array("GET / HTTP/1.1\r\n".utf8)], role: .server) == .badPreface(offset: 0, byte: 0x47))
        #expect(decodeError([[0x16, 0x03, 0x01, 0x00]], role: .server) == .badPreface(offset: 0, byte: 0x16))
        #expect(decodeError([Array("SRECv2\r\n".utf8)], role: .server) == .badPreface(offset: 5, byte: 0x32))
        // Fed one byte at a time, the mismatch is still reported at the byte that breaks it.
        #expect(decodeError(Array("SREX".utf8).map { [$0] }, role: .server) == .badPreface(offset: 3, byte: 0x58))
        #expect(ProtocolError.badPreface(offset: 0, byte: 0).isFramingViolation)
    }

    @Test(arguments: [UInt32(0), 11, 4 * 1024 * 1024 + 1, .max])
    func lengthOutOfRange(_ length: UInt32) {
        let frame = rawFrame(length: length, type: FrameType.health.rawValue, requestID: 1)
        let error = ProtocolError.frameLengthOutOfRange(length: length, minimum: 12, maximum: 4 * 1024 * 1024)
        #expect(decodeError([ConnectionPreface.bytes, frame], role: .server) == error)
        #expect(decodeError([frame], role: .client) == error)
    }

    @Test func fourGiBClaimIsRejectedFromSixteenBytesWithoutAllocating() throws {
        var decoder = FrameDecoder(role: .client)
        let header = rawFrame(length: .max, type: FrameType.recommendResponse.rawValue, requestID: 1)
        #expect(header.count == 16)
        decoder.feed(header)
        #expect(throws: ProtocolError.frameLengthOutOfRange(length: .max, minimum: 12, maximum: 4 * 1024 * 1024)) {
            try decoder.next()
        }
        #expect(decoder.bufferCapacity < 1024)
        // Already the 4 length bytes alone are enough to reject.
        var early = FrameDecoder(role: .client)
        early.feed(header[..<4])
        #expect(throws: ProtocolError.self) { try early.next() }
    }

    @Test func configuredMaximumIsEnforcedFromTheHeader() throws {
        var limits = ProtocolLimits()
        limits.maxFrameLength = 64
        let ok = Pong(payload: 1).frameBytes(requestID: 0)
        #expect(decodeError([ok], role: .client, limits: limits) == nil)
        let big = RecommendResponse(modelName: "m", modelVersion: 1, items: .internal(Array(0..<10)),
                                    scores: Array(repeating: 0, count: 10)).frameBytes(requestID: 1)
        #expect(decodeError([Array(big[..<4])], role: .client, limits: limits)
                == .frameLengthOutOfRange(length: UInt32(big.count - 4), minimum: 12, maximum: 64))
    }

    @Test func unknownFrameType() {
        for type: UInt8 in [0, 14, 255] {
            #expect(decodeError([clientOpening, rawFrame(type: type, requestID: 1)], role: .server) == .unknownFrameType(type))
        }
        #expect(ProtocolError.unknownFrameType(0).status == .unimplemented)
    }

    @Test func frameTypeInTheWrongDirection() {
        let response = HealthResponse(status: .serving).frameBytes(requestID: 1)
        #expect(decodeError([clientOpening, response], role: .server) == .unexpectedFrameType(.healthResponse))
        let request = HealthRequest().frameBytes(requestID: 1)
        #expect(decodeError([request], role: .client) == .unexpectedFrameType(.health))
    }

    @Test func reservedBitsAndFlags() {
        let ping = FrameType.ping.rawValue
        #expect(decodeError([clientOpening, rawFrame(type: ping, reserved: 1, requestID: 0, body: [UInt8](repeating: 0, count: 8))],
                            role: .server) == .reservedFieldNotZero(.ping, value: 1))
        #expect(decodeError([clientOpening, rawFrame(type: ping, flags: 0x80, requestID: 0, body: [UInt8](repeating: 0, count: 8))],
                            role: .server) == .invalidFlags(.ping, flags: 0x80))
        #expect(decodeError([clientOpening, rawFrame(type: ping, flags: 0x02, requestID: 0, body: [UInt8](repeating: 0, count: 8))],
                            role: .server) == .invalidFlags(.ping, flags: 0x02))
        #expect(decodeError([rawFrame(type: FrameType.error.rawValue, flags: 0x04, requestID: 1, body: [0, 3, 0, 0])],
                            role: .client) == .invalidFlags(.error, flags: 0x04))
    }

    @Test func compressedFlagIsRejected() {
        #expect(decodeError([clientOpening, rawFrame(type: FrameType.health.rawValue, flags: 0x01, requestID: 1, body: [0, 0])],
                            role: .server) == .compressionNotSupported(.health))
        #expect(ProtocolError.compressionNotSupported(.health).status == .unimplemented)
    }

    @Test func requestIDRules() {
        #expect(decodeError([clientOpening, rawFrame(type: FrameType.health.rawValue, requestID: 0, body: [0, 0])],
                            role: .server) == .requestIDMissing(.health))
        #expect(decodeError([clientOpening, rawFrame(type: FrameType.ping.rawValue, requestID: 5, body: [UInt8](repeating: 0, count: 8))],
                            role: .server) == .requestIDMustBeZero(.ping, requestID: 5))
    }

    @Test func auxMustBeZeroWhereReserved() {
        #expect(decodeError([clientOpening, rawFrame(type: FrameType.modelInfo.rawValue, requestID: 1, aux: 9, body: [0, 0])],
                            role: .server) == .auxMustBeZero(.modelInfo, aux: 9))
    }

    @Test func handshakeOrder() throws {
        let recommend = RecommendRequest(session: .internal([1])).frameBytes(requestID: 1)
        #expect(decodeError([ConnectionPreface.bytes, recommend], role: .server) == .helloRequired(.recommend))
        let hello = Hello().frameBytes(requestID: 0)
        #expect(decodeError([clientOpening, hello], role: .server) == .duplicateHello)
        // HEALTH is allowed before HELLO, any number of times, and HELLO may follow.
        let frames = try decodeAll([ConnectionPreface.bytes, HealthProbe.request[8...].map { $0 },
                                    HealthProbe.request[8...].map { $0 }, hello, recommend], role: .server)
        #expect(frames.map(\.header.type) == [.health, .health, .hello, .recommend])
    }

    @Test func failedDecoderKeepsFailing() {
        var decoder = FrameDecoder(role: .server)
        decoder.feed(Array("XXXX".utf8))
        #expect(throws: ProtocolError.badPreface(offset: 0, byte: 0x58)) { try decoder.next() }
        decoder.feed(clientOpening)
        #expect(throws: ProtocolError.badPreface(offset: 0, byte: 0x58)) { try decoder.next() }
        #expect(decoder.failure == .badPreface(offset: 0, byte: 0x58))
    }

    @Test func truncatedStreamJustWaits() throws {
        var decoder = FrameDecoder(role: .server)
        let stream = clientOpening + RecommendRequest(session: .internal([1, 2])).frameBytes(requestID: 1)
        decoder.feed(stream.dropLast())
        #expect(try decoder.next() != nil)
        #expect(try decoder.next() == nil)
        #expect(decoder.isInsideFrame)
    }

    @Test func frameTypeTable() {
        #expect(FrameType.allCases.filter(\.opensRequest) == [.recommend, .health, .modelInfo])
        #expect(FrameType.allCases.filter(\.isConnectionLevel) == [.hello, .helloAck, .ping, .pong, .goAway])
        #expect(FrameType.allCases.filter(\.usesAux) == [.recommend, .error, .goAway])
        #expect(FrameType.allCases.map(\.rawValue) == Array(1...13))
    }

    @Test func framingCasesAreFatalAndPayloadCasesAreNot() {
        #expect(ProtocolError.duplicateRequestID(3).isFramingViolation)
        #expect(ProtocolError.duplicateRequestID(3).status == .internal)
        #expect(!ProtocolError.kOutOfRange(k: 0, maximum: 1000).isFramingViolation)
        #expect(ProtocolError.invalidUTF8(field: "x").status == .invalidArgument)
    }
}

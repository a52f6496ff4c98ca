// Payload violations (docs/PROTOCOL.md §6, §11): each body decoder names the bad field, checks
// every count before allocating, and these errors fail only the request (INVALID_ARGUMENT).
import Testing
import SeqRecProtocol

/// Body bytes of a RECOMMEND built field by field, so single fields can be corrupted.
struct RecommendBodyBuilder {
    var options: UInt8 = 0
    var k: UInt16 = 10
    var modelName: [UInt8] = []
    var session: [UInt8] = u32(1) + u32(7)
    var allow: [UInt8] = u32(0)
    var deny: [UInt8] = u32(0)
    var candidates: [UInt8] = u32(0)

    var bytes: [UInt8] {
        [options, UInt8(k >> 8), UInt8(k & 0xff)] + u16(UInt16(modelName.count)) + modelName + u32(0)
            + session + allow + deny + candidates
    }
}

func u32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
}

func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }

func decodeRecommend(_ builder: RecommendBodyBuilder, limits: ProtocolLimits = .default) -> ProtocolError? {
    do {
        _ = try RecommendRequest(decoding: builder.bytes, limits: limits)
        return nil
    } catch {
        #expect(!error.isFramingViolation && error.status == .invalidArgument)
        return error
    }
}

@Suite struct MalformedBodyTests {
    @Test func validBuilderDecodes() throws {
        let request = try RecommendRequest(decoding: RecommendBodyBuilder().bytes)
        #expect(request == RecommendRequest(session: .internal([7]), k: 10))
    }

    @Test func everyTruncationIsReported() {
        let full = RecommendRequest(session: .external(["ab", "c"]), k: 1, modelName: "m",
                                    deny: .external(["d"]), candidates: .external(["e", "f"])).frameBytes(requestID: 1)
        let body = Array(full[16...])
        for cut in 0..<body.count {
            do {
                _ = try RecommendRequest(decoding: Array(body[..<cut]))
                Issue.record("body cut at \(cut) decoded")
            } catch {
                guard case .truncated = error else {
                    Issue.record("cut at \(cut): \(error)")
                    continue
                }
            }
        }
        #expect(throws: ProtocolError.truncated(field: "options", needed: 1, remaining: 0)) {
            try RecommendRequest(decoding: [])
        }
    }

    @Test func countsAboveLimitsFailBeforeReadingElements() {
        var builder = RecommendBodyBuilder()
        builder.session = u32(1001)
        #expect(decodeRecommend(builder) == .countExceedsLimit(field: "session", count: 1001, limit: 1000))
        builder.session = u32(.max)
        #expect(decodeRecommend(builder) == .countExceedsLimit(field: "session", count: Int(UInt32.max), limit: 1000))
        builder = RecommendBodyBuilder()
        builder.deny = u32(10_001)
        #expect(decodeRecommend(builder) == .countExceedsLimit(field: "deny", count: 10_001, limit: 10_000))
        builder = RecommendBodyBuilder()
        builder.candidates = u32(20_000)
        #expect(decodeRecommend(builder) == .countExceedsLimit(field: "candidates", count: 20_000, limit: 10_000))
    }

    @Test func countWithinLimitButNotBackedByBytesIsTruncation() {
        var builder = RecommendBodyBuilder()
        builder.session = u32(1000) + u32(1)
        #expect(decodeRecommend(builder) == .truncated(field: "session", needed: 4000, remaining: 16))
    }

    @Test func kOutOfRange() {
        var builder = RecommendBodyBuilder()
        builder.k = 0
        #expect(decodeRecommend(builder) == .kOutOfRange(k: 0, maximum: 1000))
        builder.k = 1001
        #expect(decodeRecommend(builder) == .kOutOfRange(k: 1001, maximum: 1000))
        builder.k = 3
        builder.candidates = u32(2) + u32(1) + u32(2)
        #expect(decodeRecommend(builder) == .kOutOfRange(k: 3, maximum: 2))
        var limits = ProtocolLimits()
        limits.maxK = 5
        builder = RecommendBodyBuilder()
        builder.k = 6
        #expect(decodeRecommend(builder, limits: limits) == .kOutOfRange(k: 6, maximum: 5))
    }

    @Test func invalidUTF8() {
        var builder = RecommendBodyBuilder()
        builder.modelName = [0x61, 0xff]
        #expect(decodeRecommend(builder) == .invalidUTF8(field: "model_name"))
        builder = RecommendBodyBuilder()
        builder.options = 1
        builder.session = u32(2) + u16(1) + [0x61] + u16(2) + [0xc0, 0x80]  // overlong NUL
        #expect(decodeRecommend(builder) == .invalidUTF8(field: "session[1]"))
        builder.session = u32(1) + u16(3) + [0xed, 0xa0, 0x80]  // UTF-16 surrogate
        #expect(decodeRecommend(builder) == .invalidUTF8(field: "session[0]"))
    }

    @Test func stringLimits() {
        var builder = RecommendBodyBuilder()
        builder.modelName = Array(repeating: 0x61, count: 257)
        #expect(decodeRecommend(builder) == .stringTooLong(field: "model_name", length: 257, limit: 256))
        builder = RecommendBodyBuilder()
        builder.options = 1
        builder.session = u32(1) + u16(0)
        #expect(decodeRecommend(builder) == .emptyString(field: "session[0]"))
        builder.session = u32(1) + u16(300) + Array(repeating: 0x61, count: 300)
        #expect(decodeRecommend(builder) == .stringTooLong(field: "session[0]", length: 300, limit: 256))
    }

    @Test func invalidValues() {
        var builder = RecommendBodyBuilder()
        builder.options = 0x10
        #expect(decodeRecommend(builder) == .invalidValue(field: "options", value: 0x10))
        builder = RecommendBodyBuilder()
        builder.session = u32(0)
        #expect(decodeRecommend(builder) == .invalidValue(field: "n_session", value: 0))
        #expect(decodeRecommend(RecommendBodyBuilder(candidates: u32(0) + [9])) == .trailingBytes(.recommend, count: 1))
    }

    @Test func responseAndOtherBodies() {
        #expect(throws: ProtocolError.invalidValue(field: "status", value: 0)) {
            try ErrorBody(decoding: u16(0) + u16(0))
        }
        #expect(throws: ProtocolError.invalidValue(field: "status", value: 17)) {
            try GoAway(decoding: u16(17) + u16(0))
        }
        #expect(throws: ProtocolError.stringTooLong(field: "message", length: 1025, limit: 1024)) {
            try ErrorBody(decoding: u16(3) + u16(1025) + Array(repeating: 0x61, count: 1025))
        }
        #expect(throws: ProtocolError.invalidValue(field: "status", value: 4)) {
            try HealthResponse(decoding: [4])
        }
        #expect(throws: ProtocolError.wrongBodyLength(.pong, length: 9, expected: 8)) {
            try Pong(decoding: [UInt8](repeating: 0, count: 9))
        }
        // issue 11.1: an empty PING said "needs 4 bytes"; every wrong size names the size and the 8 it must be.
        for length in [0, 1, 4, 7, 9, 16] {
            #expect(throws: ProtocolError.wrongBodyLength(.ping, length: length, expected: 8)) {
                try Ping(decoding: [UInt8](repeating: 0, count: length))
            }
        }
        #expect(ProtocolError.wrongBodyLength(.ping, length: 0, expected: 8).description
            == "PING body is 0 bytes, must be exactly 8")
        #expect(throws: ProtocolError.trailingBytes(.cancel, count: 2)) {
            try Cancel(decoding: [1, 2])
        }
        let response = [0, 1, 0x6d] + u32(1) + [0] + u32(1001)
        #expect(throws: ProtocolError.countExceedsLimit(field: "items", count: 1001, limit: 1000)) {
            try RecommendResponse(decoding: response)
        }
        let wideEmbedding = [0, 1, 0x6d] + u32(1) + [0] + u32(0) + u32(16_385)
        #expect(throws: ProtocolError.countExceedsLimit(field: "embedding", count: 16_385, limit: 16_384)) {
            try RecommendResponse(decoding: wideEmbedding)
        }
        #expect(throws: ProtocolError.countExceedsLimit(field: "models", count: 1025, limit: 1024)) {
            try ModelListResponse(decoding: u16(1025))
        }
    }

    @Test func handshakeBodies() {
        #expect(throws: ProtocolError.invalidValue(field: "max_version", value: 1)) {
            try Hello(decoding: u16(2) + u16(1) + u16(0) + u16(0))
        }
        #expect(throws: ProtocolError.countExceedsLimit(field: "capabilities", count: 65, limit: 64)) {
            try Hello(decoding: u16(1) + u16(1) + u16(65))
        }
        #expect(throws: ProtocolError.stringTooLong(field: "auth_token", length: 257, limit: 256)) {
            try Hello(decoding: u16(1) + u16(1) + u16(0) + u16(257) + Array(repeating: 0, count: 257))
        }
        var ack = HelloAck().frameBytes(requestID: 0)
        ack[16 + 2 + 4 * 5 + 3] = 0  // max_k = 1000 → 768: fine; then zero it entirely
        ack[16 + 2 + 4 * 5 + 2] = 0
        #expect(throws: ProtocolError.invalidValue(field: "max_k", value: 0)) {
            try HelloAck(decoding: Array(ack[16...]))
        }
    }

    @Test func validateMatchesTheDecoder() {
        #expect(throws: ProtocolError.kOutOfRange(k: 0, maximum: 1000)) {
            try RecommendRequest(session: .internal([1]), k: 0).validate()
        }
        #expect(throws: ProtocolError.invalidValue(field: "n_session", value: 0)) {
            try RecommendRequest(session: .internal([])).validate()
        }
        #expect(throws: ProtocolError.countExceedsLimit(field: "session", count: 1001, limit: 1000)) {
            try RecommendRequest(session: .internal(Array(repeating: 1, count: 1001))).validate()
        }
        #expect(throws: ProtocolError.invalidValue(field: "allow id space", value: 1)) {
            try RecommendRequest(session: .internal([1]), allow: .external(["a"])).validate()
        }
        #expect(throws: ProtocolError.emptyString(field: "deny[0]")) {
            try RecommendRequest(session: .external(["a"]), deny: .external([""])).validate()
        }
    }
}

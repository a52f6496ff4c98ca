// Bad-input catalogue of the version 2 extension block (docs/PROTOCOL.md §6.6–6.8, §11): every rule
// violated once, each error naming the field; request errors stay request-level (never framing).
import Testing
import SeqRecProtocol

/// One extension: u16 type, u32 length, value.
func ext(_ type: UInt16, _ value: [UInt8], length: UInt32? = nil) -> [UInt8] {
    u16(type) + u32(length ?? UInt32(value.count)) + value
}

func str16(_ text: String) -> [UInt8] { u16(UInt16(text.utf8.count)) + Array(text.utf8) }

func f32le(_ value: Float) -> [UInt8] {
    let bits = value.bitPattern
    return [UInt8(bits & 0xff), UInt8((bits >> 8) & 0xff), UInt8((bits >> 16) & 0xff), UInt8(bits >> 24)]
}

/// FILTERS value: available_only, include, exclude, max_per_category.
func filtersValue(_ available: UInt8 = 2, include: [String] = [], exclude: [String] = [], cap: UInt16 = 0) -> [UInt8] {
    [available] + u16(UInt16(include.count)) + include.flatMap(str16) + u16(UInt16(exclude.count))
        + exclude.flatMap(str16) + u16(cap)
}

/// Decodes a version 2 RECOMMEND body made of the builder's fields and `block`.
func decodeV2(_ block: [UInt8], builder: RecommendBodyBuilder = RecommendBodyBuilder()) -> Result<RecommendRequest, ProtocolError> {
    do {
        return .success(try RecommendRequest(decoding: (builder.bytes + block)[...], limits: .default, version: 2))
    } catch {
        #expect(!error.isFramingViolation, "\(error) must fail only the request")
        return .failure(error)
    }
}

func v2Error(_ block: [UInt8], builder: RecommendBodyBuilder = RecommendBodyBuilder()) -> ProtocolError? {
    if case .failure(let error) = decodeV2(block, builder: builder) { return error }
    return nil
}

@Suite struct MalformedExtensionTests {
    @Test func wellFormedBlocksDecode() throws {
        let block = u16(3) + ext(1, Array("k".utf8)) + ext(4, [1]) + ext(5, [2])
        let request = try decodeV2(block).get()
        #expect(request.sessionKey == Array("k".utf8) && request.fallback == true && request.explainContributors == 2)
        #expect(try decodeV2(u16(0)).get() == RecommendRequest(session: .internal([7]), k: 10))
        #expect(try decodeV2(u16(1) + ext(4, [0])).get().fallback == false)
        #expect(try decodeV2(u16(1) + ext(2, filtersValue(0))).get().filters == RecommendFilters(availableOnly: false))
    }

    @Test func blockStructure() throws {
        #expect(v2Error([]) == .truncated(field: "n_extensions", needed: 2, remaining: 0))
        #expect(v2Error(u16(17)) == .countExceedsLimit(field: "n_extensions", count: 17, limit: 16))
        // A count within the limit that the remaining bytes cannot hold (6 bytes per extension).
        #expect(v2Error(u16(2) + ext(4, [1])) == .truncated(field: "n_extensions", needed: 12, remaining: 7))
        // Ascending, each at most once.
        #expect(v2Error(u16(2) + ext(4, [1]) + ext(4, [1])) == .extensionOutOfOrder(index: 1, type: 4, previous: 4))
        #expect(v2Error(u16(2) + ext(5, [1]) + ext(4, [1])) == .extensionOutOfOrder(index: 1, type: 4, previous: 5))
        // A length beyond the body, and beyond the type's maximum.
        #expect(v2Error(u16(1) + ext(1, [1, 2], length: 3)) == .truncated(field: "extensions[0].length", needed: 3, remaining: 2))
        #expect(v2Error(u16(1) + ext(3, [0, 0, 0, 0, 0, 0, 0])) == .countExceedsLimit(field: "extensions[0].length", count: 7, limit: 6))
        #expect(v2Error(u16(1) + ext(1, Array(repeating: 7, count: 65)))
            == .countExceedsLimit(field: "extensions[0].length", count: 65, limit: 64))
        // Bytes after the block.
        #expect(v2Error(u16(1) + ext(4, [1]) + [0]) == .trailingBytes(.recommend, count: 1))
    }

    @Test func unknownTypes() throws {
        // Critical (bit 15 clear): UNIMPLEMENTED, request-level.
        let critical = v2Error(u16(1) + ext(6, [1]))
        #expect(critical == .unsupportedExtension(type: 6))
        #expect(critical?.status == .unimplemented && critical?.isFramingViolation == false)
        #expect(v2Error(u16(2) + ext(4, [1]) + ext(0x7fff, [])) == .unsupportedExtension(type: 0x7fff))
        // IGNORABLE: skipped, with the known extensions around it still read.
        let request = try? decodeV2(u16(3) + ext(4, [1]) + ext(0x8001, [9, 9, 9]) + ext(0xffff, [])).get()
        #expect(request?.fallback == true)
        // An ignorable extension is still bounded by the body.
        #expect(v2Error(u16(1) + ext(0x8001, [1], length: 2)) == .truncated(field: "extensions[0].length", needed: 2, remaining: 1))
    }

    @Test func sessionKey() throws {
        #expect(v2Error(u16(1) + ext(1, [])) == .emptyString(field: "extension SESSION_KEY"))
        let longest = Array(repeating: UInt8(0xff), count: 64)  // opaque: not UTF-8, any byte
        #expect(try decodeV2(u16(1) + ext(1, longest)).get().sessionKey == longest)
    }

    @Test func filters() throws {
        #expect(v2Error(u16(1) + ext(2, filtersValue(3))) == .invalidValue(field: "extension FILTERS.available_only", value: 3))
        #expect(v2Error(u16(1) + ext(2, [1] + u16(65) + Array(repeating: 0, count: 1000)))
            == .countExceedsLimit(field: "extension FILTERS.categories_include", count: 65, limit: 64))
        #expect(v2Error(u16(1) + ext(2, [1] + u16(0) + u16(1) + u16(0) + u16(0)))
            == .emptyString(field: "extension FILTERS.categories_exclude[0]"))
        #expect(v2Error(u16(1) + ext(2, [1] + u16(1) + u16(2) + [0xc0, 0x80] + u16(0) + u16(0)))
            == .invalidUTF8(field: "extension FILTERS.categories_include[0]"))
        #expect(v2Error(u16(1) + ext(2, [1] + u16(1) + u16(129) + Array(repeating: 0x61, count: 129) + u16(0) + u16(0)))
            == .stringTooLong(field: "extension FILTERS.categories_include[0]", length: 129, limit: 128))
        #expect(v2Error(u16(1) + ext(2, filtersValue(1, cap: 1001)))
            == .outOfRange(field: "extension FILTERS.max_per_category", value: "1001", allowed: "0 (no cap) ... 1000"))
        #expect(v2Error(u16(1) + ext(2, Array(repeating: 0, count: 16_648)))
            == .countExceedsLimit(field: "extensions[0].length", count: 16_648, limit: 16_647))
        // The value ends early (no max_per_category) or leaves bytes over.
        #expect(v2Error(u16(1) + ext(2, [1] + u16(0) + u16(0)))
            == .truncated(field: "extension FILTERS.max_per_category", needed: 2, remaining: 0))
        #expect(v2Error(u16(1) + ext(2, filtersValue(1) + [0])) == .extensionTrailingBytes(name: "FILTERS", count: 1))
    }

    @Test func diversity() throws {
        #expect(v2Error(u16(1) + ext(3, f32le(.nan) + u16(0))) == .outOfRange(field: "extension DIVERSITY.lambda", value: "nan", allowed: "[0, 1]"))
        #expect(v2Error(u16(1) + ext(3, f32le(1.5) + u16(0)))?.description.contains("DIVERSITY.lambda") == true)
        #expect(v2Error(u16(1) + ext(3, f32le(-0.1) + u16(0)))?.description.contains("DIVERSITY.lambda") == true)
        // pool below k (10) and above the maximum; 0 means the server's default.
        #expect(v2Error(u16(1) + ext(3, f32le(0.5) + u16(9)))?.description.contains("DIVERSITY.pool = 9") == true)
        #expect(v2Error(u16(1) + ext(3, f32le(0.5) + u16(1001)))?.description.contains("DIVERSITY.pool = 1001") == true)
        #expect(try decodeV2(u16(1) + ext(3, f32le(0) + u16(0))).get().diversity == RecommendDiversity(lambda: 0, pool: 0))
        #expect(v2Error(u16(1) + ext(3, f32le(0.5))) == .truncated(field: "extension DIVERSITY.pool", needed: 2, remaining: 0))
    }

    @Test func fallbackAndExplain() throws {
        #expect(v2Error(u16(1) + ext(4, [2])) == .invalidValue(field: "extension FALLBACK.mode", value: 2))
        #expect(v2Error(u16(1) + ext(4, [])) == .truncated(field: "extension FALLBACK.mode", needed: 1, remaining: 0))
        #expect(v2Error(u16(1) + ext(5, [0])) == .outOfRange(field: "extension EXPLAIN.max_contributors", value: "0", allowed: "1...3"))
        #expect(v2Error(u16(1) + ext(5, [4])) == .outOfRange(field: "extension EXPLAIN.max_contributors", value: "4", allowed: "1...3"))
    }

    @Test func emptySessionUnlessTheFallbackIsOff() throws {
        let empty = RecommendBodyBuilder(session: u32(0))
        #expect(v2Error(u16(1) + ext(4, [0]), builder: empty) == .invalidValue(field: "n_session", value: 0))
        #expect(try decodeV2(u16(1) + ext(4, [1]), builder: empty).get().session.isEmpty)
        // No FALLBACK: the model's default decides (the server refuses it when that is off).
        #expect(try decodeV2(u16(0), builder: empty).get().fallback == nil)
        // Version 1 never allows it.
        #expect(throws: ProtocolError.invalidValue(field: "n_session", value: 0)) {
            try RecommendRequest(decoding: empty.bytes)
        }
    }

    @Test func responseExtensions() throws {
        // "m" v1, flags 0, items [4], scores [1], no embedding.
        let prefix: [UInt8] = str16("m") + u32(1) + [0] + u32(1) + u32(4) + f32le(1) + u32(0)
        func decode(_ block: [UInt8]) throws(ProtocolError) -> RecommendResponse {
            try RecommendResponse(decoding: (prefix + block)[...], limits: .default, version: 2)
        }
        #expect(throws: ProtocolError.countExceedsLimit(field: "extensions[0].length", count: 1, limit: 0)) {
            try decode(u16(1) + ext(1, [0]))
        }
        #expect(throws: ProtocolError.invalidValue(field: "extension EXPLANATIONS.n (the response has 1 items)", value: 2)) {
            try decode(u16(1) + ext(2, u32(2) + [0, 0]))
        }
        #expect(throws: ProtocolError.countExceedsLimit(field: "extension EXPLANATIONS[0].m", count: 4, limit: 3)) {
            try decode(u16(1) + ext(2, u32(1) + [4]))
        }
        #expect(throws: ProtocolError.truncated(field: "extension EXPLANATIONS[0].contributions[0]", needed: 4, remaining: 2)) {
            try decode(u16(1) + ext(2, u32(1) + [1] + u32(9) + [0, 0]))
        }
        #expect(throws: ProtocolError.extensionTrailingBytes(name: "EXPLANATIONS", count: 1)) {
            try decode(u16(1) + ext(2, u32(1) + [0] + [7]))
        }
        #expect(throws: ProtocolError.unsupportedExtension(type: 3)) { try decode(u16(1) + ext(3, [])) }
        #expect((try? decode(u16(2) + ext(1, []) + ext(0x8000, [1])))?.usedFallback == true)
    }

    @Test func sendersAreCheckedLikeReceivers() throws {
        let options = RecommendRequest(session: .internal([1]), k: 2, fallback: true)
        #expect(throws: ProtocolError.requiresVersion2(option: "FALLBACK")) { try options.validate(version: 1) }
        #expect(throws: Never.self) { try options.validate(version: 2) }
        #expect(throws: ProtocolError.stringTooLong(field: "extension SESSION_KEY", length: 65, limit: 64)) {
            try RecommendRequest(session: .internal([1]), sessionKey: Array(repeating: 1, count: 65)).validate(version: 2)
        }
        #expect(throws: ProtocolError.emptyString(field: "extension FILTERS.categories_include[0]")) {
            try RecommendRequest(session: .internal([1]), filters: RecommendFilters(categoriesInclude: [""])).validate(version: 2)
        }
        #expect(throws: ProtocolError.invalidValue(field: "n_session", value: 0)) {
            try RecommendRequest(session: .internal([]), fallback: false).validate(version: 2)
        }
        #expect(throws: Never.self) { try RecommendRequest(session: .internal([])).validate(version: 2) }
        #expect(throws: ProtocolError.invalidValue(field: "n_session", value: 0)) {
            try RecommendRequest(session: .internal([])).validate(version: 1)
        }
        #expect(throws: Never.self) { try RecommendRequest(session: .internal([]), fallback: true).validate(version: 2) }
        let badLambda = RecommendRequest(session: .internal([1]), diversity: RecommendDiversity(lambda: 2))
        #expect(throws: ProtocolError.outOfRange(field: "extension DIVERSITY.lambda", value: "2.0", allowed: "[0, 1]")) {
            try badLambda.validate(version: 2)
        }
        #expect(throws: ProtocolError.outOfRange(field: "extension EXPLAIN.max_contributors", value: "4", allowed: "1...3")) {
            try RecommendRequest(session: .internal([1]), explainContributors: 4).validate(version: 2)
        }
    }
}

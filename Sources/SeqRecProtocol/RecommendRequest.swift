// RECOMMEND body (docs/PROTOCOL.md §6.2): every option of the in-process engine, in a fixed order.
//
//   u8 options | u16 k | str16 model_name | u32 model_version
//   u32 n_session, id[n] | u32 n_allow, id[n] | u32 n_deny, id[n] | u32 n_candidates, id[n]
//   version 2: extension block (§6.6) with the options of RequestOptions.swift

/// Option bits of a RECOMMEND body.
public struct RecommendOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let externalIDs = RecommendOptions(rawValue: 1 << 0)
    public static let excludeSeen = RecommendOptions(rawValue: 1 << 1)
    public static let skipUnknown = RecommendOptions(rawValue: 1 << 2)
    public static let wantEmbedding = RecommendOptions(rawValue: 1 << 3)

    public static let defined: RecommendOptions = [.externalIDs, .excludeSeen, .skipUnknown, .wantEmbedding]
}

/// A top-k request for one session. All id lists share the session's id space; an empty allow,
/// deny or candidate list means "no such list".
public struct RecommendRequest: FrameBody, Equatable {
    public static let frameType = FrameType.recommend

    /// Empty = the server's default model.
    public var modelName: String
    /// 0 = the current version.
    public var modelVersion: UInt32
    /// Session items, oldest first. Its case selects the id space of the whole request.
    public var session: ItemIDs
    public var k: Int
    public var excludeSeen: Bool
    public var allow: ItemIDs
    public var deny: ItemIDs
    /// Re-ranking mode: score only these items (then k ≤ candidates.count).
    public var candidates: ItemIDs
    /// External ids only: drop unknown ids instead of failing with INVALID_ARGUMENT.
    public var skipUnknown: Bool
    public var includeEmbedding: Bool

    // Version 2 options (docs/PROTOCOL.md §6.7); sending any of them needs a version 2 connection.

    /// Opaque session key, 0…64 bytes (empty = none): routes A/B splits and worker affinity.
    public var sessionKey: [UInt8]
    /// Rule filters; nil = the model's defaults.
    public var filters: RecommendFilters?
    /// MMR re-ranking; nil = the plain ranking.
    public var diversity: RecommendDiversity?
    /// Popularity fallback for an empty or unknown session: true on, false off, nil the model's default.
    /// With `true` the session may be empty.
    public var fallback: Bool?
    /// 0 = no explanations; 1…3 = report that many top contributing session items per returned item.
    public var explainContributors: Int

    public init(
        session: ItemIDs, k: Int = 10, modelName: String = "", modelVersion: UInt32 = 0,
        excludeSeen: Bool = false, allow: ItemIDs? = nil, deny: ItemIDs? = nil,
        candidates: ItemIDs? = nil, skipUnknown: Bool = false, includeEmbedding: Bool = false,
        sessionKey: [UInt8] = [], filters: RecommendFilters? = nil, diversity: RecommendDiversity? = nil,
        fallback: Bool? = nil, explainContributors: Int = 0
    ) {
        let external = session.isExternal
        self.session = session
        self.k = k
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.excludeSeen = excludeSeen
        self.allow = allow ?? .empty(external: external)
        self.deny = deny ?? .empty(external: external)
        self.candidates = candidates ?? .empty(external: external)
        self.skipUnknown = skipUnknown
        self.includeEmbedding = includeEmbedding
        self.sessionKey = sessionKey
        self.filters = filters
        self.diversity = diversity
        self.fallback = fallback
        self.explainContributors = explainContributors
    }

    public var usesExternalIDs: Bool { session.isExternal }

    public var options: RecommendOptions {
        var options: RecommendOptions = []
        if usesExternalIDs { options.insert(.externalIDs) }
        if excludeSeen { options.insert(.excludeSeen) }
        if skipUnknown { options.insert(.skipUnknown) }
        if includeEmbedding { options.insert(.wantEmbedding) }
        return options
    }

    /// Whether the session may be empty: on version 2 unless the request turns the fallback off
    /// (absent: the model's default decides, in the server, which refuses it when that is off).
    func allowsEmptySession(version: UInt16) -> Bool { version >= 2 && fallback != false }

    /// Checks what the receiver will check, so a sender fails before writing bad bytes. On a version 1
    /// connection any version 2 option is `requiresVersion2`.
    public func validate(limits: ProtocolLimits = .default, version: UInt16 = 1) throws(ProtocolError) {
        let nameLength = modelName.utf8.count
        guard nameLength <= limits.maxStringBytes else {
            throw .stringTooLong(field: "model_name", length: nameLength, limit: limits.maxStringBytes)
        }
        try validateOptions(version: version, limits: limits)
        guard session.count >= 1 || allowsEmptySession(version: version) else { throw .invalidValue(field: "n_session", value: 0) }
        try session.validate(field: "session", limit: limits.maxSessionItems, limits: limits)
        for (field, list) in [("allow", allow), ("deny", deny), ("candidates", candidates)] {
            guard list.isExternal == usesExternalIDs || list.isEmpty else {
                throw .invalidValue(field: "\(field) id space", value: list.isExternal ? 1 : 0)
            }
            try list.validate(field: field, limit: limits.maxListItems, limits: limits)
        }
        try Self.checkK(k, candidateCount: candidates.count, limits: limits)
    }

    private static func checkK(_ k: Int, candidateCount: Int, limits: ProtocolLimits) throws(ProtocolError) {
        let maximum = candidateCount > 0 ? min(limits.maxK, candidateCount) : limits.maxK
        guard k >= 1, k <= maximum else { throw .kOutOfRange(k: k, maximum: maximum) }
    }

    /// Writes the version 1 body (a request with version 2 options is a bug here: `validate` says so).
    public func encode(into bytes: inout [UInt8]) {
        encode(version: 1, into: &bytes)
    }

    /// Writes the body in the layout of `version`. Lists in the other id space than the session must
    /// be empty, `k` must fit u16, and options need version 2: `validate(limits:version:)` checks all.
    public func encode(version: UInt16, into bytes: inout [UInt8]) {
        precondition(version >= 2 || !hasExtensions, "version 2 options on a version 1 connection")
        precondition(k >= 0 && k <= Int(UInt16.max), "k \(k) does not fit u16")
        bytes.appendU8(options.rawValue)
        bytes.appendU16(UInt16(k))
        bytes.appendString16(modelName)
        bytes.appendU32(modelVersion)
        session.encodeCounted(into: &bytes)
        for list in [allow, deny, candidates] {
            precondition(list.isEmpty || list.isExternal == usesExternalIDs, "id lists mix id spaces")
            list.encodeCounted(into: &bytes)
        }
        if version >= 2 { encodeExtensions(into: &bytes) }
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        try self.init(decoding: body, limits: limits, version: 1)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits, version: UInt16) throws(ProtocolError) {
        self.init(session: .internal([]))
        try decode(body, limits: limits, version: version)
    }

    /// Decodes `body` (in the layout of the connection's negotiated `version`) into this value,
    /// reusing the capacity of its id arrays and session key: the server's hot path keeps one request
    /// value per worker and allocates nothing for internal-id requests without filters. After a
    /// thrown error the value's contents are unspecified (but valid).
    public mutating func decode(
        _ body: ArraySlice<UInt8>, limits: ProtocolLimits = .default, version: UInt16 = 1
    ) throws(ProtocolError) {
        var reader = BodyReader(body)
        let options = RecommendOptions(rawValue: try reader.readU8("options"))
        guard RecommendOptions.defined.isSuperset(of: options) else {
            throw .invalidValue(field: "options", value: Int(options.rawValue))
        }
        let external = options.contains(.externalIDs)
        let k = Int(try reader.readU16("k"))
        modelName = try reader.readString16("model_name", maxBytes: limits.maxStringBytes)
        modelVersion = try reader.readU32("model_version")
        try session.decodeCounted(
            external: external, field: "session", limit: limits.maxSessionItems, limits: limits, from: &reader)
        guard !session.isEmpty || version >= 2 else { throw .invalidValue(field: "n_session", value: 0) }
        try allow.decodeCounted(
            external: external, field: "allow", limit: limits.maxListItems, limits: limits, from: &reader)
        try deny.decodeCounted(
            external: external, field: "deny", limit: limits.maxListItems, limits: limits, from: &reader)
        try candidates.decodeCounted(
            external: external, field: "candidates", limit: limits.maxListItems, limits: limits, from: &reader)
        if version >= 2 {
            try decodeExtensions(from: &reader, limits: limits)
        } else {
            clearExtensions()
        }
        try reader.finish(Self.frameType)
        // An empty session is allowed unless the extensions turn the fallback off.
        guard !session.isEmpty || allowsEmptySession(version: version) else { throw .invalidValue(field: "n_session", value: 0) }
        try Self.checkK(k, candidateCount: candidates.count, limits: limits)
        if let diversity { try Self.checkDiversity(diversity, k: k) }
        self.k = k
        excludeSeen = options.contains(.excludeSeen)
        skipUnknown = options.contains(.skipUnknown)
        includeEmbedding = options.contains(.wantEmbedding)
    }
}

// RECOMMEND_RESPONSE body (docs/PROTOCOL.md §6.3).
//
//   str16 model_name | u32 model_version | u8 flags (bit 0 external ids)
//   u32 n, id[n], f32le[n] scores | u32 width, f32le[width] embedding
//   version 2: extension block (§6.6) with FALLBACK and EXPLANATIONS (ResponseExtensions.swift)

/// The top-k answer to a RECOMMEND: items best first, their scores, and optionally the session
/// embedding.
public struct RecommendResponse: FrameBody, Equatable {
    public static let frameType = FrameType.recommendResponse

    /// The model that served the request.
    public var modelName: String
    public var modelVersion: UInt32
    /// Same id space as the request.
    public var items: ItemIDs
    /// `scores[i]` is the score of `items[i]`.
    public var scores: [Float]
    /// The session embedding; empty when not requested.
    public var embedding: [Float]
    /// Version 2: the items are the popularity fallback, not the model's answer (FALLBACK).
    public var usedFallback: Bool
    /// Version 2: one explanation per item when the request asked for them (EXPLANATIONS); else nil.
    public var explanations: [Explanation]?

    public init(modelName: String, modelVersion: UInt32, items: ItemIDs, scores: [Float], embedding: [Float] = [],
                usedFallback: Bool = false, explanations: [Explanation]? = nil) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.items = items
        self.scores = scores
        self.embedding = embedding
        self.usedFallback = usedFallback
        self.explanations = explanations
    }

    /// Writes the version 1 body (no fallback flag, no explanations: version 1 cannot carry them).
    public func encode(into bytes: inout [UInt8]) {
        encode(version: 1, into: &bytes)
    }

    /// Writes the body in the layout of `version`; items and scores must have the same count, and so
    /// must explanations when present (a server bug otherwise).
    public func encode(version: UInt16, into bytes: inout [UInt8]) {
        switch items {
        case .internal(let ids):
            Self.encodeBody(modelName: modelName, modelVersion: modelVersion, items: ids, scores: scores,
                            embedding: embedding, into: &bytes)
        case .external(let ids):
            precondition(ids.count == scores.count, "\(ids.count) items but \(scores.count) scores")
            Self.writePrefix(modelName: modelName, modelVersion: modelVersion, external: true, count: ids.count, into: &bytes)
            for id in ids { bytes.appendString16(id) }
            Self.writeSuffix(scores: scores, embedding: embedding, into: &bytes)
        }
        if version >= 2 {
            Self.writeExtensions(usedFallback: usedFallback, explanations: explanations, external: items.isExternal,
                                 itemCount: items.count, into: &bytes)
        }
    }

    /// Writes a whole RECOMMEND_RESPONSE frame with internal ids straight from the engine's
    /// buffers, without building a `RecommendResponse`. Inlinable, so callers in other modules get a
    /// copy specialised for their concrete collections: with a reused output array it allocates nothing
    /// (explanations, when asked for, are built by the caller). `version` is the connection's.
    @inlinable
    public static func encodeFrame(
        requestID: UInt32, modelName: String, modelVersion: UInt32,
        items: some Collection<UInt32>, scores: some Collection<Float>, embedding: some Collection<Float>,
        version: UInt16 = 1, usedFallback: Bool = false, explanations: [Explanation]? = nil,
        into bytes: inout [UInt8]
    ) {
        let start = bytes.count
        FrameHeader(type: frameType, requestID: requestID).encode(bodyLength: 0, into: &bytes)
        encodeBody(modelName: modelName, modelVersion: modelVersion, items: items, scores: scores,
                   embedding: embedding, into: &bytes)
        if version >= 2 {
            writeExtensions(usedFallback: usedFallback, explanations: explanations, external: false,
                            itemCount: items.count, into: &bytes)
        }
        bytes.patchFrameLength(frameStart: start)
    }

    /// The same with external ids: `externalID` maps each internal id to its vocabulary token. The
    /// closure is non-escaping and the tokens are only read, so this allocates nothing either.
    @inlinable
    public static func encodeFrame(
        requestID: UInt32, modelName: String, modelVersion: UInt32,
        items: some Collection<UInt32>, scores: some Collection<Float>, embedding: some Collection<Float>,
        version: UInt16 = 1, usedFallback: Bool = false, explanations: [Explanation]? = nil,
        externalID: (UInt32) -> String, into bytes: inout [UInt8]
    ) {
        precondition(items.count == scores.count, "\(items.count) items but \(scores.count) scores")
        let start = bytes.count
        FrameHeader(type: frameType, requestID: requestID).encode(bodyLength: 0, into: &bytes)
        writePrefix(modelName: modelName, modelVersion: modelVersion, external: true, count: items.count, into: &bytes)
        for id in items { bytes.appendString16(externalID(id)) }
        writeSuffix(scores: scores, embedding: embedding, into: &bytes)
        if version >= 2 {
            writeExtensions(usedFallback: usedFallback, explanations: explanations, external: true,
                            itemCount: items.count, into: &bytes)
        }
        bytes.patchFrameLength(frameStart: start)
    }

    @inlinable
    static func encodeBody(
        modelName: String, modelVersion: UInt32, items: some Collection<UInt32>, scores: some Collection<Float>,
        embedding: some Collection<Float>, into bytes: inout [UInt8]
    ) {
        precondition(items.count == scores.count, "\(items.count) items but \(scores.count) scores")
        writePrefix(modelName: modelName, modelVersion: modelVersion, external: false, count: items.count, into: &bytes)
        bytes.appendU32s(items)
        writeSuffix(scores: scores, embedding: embedding, into: &bytes)
    }

    @inlinable
    static func writePrefix(
        modelName: String, modelVersion: UInt32, external: Bool, count: Int, into bytes: inout [UInt8]
    ) {
        bytes.appendString16(modelName)
        bytes.appendU32(modelVersion)
        bytes.appendU8(external ? 1 : 0)
        bytes.appendCount32(count)
    }

    @inlinable
    static func writeSuffix(scores: some Collection<Float>, embedding: some Collection<Float>, into bytes: inout [UInt8]) {
        bytes.appendFloatsLE(scores)
        bytes.appendCount32(embedding.count)
        bytes.appendFloatsLE(embedding)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        try self.init(decoding: body, limits: limits, version: 1)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits, version: UInt16) throws(ProtocolError) {
        var reader = BodyReader(body)
        modelName = try reader.readString16("model_name", maxBytes: limits.maxStringBytes)
        modelVersion = try reader.readU32("model_version")
        let flags = try reader.readU8("flags")
        guard flags <= 1 else { throw .invalidValue(field: "flags", value: Int(flags)) }
        let external = flags == 1
        // Each item is followed later by its 4-byte score, so every item needs ≥ 7 or 8 bytes.
        let count = try reader.readCount("items", limit: limits.maxK, minimumElementSize: external ? 7 : 8)
        var items = ItemIDs.internal([])
        try items.decodeElements(count, external: external, field: "items", limits: limits, from: &reader)
        self.items = items
        scores = try reader.readFloatsLE(count, field: "scores")
        let width = try reader.readCount("embedding", limit: limits.maxEmbeddingWidth, minimumElementSize: 4)
        embedding = try reader.readFloatsLE(width, field: "embedding")
        usedFallback = false
        explanations = nil
        if version >= 2 { try decodeExtensions(from: &reader, limits: limits) }
        try reader.finish(Self.frameType)
    }
}

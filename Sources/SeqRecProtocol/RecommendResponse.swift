// RECOMMEND_RESPONSE body (docs/PROTOCOL.md §6.3).
//
//   str16 model_name | u32 model_version | u8 flags (bit 0 external ids)
//   u32 n, id[n], f32le[n] scores | u32 width, f32le[width] embedding

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

    public init(modelName: String, modelVersion: UInt32, items: ItemIDs, scores: [Float], embedding: [Float] = []) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.items = items
        self.scores = scores
        self.embedding = embedding
    }

    /// Writes the body; items and scores must have the same count (a server bug otherwise).
    public func encode(into bytes: inout [UInt8]) {
        precondition(items.count == scores.count, "\(items.count) items but \(scores.count) scores")
        bytes.appendString16(modelName)
        bytes.appendU32(modelVersion)
        bytes.appendU8(items.isExternal ? 1 : 0)
        items.encodeCounted(into: &bytes)
        bytes.appendFloatsLE(scores)
        bytes.appendCount32(embedding.count)
        bytes.appendFloatsLE(embedding)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        modelName = try reader.readString16("model_name", maxBytes: limits.maxStringBytes)
        modelVersion = try reader.readU32("model_version")
        let flags = try reader.readU8("flags")
        guard flags <= 1 else { throw .invalidValue(field: "flags", value: Int(flags)) }
        let external = flags == 1
        // Each item is followed later by its 4-byte score, so every item needs ≥ 7 or 8 bytes.
        let count = try reader.readCount("items", limit: limits.maxK, minimumElementSize: external ? 7 : 8)
        items = try ItemIDs.decodeElements(count, external: external, field: "items", limits: limits, from: &reader)
        scores = try reader.readFloatsLE(count, field: "scores")
        let width = try reader.readCount("embedding", limit: limits.maxEmbeddingWidth, minimumElementSize: 4)
        embedding = try reader.readFloatsLE(width, field: "embedding")
        try reader.finish(Self.frameType)
    }
}

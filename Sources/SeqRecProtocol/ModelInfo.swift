// MODEL_INFO / MODEL_LIST (docs/PROTOCOL.md §6.4–§6.5).

/// MODEL_INFO (client → server): one model by name, or every model when the name is empty.
public struct ModelInfoRequest: FrameBody, Equatable {
    public static let frameType = FrameType.modelInfo

    public var modelName: String

    public init(modelName: String = "") {
        self.modelName = modelName
    }

    public func encode(into bytes: inout [UInt8]) {
        bytes.appendString16(modelName)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        modelName = try reader.readString16("model_name", maxBytes: limits.maxStringBytes)
        try reader.finish(Self.frameType)
    }
}

/// What a client needs to know to call one loaded model.
public struct ModelDescription: Sendable, Equatable {
    public var name: String
    public var version: UInt32
    /// Family id, e.g. `recbole-sasrec`.
    public var family: String
    /// Number of scorable items.
    public var itemCount: UInt32
    /// Smallest scorable internal id: scorable ids are `firstItemID ..< firstItemID + itemCount`
    /// (1 for models that keep row 0 for padding).
    public var firstItemID: UInt32
    /// Items beyond this many (the oldest) do not influence the answer; `UInt32.max` = unlimited.
    public var maxSessionLength: UInt32
    public var embeddingWidth: UInt32
    public var hasVocabulary: Bool
    public var isDefault: Bool

    public init(
        name: String, version: UInt32, family: String, itemCount: UInt32, maxSessionLength: UInt32,
        embeddingWidth: UInt32, hasVocabulary: Bool, isDefault: Bool, firstItemID: UInt32 = 0
    ) {
        self.name = name
        self.version = version
        self.family = family
        self.itemCount = itemCount
        self.firstItemID = firstItemID
        self.maxSessionLength = maxSessionLength
        self.embeddingWidth = embeddingWidth
        self.hasVocabulary = hasVocabulary
        self.isDefault = isDefault
    }
}

/// MODEL_LIST (server → client).
public struct ModelListResponse: FrameBody, Equatable {
    public static let frameType = FrameType.modelList

    public var models: [ModelDescription]

    public init(models: [ModelDescription]) {
        self.models = models
    }

    public func encode(into bytes: inout [UInt8]) {
        precondition(models.count <= Int(UInt16.max), "too many models")
        bytes.appendU16(UInt16(models.count))
        for model in models {
            bytes.appendString16(model.name)
            bytes.appendU32(model.version)
            bytes.appendString16(model.family)
            bytes.appendU32(model.itemCount)
            bytes.appendU32(model.firstItemID)
            bytes.appendU32(model.maxSessionLength)
            bytes.appendU32(model.embeddingWidth)
            bytes.appendU8((model.hasVocabulary ? 1 : 0) | (model.isDefault ? 2 : 0))
        }
    }

    /// Smallest encoded model: two empty strings (4) + five u32 (20) + flags (1).
    private static let minimumModelSize = 25

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        let count = try reader.readCount16("models", limit: limits.maxModels, minimumElementSize: Self.minimumModelSize)
        var models = [ModelDescription]()
        models.reserveCapacity(count)  // safe: count ≤ maxModels and backed by body bytes
        for index in 0..<count {
            let name = try reader.readString16("models[\(index)].name", maxBytes: limits.maxStringBytes)
            let version = try reader.readU32("models[\(index)].version")
            let family = try reader.readString16("models[\(index)].family", maxBytes: limits.maxStringBytes)
            let itemCount = try reader.readU32("models[\(index)].n_items")
            let firstItemID = try reader.readU32("models[\(index)].first_item")
            let maxSessionLength = try reader.readU32("models[\(index)].max_session_length")
            let embeddingWidth = try reader.readU32("models[\(index)].embedding_width")
            let flags = try reader.readU8("models[\(index)].flags")
            guard flags <= 3 else { throw .invalidValue(field: "models[\(index)].flags", value: Int(flags)) }
            models.append(ModelDescription(
                name: name, version: version, family: family, itemCount: itemCount,
                maxSessionLength: maxSessionLength, embeddingWidth: embeddingWidth,
                hasVocabulary: flags & 1 != 0, isDefault: flags & 2 != 0, firstItemID: firstItemID))
        }
        self.models = models
        try reader.finish(Self.frameType)
    }
}

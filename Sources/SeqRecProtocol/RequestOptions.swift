// The options of a version 2 RECOMMEND (docs/PROTOCOL.md §6.7) and their extension encoding.
//
//   FILTERS    u8 available_only | u16 n, str16[n] include | u16 n, str16[n] exclude | u16 max_per_category
//   DIVERSITY  f32le lambda | u16 pool
//   FALLBACK   u8 mode          EXPLAIN  u8 max_contributors        SESSION_KEY  1…64 opaque bytes

/// Rule filters of a request (the FILTERS extension).
public struct RecommendFilters: Sendable, Equatable {
    /// true: only available, unexpired items; false: all items; nil: the model's default (on when
    /// the model has item attributes).
    public var availableOnly: Bool?
    /// Non-empty: only items in at least one of these categories.
    public var categoriesInclude: [String]
    /// Never return items in any of these categories (wins over include).
    public var categoriesExclude: [String]
    /// 0 = no cap; else at most this many returned items per category (1…1,000).
    public var maxPerCategory: Int

    public init(availableOnly: Bool? = nil, categoriesInclude: [String] = [], categoriesExclude: [String] = [],
                maxPerCategory: Int = 0) {
        self.availableOnly = availableOnly
        self.categoriesInclude = categoriesInclude
        self.categoriesExclude = categoriesExclude
        self.maxPerCategory = maxPerCategory
    }

    /// Largest FILTERS value: 7 fixed bytes and two full category lists.
    static let maximumLength = 7 + 2 * ExtensionLimits.maxFilterCategories * (2 + ExtensionLimits.maxCategoryBytes)
}

/// MMR re-ranking of a request (the DIVERSITY extension).
public struct RecommendDiversity: Sendable, Equatable {
    /// Trade-off in [0, 1]: 1 = relevance only, 0 = diversity only.
    public var lambda: Float
    /// How many of the best eligible items are re-ranked: 0 = the server's default, else k…1,000.
    public var pool: Int

    public init(lambda: Float, pool: Int = 0) {
        self.lambda = lambda
        self.pool = pool
    }
}

extension RecommendRequest {
    /// Whether any option needs a version 2 connection.
    public var hasExtensions: Bool {
        !sessionKey.isEmpty || filters != nil || diversity != nil || fallback != nil || explainContributors > 0
    }

    /// Sender-side checks of the options (what `decodeExtensions` enforces on the receiver).
    func validateOptions(version: UInt16, limits: ProtocolLimits) throws(ProtocolError) {
        if version < 2 {
            for (set, name) in [(!sessionKey.isEmpty, "SESSION_KEY"), (filters != nil, "FILTERS"),
                                (diversity != nil, "DIVERSITY"), (fallback != nil, "FALLBACK"),
                                (explainContributors > 0, "EXPLAIN")] where set {
                throw .requiresVersion2(option: name)
            }
            return
        }
        guard sessionKey.count <= ExtensionLimits.maxSessionKeyBytes else {
            throw .stringTooLong(field: "extension SESSION_KEY", length: sessionKey.count,
                                 limit: ExtensionLimits.maxSessionKeyBytes)
        }
        if let filters {
            for (field, list) in [("categories_include", filters.categoriesInclude),
                                  ("categories_exclude", filters.categoriesExclude)] {
                var categoryLimits = limits
                categoryLimits.maxStringBytes = ExtensionLimits.maxCategoryBytes
                try ItemIDs.external(list).validate(field: "extension FILTERS.\(field)",
                                                    limit: ExtensionLimits.maxFilterCategories, limits: categoryLimits)
            }
            try Self.checkCap(filters.maxPerCategory)
        }
        if let diversity { try Self.checkDiversity(diversity, k: k) }
        guard (0...ExtensionLimits.maxContributors).contains(explainContributors) else {
            throw .outOfRange(field: "extension EXPLAIN.max_contributors", value: "\(explainContributors)",
                              allowed: "1...\(ExtensionLimits.maxContributors)")
        }
    }

    static func checkCap(_ cap: Int) throws(ProtocolError) {
        guard (0...ExtensionLimits.maxPerCategory).contains(cap) else {
            throw .outOfRange(field: "extension FILTERS.max_per_category", value: "\(cap)",
                              allowed: "0 (no cap) ... \(ExtensionLimits.maxPerCategory)")
        }
    }

    static func checkDiversity(_ diversity: RecommendDiversity, k: Int) throws(ProtocolError) {
        guard diversity.lambda >= 0, diversity.lambda <= 1 else {  // also false for NaN
            throw .outOfRange(field: "extension DIVERSITY.lambda", value: "\(diversity.lambda)", allowed: "[0, 1]")
        }
        guard diversity.pool == 0 || (k...ExtensionLimits.maxDiversityPool).contains(diversity.pool) else {
            throw .outOfRange(field: "extension DIVERSITY.pool", value: "\(diversity.pool)",
                              allowed: "0 (server default) or k = \(k) ... \(ExtensionLimits.maxDiversityPool)")
        }
    }

    /// Writes the extension block: the present options in ascending type order.
    func encodeExtensions(into bytes: inout [UInt8]) {
        var present: UInt16 = sessionKey.isEmpty ? 0 : 1
        if filters != nil { present += 1 }
        if diversity != nil { present += 1 }
        if fallback != nil { present += 1 }
        if explainContributors > 0 { present += 1 }
        bytes.appendU16(present)
        if !sessionKey.isEmpty {
            bytes.appendExtension(type: RequestExtensionType.sessionKey.rawValue) { $0.append(contentsOf: sessionKey) }
        }
        if let filters {
            bytes.appendExtension(type: RequestExtensionType.filters.rawValue) { value in
                value.appendU8(filters.availableOnly.map { $0 ? 1 : 0 } ?? 2)
                for list in [filters.categoriesInclude, filters.categoriesExclude] {
                    value.appendU16(UInt16(list.count))
                    for category in list { value.appendString16(category) }
                }
                value.appendU16(UInt16(filters.maxPerCategory))
            }
        }
        if let diversity {
            bytes.appendExtension(type: RequestExtensionType.diversity.rawValue) { value in
                value.appendF32LE(diversity.lambda)
                value.appendU16(UInt16(diversity.pool))
            }
        }
        if let fallback {
            bytes.appendExtension(type: RequestExtensionType.fallback.rawValue) { $0.appendU8(fallback ? 1 : 0) }
        }
        if explainContributors > 0 {
            bytes.appendExtension(type: RequestExtensionType.explain.rawValue) { $0.appendU8(UInt8(explainContributors)) }
        }
    }

    /// Resets every option to absent, keeping the session key's capacity.
    mutating func clearExtensions() {
        sessionKey.removeAll(keepingCapacity: true)
        filters = nil
        diversity = nil
        fallback = nil
        explainContributors = 0
    }

    /// Reads the extension block into the options (cleared first). Allocates nothing when the block
    /// is empty or holds only a session key that fits the reused capacity.
    mutating func decodeExtensions(from reader: inout BodyReader, limits: ProtocolLimits) throws(ProtocolError) {
        clearExtensions()
        var block = try ExtensionBlockReader(from: &reader)
        while var value = try block.next(from: &reader, maximumLength: { type in
            switch RequestExtensionType(rawValue: type) {
            case .sessionKey: ExtensionLimits.maxSessionKeyBytes
            case .filters: RecommendFilters.maximumLength
            case .diversity: 6
            case .fallback, .explain: 1
            case nil: nil
            }
        }) {
            // safe: `next` returns only types its closure knows.
            let type = RequestExtensionType(rawValue: value.type)!
            switch type {
            case .sessionKey:
                guard value.reader.remaining > 0 else { throw .emptyString(field: "extension SESSION_KEY") }
                sessionKey.append(contentsOf: try value.reader.readSlice(value.reader.remaining, field: "extension SESSION_KEY"))
            case .filters:
                filters = try Self.decodeFilters(from: &value.reader)
            case .diversity:
                let lambda = try value.reader.readF32LE("extension DIVERSITY.lambda")
                let pool = Int(try value.reader.readU16("extension DIVERSITY.pool"))
                diversity = RecommendDiversity(lambda: lambda, pool: pool)
            case .fallback:
                let mode = try value.reader.readU8("extension FALLBACK.mode")
                guard mode <= 1 else { throw .invalidValue(field: "extension FALLBACK.mode", value: Int(mode)) }
                fallback = mode == 1
            case .explain:
                let count = Int(try value.reader.readU8("extension EXPLAIN.max_contributors"))
                guard (1...ExtensionLimits.maxContributors).contains(count) else {
                    throw .outOfRange(field: "extension EXPLAIN.max_contributors", value: "\(count)",
                                      allowed: "1...\(ExtensionLimits.maxContributors)")
                }
                explainContributors = count
            }
            try value.reader.finishExtension(type.name)
        }
    }

    private static func decodeFilters(from reader: inout BodyReader) throws(ProtocolError)
        -> RecommendFilters
    {
        let available = try reader.readU8("extension FILTERS.available_only")
        guard available <= 2 else { throw .invalidValue(field: "extension FILTERS.available_only", value: Int(available)) }
        var filters = RecommendFilters(availableOnly: available == 2 ? nil : available == 1)
        for field in ["categories_include", "categories_exclude"] {
            let name = "extension FILTERS.\(field)"
            let count = try reader.readCount16(name, limit: ExtensionLimits.maxFilterCategories, minimumElementSize: 3)
            var list: [String] = []
            try reader.readStrings16(count, field: name, maxBytes: ExtensionLimits.maxCategoryBytes, into: &list)
            if field == "categories_include" { filters.categoriesInclude = list } else { filters.categoriesExclude = list }
        }
        filters.maxPerCategory = Int(try reader.readU16("extension FILTERS.max_per_category"))
        try checkCap(filters.maxPerCategory)
        return filters
    }
}

/// One recommendation request in internal item ids. Any value can be built; `Recommender.validate` and
/// every `InferenceContext.recommend` check it against the model (rules below) before it runs.
/// - `items`: 1 or more ids from the model's input ids (`ModelInfo.inputItems`); any length (only the
///   newest `maxSessionLength` are used).
/// - `k`: 1…`maxK`; in candidate mode also ≤ the number of distinct candidates.
/// - `allow`, `deny`, `candidates`: ids from the recommendable ids `firstItem ..< firstItem + itemCount`
///   (padding and special rows are not recommendable, so they are errors, not silently dropped); any
///   length. Duplicates are allowed and count once: a duplicated candidate is scored once.
/// - `filters`: rule filters over the model's item attributes (`ItemFilters`: availability and expiry,
///   categories to include/exclude, a per-category cap); checked by `ItemFilters.validate`.
public struct SessionQuery: Sendable {
    /// The session, oldest first.
    public var items: [Int32]
    /// How many items to return (1…`SessionQuery.maxK`).
    public var k: Int
    /// Never return items that occur in the session.
    public var excludeSeen = false
    /// When set, only these items may be returned.
    public var allow: [Int32]?
    /// Items never to return.
    public var deny: [Int32] = []
    /// Candidate (re-ranking) mode: score only these items.
    public var candidates: [Int32]?
    /// Also return the session embedding (the readout vector the items are scored against).
    public var includeEmbedding = false
    /// Rule filters over the model's item attributes; the default returns only available, unexpired
    /// items once the model has attributes (and changes nothing for a model without).
    public var filters = ItemFilters()

    public static let maxK = 1000

    public init(items: [Int32], k: Int = 10) {
        self.items = items
        self.k = k
    }
}

/// The answer to a `SessionQuery`: items best first, their raw scores, and the optional embedding.
/// Reused across batches: its arrays keep their capacity.
public struct Recommendation: Sendable, Equatable {
    public var items: [Int32] = []
    public var scores: [Float] = []
    public var embedding: [Float] = []

    public init() {}
}

/// Why a request cannot be served. Every case is the caller's mistake (a server answers
/// INVALID_ARGUMENT for all of them); `field` names the offending part of the query, `description`
/// says what was wrong and what to send instead.
public struct RecommendError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        /// The session has no items.
        case emptySession
        /// An id outside the range its list allows: session ids outside the model's input ids; allow,
        /// deny and candidate ids outside the recommendable ids `firstItem ..< firstItem + itemCount`
        /// (padding and special rows such as RecBole's `[PAD]` or BERT4Rec's `[MASK]` included).
        case itemOutOfRange
        /// `k` outside 1…`SessionQuery.maxK`, or larger than the number of distinct candidates.
        case kOutOfRange
        /// Candidate mode with an empty candidate list.
        case emptyCandidates
        /// An external id that is not in the model's vocabulary (and unknown ids are not skipped).
        case unknownItem
        /// External ids for a model without a vocabulary.
        case noVocabulary
        /// A rule filter out of range: too many or malformed category names, or a per-category cap
        /// outside 1…`SessionQuery.maxK`.
        case invalidFilter
    }

    public let code: Code
    /// The query field at fault: "session", "k", "allow", "deny", "candidates", "tokens",
    /// "filters.categories_include", "filters.categories_exclude", "filters.max_per_category", with
    /// "queries[i]." in front when a batch was checked.
    public let field: String
    public let description: String

    init(_ code: Code, field: String, _ problem: String) {
        self.code = code
        self.field = field
        description = "\(field): \(problem)"
    }

    /// The same error, located in element `index` of a batch.
    func inBatch(at index: Int) -> RecommendError {
        RecommendError(code, field: "queries[\(index)].\(field)", String(description.dropFirst(field.count + 2)))
    }
}

/// What a loaded model serves.
public struct ModelInfo: Sendable, Equatable {
    public let name: String
    public let family: String
    /// Number of items that can be recommended (padding/mask rows excluded).
    public let itemCount: Int
    /// Smallest recommendable internal id: recommendable ids are `firstItem ..< firstItem + itemCount`.
    public let firstItem: Int
    /// Ids a session may contain (RecBole: 1 ..< n_items, padding excluded; BERT4Rec also excludes MASK).
    public let inputItems: Range<Int>
    /// Items beyond this many (the oldest) do not influence the answer; `Int.max` when unlimited.
    public let maxSessionLength: Int
    public let embeddingWidth: Int
    public let hasVocabulary: Bool
}

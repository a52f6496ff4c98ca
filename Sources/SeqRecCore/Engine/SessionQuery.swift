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
/// - `items` may be empty only with `fallback` on a model that has a popularity ranking
///   (`ModelInfo.hasPopularity`); the answer is then the most popular items (`Recommendation.usedFallback`).
/// - `diversity`: `lambda` finite in 0…1, `k` ≤ `pool` ≤ `SessionQuery.maxK` (see `DiversityOptions`).
/// - `explain`: at most `SessionQuery.maxExplainedItems` distinct items in the session's window.
/// docs/OPERATIONS.md "Answers" gives the semantics of diversity, fallback and explanations.
public struct SessionQuery: Sendable {
    /// The session, oldest first (empty only for a fallback answer).
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
    /// Re-rank the best `pool` items for diversity (maximal marginal relevance); nil = plain top k.
    public var diversity: DiversityOptions?
    /// Cold start: when `items` is empty, answer the model's most popular items (still filtered) instead
    /// of an `emptySession` error. Servers resolve a request without the option to the model's default.
    public var fallback = false
    /// For every returned item, the session items whose removal lowers its score the most
    /// (`Recommendation.because`): one extra batch of leave-one-out sessions through the model.
    public var explain = false

    public static let maxK = 1000
    /// Most distinct items an explained session's window may hold (each costs one extra session).
    public static let maxExplainedItems = 256

    public init(items: [Int32], k: Int = 10) {
        self.items = items
        self.k = k
    }
}

/// Maximal marginal relevance over the best `pool` items (after every filter): items are picked one by
/// one, each maximising `lambda · relevance − (1 − lambda) · max cosine similarity to the items already
/// picked`, where relevance is the score min-max normalised over the pool and similarity the cosine of
/// the model's output item embeddings (its scoring table rows). `lambda` 1 keeps the plain top k order,
/// 0 ignores the scores after the first pick.
public struct DiversityOptions: Sendable, Equatable {
    /// Weight of relevance against novelty, finite in 0…1.
    public var lambda: Float
    /// How many of the best items MMR chooses from: `k` … `SessionQuery.maxK`.
    public var pool: Int

    public static let defaultPool = 200

    public init(lambda: Float, pool: Int = DiversityOptions.defaultPool) {
        self.lambda = lambda
        self.pool = pool
    }
}

/// One session item's share in a recommended item's score: `contribution` is the exact score drop of
/// that item when every occurrence of `item` is removed from the session (positive: it pushed the item up).
public struct Contribution: Sendable, Equatable {
    public var item: Int32
    public var contribution: Float

    public init(item: Int32, contribution: Float) {
        self.item = item
        self.contribution = contribution
    }
}

/// The answer to a `SessionQuery`: items best first, their raw scores, and the optional embedding.
/// Reused across batches: its arrays keep their capacity (so answering allocates nothing in steady state).
public struct Recommendation: Sendable, Equatable {
    public var items: [Int32] = []
    /// The model's raw scores of `items`; with diversity they are in pick order, not descending. In a
    /// fallback answer they are the items' popularity (training interactions).
    public var scores: [Float] = []
    public var embedding: [Float] = []
    /// The session was empty and the answer is the most popular items (`SessionQuery.fallback`).
    public var usedFallback = false
    /// With `SessionQuery.explain`: `contributorsPerItem` entries per returned item, item i's at
    /// `i · contributorsPerItem ..< (i + 1) · contributorsPerItem`, largest contribution first.
    public var because: [Contribution] = []
    /// min(`Recommendation.maxContributors`, distinct session items that can be left out); 0 when not
    /// explained (or the session has a single distinct item: there is no shorter session to compare with).
    public var contributorsPerItem = 0

    public static let maxContributors = 3

    /// The top contributors of `items[index]`, largest first.
    public func because(ofItem index: Int) -> ArraySlice<Contribution> {
        because[index * contributorsPerItem ..< (index + 1) * contributorsPerItem]
    }

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
        /// Diversity options out of range: `lambda` not in 0…1, `pool` not in k…`SessionQuery.maxK`.
        case diversityOutOfRange
        /// A fallback answer was needed but the model has no popularity ranking.
        case noPopularity
        /// Explanations asked for a session with more than `SessionQuery.maxExplainedItems` distinct items.
        case tooManyToExplain
    }

    public let code: Code
    /// The query field at fault: "session", "k", "allow", "deny", "candidates", "tokens",
    /// "filters.categories_include", "filters.categories_exclude", "filters.max_per_category",
    /// "diversity.lambda", "diversity.pool", "fallback", "explain", with
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
    /// The model file has a popularity ranking (`seqrec convert --popularity`): fallback answers work.
    public let hasPopularity: Bool
}

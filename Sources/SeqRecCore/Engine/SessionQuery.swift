/// One recommendation request in internal item ids.
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

/// Why a request cannot be served; the message names the bad field.
public struct RecommendError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// What a loaded model serves.
public struct ModelInfo: Sendable, Equatable {
    public let name: String
    public let family: String
    /// Number of items that can be recommended (padding/mask rows excluded).
    public let itemCount: Int
    /// Smallest recommendable internal id: recommendable ids are `firstItem ..< firstItem + itemCount`.
    public let firstItem: Int
    /// Items beyond this many (the oldest) do not influence the answer; `Int.max` when unlimited.
    public let maxSessionLength: Int
    public let embeddingWidth: Int
    public let hasVocabulary: Bool
}

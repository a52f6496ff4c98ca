// The seam between the server and a model: what the event loop needs to validate a request and
// what a worker thread needs to run a batch. `Recommender` satisfies it through
// `RecommenderBackend`; tests use small fakes with controllable timing.
import SeqRecCore

/// What MODEL_LIST and RECOMMEND_RESPONSE say about a served model.
package struct ServedModelInfo: Sendable, Equatable {
    package var name: String
    package var version: UInt32
    package var family: String
    package var itemCount: Int
    /// Smallest recommendable internal id (RecBole models keep row 0 for padding: 1).
    package var firstItemID: Int
    package var maxSessionLength: Int
    package var embeddingWidth: Int
    package var hasVocabulary: Bool

    package init(name: String, version: UInt32 = 1, family: String, itemCount: Int, firstItemID: Int = 0,
                 maxSessionLength: Int, embeddingWidth: Int, hasVocabulary: Bool) {
        self.name = name
        self.version = version
        self.family = family
        self.itemCount = itemCount
        self.firstItemID = firstItemID
        self.maxSessionLength = maxSessionLength
        self.embeddingWidth = embeddingWidth
        self.hasVocabulary = hasVocabulary
    }
}

/// One request's answer. Buffers are reused between requests (capacity kept).
package struct ScoredItems: Sendable {
    package var items: [Int32] = []
    package var scores: [Float] = []
    package var embedding: [Float] = []

    package init() {}
}

/// A rejected request: the message goes to the client as INVALID_ARGUMENT.
package struct QueryRejection: Error, Sendable {
    package let message: String

    package init(_ message: String) { self.message = message }
}

/// A loaded model, shared by the event loop (validation) and all workers.
package protocol InferenceBackend: AnyObject, Sendable {
    var info: ServedModelInfo { get }
    /// Throws `QueryRejection` for anything the model cannot run (bad id, k out of range, ...).
    func validate(_ query: SessionQuery) throws(QueryRejection)
    /// Internal ids of vocabulary tokens; unknown tokens are dropped or rejected.
    func itemIDs(ofTokens tokens: [String], skipUnknown: Bool) throws(QueryRejection) -> [Int32]
    /// The vocabulary token of an internal id (only called when `info.hasVocabulary`).
    func token(of item: Int32) -> String?
    /// A per-thread runner with its own workspace.
    func makeWorker() -> any InferenceWorker
}

/// Runs batches for one model on one thread; never shared between threads.
package protocol InferenceWorker: AnyObject {
    /// Runs up to max-batch validated queries as one batch; `results[i]` answers `queries[i]`.
    /// `results` has at least `queries.count` elements whose buffers should be reused.
    func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [ScoredItems])
    /// Sessions this worker looked up in its state cache and resumed from it, so far (nil: no cache).
    var stateCacheStatistics: (lookups: Int, hits: Int)? { get }
}

extension InferenceWorker {
    var stateCacheStatistics: (lookups: Int, hits: Int)? { nil }
}

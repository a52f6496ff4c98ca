// The seam between the server and a model: what the event loop needs to validate a request and
// what a worker thread needs to run a batch. `Recommender` satisfies it through
// `RecommenderBackend`; tests use small fakes with controllable timing.
import SeqRecCore
import SeqRecProtocol

/// One request's answer. Buffers are reused between requests (capacity kept).
package struct ScoredItems: Sendable {
    package var items: [Int32] = []
    package var scores: [Float] = []
    package var embedding: [Float] = []
    /// The engine's `Recommendation.usedFallback`, `because` and `contributorsPerItem` (protocol v2
    /// FALLBACK / EXPLANATIONS; docs/PROTOCOL.md §6.8).
    package var usedFallback = false
    package var because: [Contribution] = []
    package var contributorsPerItem = 0

    package init() {}
}

/// A rejected request: the message goes to the client as INVALID_ARGUMENT.
package struct QueryRejection: Error, Sendable {
    package let message: String

    package init(_ message: String) { self.message = message }
}

/// A loaded model, shared by the event loop (validation) and all workers.
package protocol InferenceBackend: AnyObject, Sendable {
    /// What MODEL_LIST and RECOMMEND_RESPONSE say about the model (`isDefault` is the server's to set).
    var info: ModelDescription { get }
    /// Throws `QueryRejection` for anything the model cannot run (bad id, k out of range, ...).
    func validate(_ query: SessionQuery) throws(QueryRejection)
    /// Appends the internal ids of vocabulary tokens to `ids` (without allocating once `ids` has room);
    /// unknown tokens are dropped or rejected.
    func appendItemIDs(ofTokens tokens: [String], skipUnknown: Bool, into ids: inout [Int32]) throws(QueryRejection)
    /// The vocabulary token of an internal id (only called when `info.hasVocabulary`).
    func token(of item: Int32) -> String?
    /// The item's title from the vocabulary (JSON answers; default nil).
    func title(of item: Int32) -> String?
    /// A per-thread runner with its own workspace.
    func makeWorker() -> any InferenceWorker
    /// The model's state cache, shared by all workers (nil: none); read when /metrics is scraped.
    var stateCacheUsage: StateCacheUsage? { get }
    /// The reduced table the model's scans read first ("int8"; nil: fp32 only), for `seqrec_scan_*`.
    var scanTable: String? { get }
}

extension InferenceBackend {
    var stateCacheUsage: StateCacheUsage? { nil }
    var scanTable: String? { nil }
}

/// Runs batches for one model on one thread; never shared between threads.
package protocol InferenceWorker: AnyObject {
    /// Runs up to max-batch validated queries as one batch; `results[i]` answers `queries[i]`.
    /// `results` has at least `queries.count` elements whose buffers should be reused.
    func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [ScoredItems])
    /// Sessions this worker looked up in the model's state cache and resumed from it, so far (nil: no cache).
    var stateCacheStatistics: (lookups: Int, hits: Int)? { get }
    /// What this worker's exact reduced-table scans did so far (nil: the model has no reduced table).
    var exactScanStatistics: ExactScanStatistics? { get }
}

extension InferenceBackend {
    package func title(of item: Int32) -> String? { nil }
}

extension InferenceWorker {
    var stateCacheStatistics: (lookups: Int, hits: Int)? { nil }
    var exactScanStatistics: ExactScanStatistics? { nil }
}

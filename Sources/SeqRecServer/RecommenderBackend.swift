// Adapts SeqRecCore's `Recommender` to the server's backend seam. Each worker owns one
// `InferenceContext` and one result array, whose buffers move back and forth with the request
// slots (swap, no copy).
import SeqRecCore
import SeqRecProtocol

package final class RecommenderBackend: InferenceBackend {
    package let recommender: Recommender
    package let info: ModelDescription

    /// `version`: the version it is served as (a repository directory's number; 1 for --model files).
    package init(_ recommender: Recommender, version: UInt32 = 1) {
        self.recommender = recommender
        let model = recommender.info
        info = ModelDescription(
            name: model.name, version: version, family: model.family, itemCount: UInt32(clamping: model.itemCount),
            maxSessionLength: UInt32(clamping: model.maxSessionLength), embeddingWidth: UInt32(clamping: model.embeddingWidth),
            hasVocabulary: model.hasVocabulary, isDefault: false, firstItemID: UInt32(clamping: model.firstItem))
    }

    package var stateCacheUsage: StateCacheUsage? { recommender.stateCacheUsage }
    package var scanTable: String? { recommender.reducedScanTable }

    package func validate(_ query: SessionQuery) throws(QueryRejection) {
        do {
            try recommender.validate(query)
        } catch {
            throw QueryRejection(error.description)
        }
    }

    package func appendItemIDs(ofTokens tokens: [String], skipUnknown: Bool, into ids: inout [Int32]) throws(QueryRejection) {
        guard let vocabulary = recommender.vocabulary else {
            throw QueryRejection("external ids: model '\(info.name)' has no vocabulary; send internal ids")
        }
        for token in tokens {
            if let id = vocabulary.id(ofToken: token) {
                ids.append(Int32(truncatingIfNeeded: id))
            } else if !skipUnknown {
                throw QueryRejection("external ids: unknown item '\(token.prefix(64))'")
            }
        }
    }

    package func token(of item: Int32) -> String? { recommender.token(of: item) }

    package func title(of item: Int32) -> String? { recommender.vocabulary?.title(of: Int(item)) }

    package func makeWorker() -> any InferenceWorker { RecommenderWorker(recommender.makeContext()) }
}

private final class RecommenderWorker: InferenceWorker {
    private let context: InferenceContext
    /// Grows to the largest batch seen and never shrinks (the engine's contract), so buffers are reused.
    private var recommendations: [Recommendation] = []

    init(_ context: InferenceContext) { self.context = context }

    var stateCacheStatistics: (lookups: Int, hits: Int)? { context.stateCacheStatistics }
    var exactScanStatistics: ExactScanStatistics? { context.exactScanStatistics }

    func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [ScoredItems]) {
        do {
            try context.recommend(queries, into: &recommendations)
        } catch {
            // Unreachable while the event loop validates every query with this recommender before it is
            // queued; were one to slip through, the batch answers no items rather than trapping.
            for index in 0..<queries.count {
                results[index].items.removeAll(keepingCapacity: true)
                results[index].scores.removeAll(keepingCapacity: true)
                results[index].embedding.removeAll(keepingCapacity: true)
                results[index].because.removeAll(keepingCapacity: true)
                results[index].usedFallback = false
                results[index].contributorsPerItem = 0
            }
            return
        }
        for index in 0..<queries.count {
            // The slot's previous buffers go to the engine for the next batch.
            swap(&results[index].items, &recommendations[index].items)
            swap(&results[index].scores, &recommendations[index].scores)
            swap(&results[index].embedding, &recommendations[index].embedding)
            swap(&results[index].because, &recommendations[index].because)
            results[index].usedFallback = recommendations[index].usedFallback
            results[index].contributorsPerItem = recommendations[index].contributorsPerItem
        }
    }
}

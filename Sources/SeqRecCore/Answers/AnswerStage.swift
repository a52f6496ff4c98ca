// What a context does to a query's answer after (or instead of) scoring: the cold-start fallback for an
// empty session, MMR over the scorer's pool, leave-one-out explanations. docs/OPERATIONS.md "Answers".

/// One context's answer stage. Not thread-safe (one per `InferenceContext`); allocation-free in steady
/// state (the explainer's buffers are allocated on the context's first explained query).
final class AnswerStage {
    private let recommender: Recommender
    private let contextWorkspace: Workspace
    private let diversity: DiversityReranker
    private let fallback: FallbackSelector?
    private var explainer: LeaveOneOutExplainer?

    init(_ recommender: Recommender, workspace: Workspace) {
        self.recommender = recommender
        contextWorkspace = workspace
        diversity = DiversityReranker(table: recommender.scoring)
        fallback = recommender.popularity.map { FallbackSelector(ranking: $0, rows: recommender.scoring.rows) }
    }

    /// Resets the answer fields of a result the scorer filled (or is about to fill).
    static func reset(_ result: inout Recommendation) {
        result.usedFallback = false
        result.because.removeAll(keepingCapacity: true)
        result.contributorsPerItem = 0
    }

    /// The answer to a validated query with an empty session (validation proved fallback and popularity).
    /// `catalogue`: the model's item attributes at `now`, for the query's filters.
    func answerFallback(_ query: SessionQuery, into result: inout Recommendation, kernels: Kernels,
                        catalogue: CatalogueSnapshot?, now: Int64) {
        Self.reset(&result)
        result.embedding.removeAll(keepingCapacity: true)
        guard let fallback else { return }   // unreachable: validation requires `hasPopularity`
        fallback.select(query, into: &result, catalogue: catalogue, now: now)
        if let options = query.diversity {
            diversity.rerank(&result, k: query.k, lambda: options.lambda, kernels: kernels)
        }
        result.usedFallback = true
    }

    /// MMR and explanations for the scorer's answer (its pool: `query.selectionDepth` items) to a
    /// validated, non-empty query. Runs after the batch is scored: the context's workspace is free.
    func finish(_ query: SessionQuery, _ result: inout Recommendation, kernels: Kernels) {
        Self.reset(&result)
        if let options = query.diversity {
            diversity.rerank(&result, k: query.k, lambda: options.lambda, kernels: kernels)
        }
        if query.explain { explainerForModel()?.explain(query, &result, kernels: kernels) }
    }

    /// Variants run through the model without a state cache: models with one get a second, cache-less
    /// binding and workspace (built once), others reuse this context's encoder and workspace.
    private func explainerForModel() -> LeaveOneOutExplainer? {
        if let explainer { return explainer }
        let main = recommender.encoder
        let hasCache = main.stateCacheStatistics(contextWorkspace) != nil
        guard let encoder = hasCache ? recommender.uncached.encoder(recommender.file, maxBatch: recommender.maxBatch) : main
        else { return nil }
        let workspace = hasCache ? Workspace(encoder.workspaceLayout) : contextWorkspace
        let made = LeaveOneOutExplainer(encoder: encoder, workspace: workspace, table: recommender.scoring,
                                        window: main.window, maxBatch: recommender.maxBatch)
        explainer = made
        return made
    }
}

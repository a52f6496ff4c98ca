// One thread's inference state: workspace, readout buffer and scorer, sized once for `maxBatch`.

/// Runs batches for one `Recommender`. Not thread-safe: use one context per thread.
public final class InferenceContext {
    public let recommender: Recommender
    private let kernels: Kernels
    private let workspace: Workspace
    private let readout: UnsafeMutablePointer<Float>
    private let scorer: CatalogScorer

    init(_ recommender: Recommender) {
        self.recommender = recommender
        kernels = Kernels(recommender.kernels)
        let encoder = recommender.encoder
        workspace = Workspace(encoder.workspaceLayout)
        readout = .allocate(capacity: recommender.maxBatch * encoder.scoring.width)
        readout.initialize(repeating: 0, count: recommender.maxBatch * encoder.scoring.width)
        scorer = CatalogScorer(table: recommender.scoring, maxBatch: recommender.maxBatch)
    }

    deinit { readout.deallocate() }

    /// Runs validated queries (see `Recommender.validate`) in batches of up to `maxBatch`.
    /// `results[i]` answers `queries[i]`; `results` grows to at least `queries.count` elements and never
    /// shrinks, so every element's buffers are reused by later calls (no allocation in steady state).
    public func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [Recommendation]) {
        if results.count < queries.count {
            results.append(contentsOf: repeatElement(Recommendation(), count: queries.count - results.count))
        }
        let width = recommender.encoder.scoring.width
        var start = queries.startIndex
        while start < queries.endIndex {
            let end = Swift.min(start + recommender.maxBatch, queries.endIndex)
            let batch = queries[start..<end]
            recommender.encoder.encode(batch, workspace: workspace, into: readout, kernels: kernels)
            let offset = start - queries.startIndex
            scorer.select(batch, readout: readout, into: &results, offset: offset, kernels: kernels)
            for (b, query) in batch.enumerated() {
                results[offset + b].embedding.removeAll(keepingCapacity: true)
                if query.includeEmbedding {
                    results[offset + b].embedding.append(contentsOf: UnsafeBufferPointer(start: readout + b * width, count: width))
                }
            }
            start = end
        }
    }

    /// Convenience for one validated query (allocates its result).
    public func recommend(_ query: SessionQuery) -> Recommendation {
        var results: [Recommendation] = []
        recommend([query][...], into: &results)
        return results[0]
    }

    /// Sessions looked up in, and resumed from, this context's state cache (GRU states or SASRec keys and
    /// values); nil for models without one.
    public var stateCacheStatistics: (lookups: Int, hits: Int)? { recommender.encoder.stateCacheStatistics(workspace) }

    /// The raw score of every table row (padding row included) for one valid session: parity tests
    /// compare these with upstream's full score vectors.
    package func rawScores(session: [Int32]) -> [Float] {
        let encoder = recommender.encoder
        encoder.encode([SessionQuery(items: session)][...], workspace: workspace, into: readout, kernels: kernels)
        var scores = [Float](repeating: 0, count: encoder.scoring.rows)
        // safe: scores holds one float per table row, what scoreAll writes.
        scores.withUnsafeMutableBufferPointer { scorer.scoreAll(readout: readout, into: $0.baseAddress!, kernels: kernels) }
        return scores
    }
}

// One thread's inference state: workspace, readout buffer and scorer, sized once for `maxBatch`.

/// Runs batches for one `Recommender`. Not thread-safe: use one context per thread.
public final class InferenceContext {
    public let recommender: Recommender
    private let kernels: Kernels
    private let workspace: Workspace
    private let readout: UnsafeMutablePointer<Float>
    private let scorer: CatalogScorer
    /// This context's mark in the recommender's catalogue slot (lock-free reads of the attributes).
    private let catalogueReader: CatalogueSlot.Reader
    private let answers: AnswerStage

    init(_ recommender: Recommender) {
        self.recommender = recommender
        kernels = Kernels(recommender.kernels)
        let encoder = recommender.encoder
        workspace = Workspace(encoder.workspaceLayout)
        readout = .allocate(capacity: recommender.maxBatch * encoder.scoring.width)
        readout.initialize(repeating: 0, count: recommender.maxBatch * encoder.scoring.width)
        scorer = CatalogScorer(table: recommender.scoring, maxBatch: recommender.maxBatch, reduced: recommender.reducedScan,
                               scanThreads: recommender.scanThreads)
        catalogueReader = recommender.catalogue.register()
        answers = AnswerStage(recommender, workspace: workspace)
    }

    deinit {
        readout.deallocate()
        recommender.catalogue.unregister(catalogueReader)
    }

    /// Runs queries in batches of up to `maxBatch`. Every query is validated first (`Recommender.validate`):
    /// if one is invalid, nothing runs and the error names it ("queries[3].deny: ..."), `results` untouched.
    /// `results[i]` answers `queries[i]`; `results` grows to at least `queries.count` elements and never
    /// shrinks, so every element's buffers are reused by later calls (no allocation in steady state).
    /// Scores are finite: an item whose score is not (finite weights that overflow Float) is never returned.
    public func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [Recommendation]) throws(RecommendError) {
        for (index, query) in zip(0..., queries) {
            do { try recommender.validate(query) } catch { throw error.inBatch(at: index) }
        }
        runValidated(queries, into: &results)
    }

    /// The batch loop. Callers have validated every query: the encoder and scorer index tables and
    /// bitsets with their ids unchecked. Empty sessions (validated fallback answers) never reach the
    /// encoder: a batch is a run of non-empty sessions, and each empty one is answered on its own.
    private func runValidated(_ queries: ArraySlice<SessionQuery>, into results: inout [Recommendation]) {
        if results.count < queries.count {
            results.append(contentsOf: repeatElement(Recommendation(), count: queries.count - results.count))
        }
        let width = recommender.encoder.scoring.width
        var start = queries.startIndex
        while start < queries.endIndex {
            if queries[start].items.isEmpty {
                recommender.catalogue.read(catalogueReader) { catalogue in
                    answers.answerFallback(queries[start], into: &results[start - queries.startIndex], kernels: kernels,
                                           catalogue: catalogue, now: catalogue == nil ? 0 : recommender.catalogue.now)
                }
                start += 1
                continue
            }
            var end = start + 1
            while end < Swift.min(start + recommender.maxBatch, queries.endIndex) && !queries[end].items.isEmpty { end += 1 }
            let batch = queries[start..<end]
            recommender.encoder.encode(batch, workspace: workspace, into: readout, kernels: kernels)
            let offset = start - queries.startIndex
            recommender.catalogue.read(catalogueReader) { catalogue in
                scorer.select(batch, readout: readout, into: &results, offset: offset, kernels: kernels,
                              catalogue: catalogue, now: catalogue == nil ? 0 : recommender.catalogue.now)
            }
            for (b, query) in batch.enumerated() {
                results[offset + b].embedding.removeAll(keepingCapacity: true)
                answers.finish(query, &results[offset + b], kernels: kernels)
                if query.includeEmbedding {
                    results[offset + b].embedding.append(contentsOf: UnsafeBufferPointer(start: readout + b * width, count: width))
                }
            }
            start = end
        }
    }

    /// Convenience for one query (validated; allocates its result).
    public func recommend(_ query: SessionQuery) throws(RecommendError) -> Recommendation {
        try recommender.validate(query)
        var results: [Recommendation] = []
        runValidated([query][...], into: &results)
        return results[0]
    }

    /// Full-catalogue sessions this context answered from the int8 scan, and those that needed the fp32
    /// fallback (nil when the model is scanned in fp32 only). Servers export the sum over contexts.
    public var exactScanStatistics: ExactScanStatistics? { scorer.exactScanStatistics }

    /// Sessions looked up in, and resumed from, this context's state cache (GRU states or SASRec keys and
    /// values); nil for models without one.
    public var stateCacheStatistics: (lookups: Int, hits: Int)? { recommender.encoder.stateCacheStatistics(workspace) }

    /// The raw score of every table row (padding row included) for one session (validated as a query's
    /// session): parity tests compare these with upstream's full score vectors.
    package func rawScores(session: [Int32]) throws(RecommendError) -> [Float] {
        try recommender.validate(SessionQuery(items: session, k: 1))
        let encoder = recommender.encoder
        encoder.encode([SessionQuery(items: session)][...], workspace: workspace, into: readout, kernels: kernels)
        var scores = [Float](repeating: 0, count: encoder.scoring.rows)
        // safe: scores holds one float per table row, what scoreAll writes.
        scores.withUnsafeMutableBufferPointer { scorer.scoreAll(readout: readout, into: $0.baseAddress!, kernels: kernels) }
        return scores
    }
}

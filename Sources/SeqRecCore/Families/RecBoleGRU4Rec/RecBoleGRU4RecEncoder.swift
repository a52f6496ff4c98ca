// RecBole 1.2.x `GRU4Rec` (recbole/model/sequential_recommender/gru4rec.py), MODELS.md §5.
// A bias-free nn.GRU over the last L items from a zero state, then `dense` (D → E); scores are dot
// products with the input item table (row 0 = PAD is never returned).

final class RecBoleGRU4RecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleGRU4Rec.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let stack: GRUStack
    let dense: Linear
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let stackRegions: GRUStack.Regions
    private let finalState: Int

    var family: ModelFamily { .recboleGRU4Rec }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    /// `stateCache`: see `GRUStack.reserve`.
    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int, stateCache: StateCacheSettings) throws {
        configuration = config
        let e = config.embeddingSize, d = config.hiddenSize
        items = try binder.tensor("item_embedding.weight")
        stack = GRUStack(layers: try (0..<config.layers).map { k in
            .standard(try binder.gruLayer(RecBoleGRU4Rec.gruLayer(k)))
        }, inputWidth: e, inputTable: (items, config.itemRows))
        dense = try binder.linear("dense")
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: e, firstItem: 1)
        var layout = WorkspaceLayout()
        stackRegions = try stack.reserve(&layout, maxBatch: maxBatch, cache: stateCache)
        finalState = layout.reserve(maxBatch * d)
        workspaceLayout = layout
    }

    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? {
        stackRegions.cache?.counters.statistics(workspace)
    }

    var sharedStateCache: StateCache? { stackRegions.cache?.store }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let start = sessions.startIndex, window = configuration.maxLength, e = configuration.embeddingSize
        let state = workspace.region(finalState)
        stack.run(
            sessions: sessions.count,
            lengths: { Swift.min(sessions[start + $0].items.count, window) },
            item: { b, t in
                let items = sessions[start + b].items
                return Int(items[items.count - Swift.min(items.count, window) + t])
            },
            embed: { item, row in row.update(from: self.items + item * e, count: e) },
            workspace: workspace, regions: stackRegions, into: state, kernels: kernels)
        dense(rows: sessions.count, state, ldx: stack.outputWidth, into: readout, ldo: e, kernels: kernels)
    }
}

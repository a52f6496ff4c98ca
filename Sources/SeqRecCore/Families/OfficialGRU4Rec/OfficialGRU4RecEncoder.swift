// hidasib/GRU4Rec_PyTorch_Official `GRU4RecModel` (gru4rec_pytorch.py), MODELS.md §7.
// The whole session from a zero state through GRUCells with biases (or the one-hot GRU-embedding cell);
// scores are `h · Wy[i] + By[i]` over every item. There is no padding id: 0 is a real item.

final class OfficialGRU4RecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = OfficialGRU4Rec.Configuration

    let configuration: Configuration
    let inputTable: UnsafePointer<Float>
    let inputBias: UnsafePointer<Float>?
    let stack: GRUStack
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let stackRegions: GRUStack.Regions

    var family: ModelFamily { .gru4recOfficial }
    var window: Int { Int.max }
    var inputItems: Range<Int> { 0..<configuration.itemRows }

    /// `stateCache`: see `GRUStack.reserve`.
    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int, stateCache: StateCacheSettings) throws {
        configuration = config
        let n = config.itemRows, widths = config.layers, last = widths[widths.count - 1]
        let output = try binder.tensor("Wy.weight")
        scoring = ScoringTable(table: output, bias: try binder.tensor("By.weight"), rows: n, width: last,
                               firstItem: 0)
        var cells: [RecurrentCell] = []
        let inputWidth: Int
        switch config.embeddingMode {
        case .onehot:
            let d = widths[0]
            inputTable = try binder.tensor("GE.Wx0.weight")
            inputBias = try binder.tensor("GE.Bh0")
            cells.append(.embedding(GRUEmbeddingCell(recurrentWeights: try binder.tensor("GE.Wrz0"),
                                                     candidateWeights: try binder.tensor("GE.Wh0"),
                                                     hiddenWidth: d)))
            inputWidth = 3 * d
        case .separate:
            inputTable = try binder.tensor("E.weight")
            inputBias = nil
            inputWidth = config.embedding
        case .constrained:
            inputTable = output
            inputBias = nil
            inputWidth = last
        }
        if config.embeddingMode != .onehot {
            for j in widths.indices {
                cells.append(.standard(try binder.gruLayer(OfficialGRU4Rec.cell(j))))
            }
        }
        stack = GRUStack(layers: cells, inputWidth: inputWidth)
        var layout = WorkspaceLayout()
        stackRegions = try stack.reserve(&layout, maxBatch: maxBatch, cache: stateCache)
        workspaceLayout = layout
    }

    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? {
        stackRegions.cache?.counters.statistics(workspace)
    }

    var sharedStateCache: StateCache? { stackRegions.cache?.store }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let start = sessions.startIndex, width = stack.inputWidth
        stack.run(
            sessions: sessions.count,
            lengths: { sessions[start + $0].items.count },
            item: { b, t in Int(sessions[start + b].items[t]) },
            embed: { item, row in
                row.update(from: self.inputTable + item * width, count: width)
                if let bias = self.inputBias { kernels.add(count: width, bias, into: row) }
            },
            workspace: workspace, regions: stackRegions, into: readout, kernels: kernels)
    }
}

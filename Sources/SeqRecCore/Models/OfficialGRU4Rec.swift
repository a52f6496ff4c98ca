// hidasib/GRU4Rec_PyTorch_Official `GRU4RecModel` (gru4rec_pytorch.py), MODELS.md §7.
// The whole session from a zero state through GRUCells with biases (or the one-hot GRU-embedding cell);
// scores are `h · Wy[i] + By[i]` over every item. There is no padding id: 0 is a real item.

final class OfficialGRU4Rec: SequenceEncoder, @unchecked Sendable {
    /// How the input embedding is obtained (upstream `constrained_embedding` / `embedding`).
    enum EmbeddingMode: String {
        case constrained    // input = Wy[item] (tied with the output table)
        case separate       // input = E[item]
        case onehot         // layer 0 is the GRU-embedding cell over Wx0[item]
    }

    /// Hyperparameters under the upstream names; defaults are the GRU4Rec class defaults.
    struct Configuration {
        var layers = [100]                       // layers
        var embeddingMode = EmbeddingMode.constrained
        var embedding = 0                        // embedding (separate mode width)
        var itemRows = 0                         // n_items

        init() {}

        init(_ binder: WeightBinder) throws {
            guard let widths = binder.file.hyperparameters.ints("layers"), !widths.isEmpty, widths.allSatisfy({ $0 > 0 })
            else { throw ModelLoadError.hyperparameter("layers", "must be a non-empty list of positive widths") }
            layers = widths
            let mode = try binder.string("embedding_mode")
            guard let parsed = EmbeddingMode(rawValue: mode) else {
                throw ModelLoadError.hyperparameter("embedding_mode", "is '\(mode)', expected constrained, separate or onehot")
            }
            embeddingMode = parsed
            embedding = try binder.int("embedding", atLeast: 0)
            itemRows = try binder.int("n_items")
            if parsed == .onehot && widths.count != 1 {
                throw ModelLoadError.hyperparameter("layers", "must have one layer in onehot mode (as upstream)")
            }
        }
    }

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

    /// `stateCacheEntries`: see `GRUStack.reserve` (nil: up to 4,096 within 64 MiB).
    init(_ binder: WeightBinder, maxBatch: Int, stateCacheEntries: Int? = 0) throws {
        let config = try Configuration(binder)
        configuration = config
        let n = config.itemRows, widths = config.layers, last = widths[widths.count - 1]
        let output = try binder.tensor("Wy.weight", [n, last])
        scoring = ScoringTable(table: output, bias: try binder.tensor("By.weight", [n, 1]), rows: n, width: last,
                               firstItem: 0)
        var cells: [RecurrentCell] = []
        let inputWidth: Int
        switch config.embeddingMode {
        case .onehot:
            let d = widths[0]
            inputTable = try binder.tensor("GE.Wx0.weight", [n, 3 * d])
            inputBias = try binder.tensor("GE.Bh0", [3 * d])
            cells.append(.embedding(GRUEmbeddingCell(recurrentWeights: try binder.tensor("GE.Wrz0", [d, 2 * d]),
                                                     candidateWeights: try binder.tensor("GE.Wh0", [d, d]),
                                                     hiddenWidth: d)))
            inputWidth = 3 * d
        case .separate:
            inputTable = try binder.tensor("E.weight", [n, config.embedding])
            inputBias = nil
            inputWidth = config.embedding
        case .constrained:
            inputTable = output
            inputBias = nil
            inputWidth = last
        }
        if config.embeddingMode != .onehot {
            for (j, width) in widths.enumerated() {
                cells.append(.standard(try binder.gruLayer(
                    inputWeights: "G.\(j).weight_ih", hiddenWeights: "G.\(j).weight_hh", inputBias: "G.\(j).bias_ih",
                    hiddenBias: "G.\(j).bias_hh", input: j == 0 ? inputWidth : widths[j - 1], hidden: width)))
            }
        }
        stack = GRUStack(layers: cells, inputWidth: inputWidth)
        var layout = WorkspaceLayout()
        stackRegions = stack.reserve(&layout, maxBatch: maxBatch, cacheEntries: stateCacheEntries)
        workspaceLayout = layout
    }

    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? {
        stackRegions.cache?.counters.statistics(workspace)
    }

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

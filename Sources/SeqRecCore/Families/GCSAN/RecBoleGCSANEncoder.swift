// RecBole 1.2.x `GCSAN` (recbole/model/sequential_recommender/gcsan.py), MODELS-next.md §7.
// SR-GNN's session graph and gated graph steps (without the message biases), then RecBole's causal
// post-LN transformer over the slots' node states (no positions, no embedding LayerNorm); the readout
// mixes the last layer's newest row with the newest item's node. Scores: dot products with the item
// table (row 0 = PAD is never returned).

final class RecBoleGCSANEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleGCSAN.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let graph: SessionGraphPropagation
    let layers: [RecBoleTransformerLayer]
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let transformer: TransformerRegions
    private let attended: Int

    var family: ModelFamily { .recboleGCSAN }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let d = config.hiddenSize
        items = try binder.tensor("item_embedding.weight")
        layers = try RecBoleGCSAN.encoderKeys.bind(binder, layers: config.layers, width: d, heads: config.heads,
                                                  eps: config.layerNormEps, activation: config.activation, causal: true)
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: d, firstItem: 1)
        var layout = WorkspaceLayout()
        graph = SessionGraphPropagation(cell: try binder.gatedGraphCell(width: d, messageBiases: false),
                                        steps: config.steps, window: config.maxLength, width: d,
                                        maxBatch: maxBatch, layout: &layout)
        transformer = TransformerRegions(&layout, maxBatch: maxBatch, maxTokens: config.maxLength, hidden: d,
                                         inner: config.innerSize)
        attended = layout.reserve(maxBatch * d)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.hiddenSize, count = sessions.count
        let (graphs, h) = graph.run(sessions, items: items, workspace: workspace, kernels: kernels)

        // X_0: each slot's node state, as is; the sessions' slots are already packed row after row.
        let x = workspace.region(transformer.tokens), spans = workspace.intRegion(transformer.spans)
        for slot in 0..<graphs.slotCount { (x + slot * d).update(from: h + graphs.slotNodes[slot] * d, count: d) }
        for b in 0..<count {
            let span = graphs.slots(b)
            spans[2 * b] = span.start
            spans[2 * b + 1] = span.count
        }
        let layerScratch = RecBoleTransformerLayer.scratch(workspace, transformer.layer)
        for layer in layers.dropLast() {
            layer.forward(x, rows: graphs.slotCount, spans: spans, sessions: count, scratch: layerScratch, kernels: kernels)
        }
        let a = workspace.region(attended)
        // safe: the configuration guarantees n_layers ≥ 1.
        layers[layers.count - 1].forwardLastRows(x, rows: graphs.slotCount, spans: spans, sessions: count, into: a,
                                                 scratch: layerScratch, kernels: kernels)
        // u = ω·a_t + (1 − ω)·h_t
        for b in 0..<count {
            let u = readout + b * d, at = a + b * d, ht = h + graphs.lastNode(b) * d
            for j in 0..<d { u[j] = configuration.weight * at[j] + configuration.complement * ht[j] }
        }
    }
}

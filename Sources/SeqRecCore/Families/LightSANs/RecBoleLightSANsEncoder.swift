// RecBole 1.2.x `LightSANs` (recbole/model/sequential_recommender/lightsans.py), MODELS-next.md §8.
// LayerNorm of the raw item embeddings of all L slots of the right-padded window (PAD slots hold
// E[0] and take part), low-rank transformer layers with decoupled position attention, and the newest
// item's row of the last layer as the readout. Scores: dot products with the item table (row 0 = PAD
// is never returned).

final class RecBoleLightSANsEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleLightSANs.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let embeddingNorm: LayerNormLayer
    let layers: [LowRankTransformerLayer]
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let derived = DerivedWeights()
    private let tokens: Int
    private let readoutSlots: Int
    private let layerOffsets: [Int]

    var family: ModelFamily { .recboleLightSANs }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let d = config.hiddenSize, l = config.maxLength
        items = try binder.tensor("item_embedding.weight")
        embeddingNorm = try binder.layerNorm("LayerNorm", eps: config.layerNormEps)
        let positions = try binder.tensor("position_embedding.weight")
        let derived = derived
        layers = try (0..<config.layers).map {
            try binder.lowRankTransformerLayer(index: $0, width: d, heads: config.heads, interests: config.interests,
                                               slots: l, eps: config.layerNormEps, activation: config.activation,
                                               positions: positions, derived: derived)
        }
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: d, firstItem: 1)
        var layout = WorkspaceLayout()
        tokens = layout.reserve(maxBatch * l * d)
        layerOffsets = LowRankTransformerLayer.reserve(&layout, rows: maxBatch * l, slots: l, hidden: d,
                                                       inner: config.innerSize, interests: config.interests)
        readoutSlots = layout.reserveInts(maxBatch)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.hiddenSize, l = configuration.maxLength
        let x = workspace.region(tokens), newest = workspace.intRegion(readoutSlots)
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: l), block = x + b * l * d
            for (j, item) in window.enumerated() { (block + j * d).update(from: items + Int(item) * d, count: d) }
            for j in window.count..<l { (block + j * d).update(from: items, count: d) }  // PAD slots: E[0]
            newest[b] = window.count - 1
        }
        embeddingNorm(rows: sessions.count * l, x, ldx: d, into: x, ldo: d, kernels: kernels)
        let scratch = LowRankTransformerLayer.scratch(workspace, layerOffsets)
        for layer in layers.dropLast() { layer.forward(x, sessions: sessions.count, scratch: scratch, kernels: kernels) }
        // safe: the configuration guarantees n_layers ≥ 1.
        layers[layers.count - 1].forwardReadout(x, sessions: sessions.count, readoutSlot: { newest[$0] },
                                                into: readout, scratch: scratch, kernels: kernels)
    }
}

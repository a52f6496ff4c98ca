// RecBole 1.2.x `SASRec` (recbole/model/sequential_recommender/sasrec.py), MODELS.md §3.
// Post-LN BERT layers over the last L items with causal attention; the newest item's row is the
// readout and scores are dot products with the tied item table (row 0 = PAD is never returned).

final class RecBoleSASRec: SequenceEncoder, @unchecked Sendable {
    /// Hyperparameters under RecBole's names; defaults are RecBole's.
    struct Configuration {
        var hiddenSize = 64                 // hidden_size
        var innerSize = 256                 // inner_size
        var layers = 2                      // n_layers
        var heads = 2                       // n_heads
        var activation = Activation.gelu    // hidden_act
        var layerNormEps: Float = 1e-12     // layer_norm_eps
        var maxLength = 50                  // MAX_ITEM_LIST_LENGTH
        var itemRows = 0                    // n_items (PAD included)

        init() {}

        init(_ binder: WeightBinder) throws {
            hiddenSize = try binder.int("hidden_size")
            innerSize = try binder.int("inner_size")
            layers = try binder.int("n_layers")
            heads = try binder.int("n_heads")
            let act = try binder.string("hidden_act")
            guard let parsed = Activation(rawValue: act) else {
                throw ModelLoadError.hyperparameter("hidden_act", "is '\(act)', expected gelu, relu, swish, tanh or sigmoid")
            }
            activation = parsed
            layerNormEps = try binder.float("layer_norm_eps")
            maxLength = try binder.int("MAX_ITEM_LIST_LENGTH")
            itemRows = try binder.int("n_items", atLeast: 2)
            guard hiddenSize % heads == 0 else { throw ModelLoadError.hyperparameter("n_heads", "must divide hidden_size") }
        }
    }

    let configuration: Configuration
    let embedding: TransformerEmbedding
    let layers: [RecBoleTransformerLayer]
    let scoring: ScoringTable
    let maxBatch: Int
    let workspaceLayout: WorkspaceLayout
    private let regions: TransformerRegions

    var family: ModelFamily { .recboleSASRec }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ binder: WeightBinder, maxBatch: Int) throws {
        let config = try Configuration(binder)
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight", [config.itemRows, h])
        embedding = TransformerEmbedding(
            items: items, positions: try binder.tensor("position_embedding.weight", [config.maxLength, h]),
            norm: try binder.layerNorm("LayerNorm", width: h, eps: config.layerNormEps), width: h)
        layers = try (0..<config.layers).map {
            try RecBoleTransformerLayer(binder, index: $0, hidden: h, inner: config.innerSize, heads: config.heads,
                                        eps: config.layerNormEps, activation: config.activation, causal: true)
        }
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: h, firstItem: 1)
        self.maxBatch = maxBatch
        var layout = WorkspaceLayout()
        regions = TransformerRegions(&layout, maxBatch: maxBatch, maxTokens: config.maxLength, hidden: h,
                                     inner: config.innerSize)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let x = workspace.region(regions.tokens)
        let spans = workspace.intRegion(regions.spans)
        var rows = 0
        for (b, session) in sessions.enumerated() {
            let tokens = recentItems(session.items, window: configuration.maxLength)
            spans[2 * b] = rows
            spans[2 * b + 1] = tokens.count
            for (position, item) in tokens.enumerated() {
                embedding.embed(item: Int(item), position: position, into: x + (rows + position) * embedding.width,
                                kernels: kernels)
            }
            rows += tokens.count
        }
        let scratch = RecBoleTransformerLayer.scratch(workspace, regions.layer)
        for layer in layers.dropLast() {
            layer.forward(x, rows: rows, spans: spans, sessions: sessions.count, scratch: scratch, kernels: kernels)
        }
        // safe: Configuration guarantees n_layers ≥ 1.
        layers[layers.count - 1].forwardLastRows(x, rows: rows, spans: spans, sessions: sessions.count,
                                                 into: readout, scratch: scratch, kernels: kernels)
    }
}

/// `X0[j] = LN(E[item] + Pos[j])` (RecBole's embedding stage, no scaling).
struct TransformerEmbedding {
    let items: UnsafePointer<Float>
    let positions: UnsafePointer<Float>
    let norm: LayerNormLayer
    let width: Int

    func embed(item: Int, position: Int, into row: UnsafeMutablePointer<Float>, kernels: Kernels) {
        row.update(from: items + item * width, count: width)
        kernels.add(count: width, positions + position * width, into: row)
        norm(rows: 1, row, ldx: width, into: row, ldo: width, kernels: kernels)
    }
}

/// Workspace regions shared by the RecBole transformer families.
struct TransformerRegions {
    let tokens: Int
    let spans: Int
    let layer: [Int]

    init(_ layout: inout WorkspaceLayout, maxBatch: Int, maxTokens: Int, hidden: Int, inner: Int) {
        let rows = maxBatch * maxTokens
        tokens = layout.reserve(rows * hidden)
        spans = layout.reserveInts(2 * maxBatch)
        layer = RecBoleTransformerLayer.reserve(&layout, rows: rows, maxTokens: maxTokens, hidden: hidden,
                                                inner: inner)
    }
}

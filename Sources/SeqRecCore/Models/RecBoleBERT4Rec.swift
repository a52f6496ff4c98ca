// RecBole 1.2.x `BERT4Rec` (recbole/model/sequential_recommender/bert4rec.py), MODELS.md §4.
// Input quirk: the oldest of the last min(n, L) items is dropped and MASK (id N) is appended; the
// MASK row goes through the output head (dense, erf-GELU, LayerNorm) and is scored with a bias.

final class RecBoleBERT4Rec: SequenceEncoder, @unchecked Sendable {
    /// Same hyperparameter names and defaults as SASRec (`RecBoleSASRec.Configuration`);
    /// `n_items` counts the MASK row, so N = n_items − 1 items are scored.
    typealias Configuration = RecBoleSASRec.Configuration

    let configuration: Configuration
    let embedding: TransformerEmbedding
    let layers: [RecBoleTransformerLayer]
    let outputDense: Linear
    let outputNorm: LayerNormLayer
    let scoring: ScoringTable
    let maxBatch: Int
    let workspaceLayout: WorkspaceLayout
    private let regions: TransformerRegions
    private let head: Int

    var family: ModelFamily { .recboleBERT4Rec }
    var window: Int { configuration.maxLength }
    var maskItem: Int { configuration.itemRows - 1 }
    var inputItems: Range<Int> { 1..<maskItem }

    init(_ binder: WeightBinder, maxBatch: Int) throws {
        let config = try Configuration(binder)
        guard config.itemRows >= 3 else { throw ModelLoadError.hyperparameter("n_items", "must count PAD, ≥ 1 item and MASK") }
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight", [config.itemRows, h])
        embedding = TransformerEmbedding(
            items: items, positions: try binder.tensor("position_embedding.weight", [config.maxLength, h]),
            norm: try binder.layerNorm("LayerNorm", width: h, eps: config.layerNormEps), width: h)
        layers = try (0..<config.layers).map {
            try RecBoleTransformerLayer(binder, index: $0, hidden: h, inner: config.innerSize, heads: config.heads,
                                        eps: config.layerNormEps, activation: config.activation, causal: false)
        }
        outputDense = try binder.linear("output_ffn", input: h, output: h)
        outputNorm = try binder.layerNorm("output_ln", width: h, eps: config.layerNormEps)
        let scored = config.itemRows - 1
        scoring = ScoringTable(table: items, bias: try binder.tensor("output_bias", [scored]), rows: scored,
                               width: h, firstItem: 1)
        self.maxBatch = maxBatch
        var layout = WorkspaceLayout()
        regions = TransformerRegions(&layout, maxBatch: maxBatch, maxTokens: config.maxLength, hidden: h,
                                     inner: config.innerSize)
        head = layout.reserve(maxBatch * h)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize
        let x = workspace.region(regions.tokens)
        let spans = workspace.intRegion(regions.spans)
        var rows = 0
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: configuration.maxLength)
            let kept = window.dropFirst()
            spans[2 * b] = rows
            spans[2 * b + 1] = kept.count + 1
            for (position, item) in kept.enumerated() {
                embedding.embed(item: Int(item), position: position, into: x + (rows + position) * h, kernels: kernels)
            }
            embedding.embed(item: maskItem, position: kept.count, into: x + (rows + kept.count) * h, kernels: kernels)
            rows += kept.count + 1
        }
        let scratch = RecBoleTransformerLayer.scratch(workspace, regions.layer)
        for layer in layers.dropLast() {
            layer.forward(x, rows: rows, spans: spans, sessions: sessions.count, scratch: scratch, kernels: kernels)
        }
        let maskRows = workspace.region(head)
        // safe: Configuration guarantees n_layers ≥ 1.
        layers[layers.count - 1].forwardLastRows(x, rows: rows, spans: spans, sessions: sessions.count,
                                                 into: maskRows, scratch: scratch, kernels: kernels)
        outputDense(rows: sessions.count, maskRows, ldx: h, into: readout, ldo: h, kernels: kernels)
        kernels.gelu(count: sessions.count * h, readout)
        outputNorm(rows: sessions.count, readout, ldx: h, into: readout, ldo: h, kernels: kernels)
    }
}

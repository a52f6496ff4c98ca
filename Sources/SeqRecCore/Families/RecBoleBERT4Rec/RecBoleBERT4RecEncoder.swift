// RecBole 1.2.x `BERT4Rec` (recbole/model/sequential_recommender/bert4rec.py), MODELS.md §4.
// Input quirk: the oldest of the last min(n, L) items is dropped and MASK (id N) is appended; the
// MASK row goes through the output head (dense, erf-GELU, LayerNorm) and is scored with a bias.

final class RecBoleBERT4RecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleBERT4Rec.Configuration

    let configuration: Configuration
    let stack: RecBoleTransformerStack
    let outputDense: Linear
    let outputNorm: LayerNormLayer
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let head: Int

    var family: ModelFamily { .recboleBERT4Rec }
    var window: Int { configuration.maxLength }
    var maskItem: Int { configuration.itemRows - 1 }
    var inputItems: Range<Int> { 1..<maskItem }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight")
        var layout = WorkspaceLayout()
        stack = try config.bindStack(binder, items: items, causal: false, maxBatch: maxBatch, layout: &layout)
        outputDense = try binder.linear("output_ffn")
        outputNorm = try binder.layerNorm("output_ln", eps: config.layerNormEps)
        let scored = config.itemRows - 1
        scoring = ScoringTable(table: items, bias: try binder.tensor("output_bias"), rows: scored,
                               width: h, firstItem: 1)
        head = layout.reserve(maxBatch * h)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize
        var rows = 0
        for (b, session) in sessions.enumerated() {
            // The oldest item of the window is dropped and MASK appended (§4.3).
            let kept = recentItems(session.items, window: configuration.maxLength).dropFirst()
            rows = stack.pack(session: b, items: kept, mask: maskItem, after: rows, workspace: workspace, kernels: kernels)
        }
        let maskRows = workspace.region(head)
        stack.run(sessions: sessions.count, rows: rows, workspace: workspace, into: maskRows, kernels: kernels)
        outputDense(rows: sessions.count, maskRows, ldx: h, into: readout, ldo: h, kernels: kernels)
        kernels.gelu(count: sessions.count * h, readout)
        outputNorm(rows: sessions.count, readout, ldx: h, into: readout, ldo: h, kernels: kernels)
    }
}

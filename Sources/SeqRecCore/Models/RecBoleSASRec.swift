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
    let stack: RecBoleTransformerStack
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout

    var family: ModelFamily { .recboleSASRec }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ binder: WeightBinder, maxBatch: Int) throws {
        let config = try Configuration(binder)
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight", [config.itemRows, h])
        var layout = WorkspaceLayout()
        stack = try RecBoleTransformerStack(binder, config, items: items, causal: true, maxBatch: maxBatch, layout: &layout)
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: h, firstItem: 1)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        var rows = 0
        for (b, session) in sessions.enumerated() {
            rows = stack.pack(session: b, items: recentItems(session.items, window: configuration.maxLength), mask: nil,
                              after: rows, workspace: workspace, kernels: kernels)
        }
        stack.run(sessions: sessions.count, rows: rows, workspace: workspace, into: readout, kernels: kernels)
    }
}

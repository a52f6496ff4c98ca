// RecBole's `TransformerEncoder` with its embedding stage (MODELS.md §2.4–2.5, §3.2, §4.2), shared by the
// families built on it: hyperparameters, tensor names and shapes, binding.

/// Hyperparameters of a RecBole transformer model under RecBole's names.
struct RecBoleTransformerConfiguration {
    let hiddenSize: Int             // hidden_size
    let innerSize: Int              // inner_size
    let layers: Int                 // n_layers
    let heads: Int                  // n_heads
    let activation: Activation      // hidden_act
    let layerNormEps: Float         // layer_norm_eps
    let maxLength: Int              // MAX_ITEM_LIST_LENGTH
    let itemRows: Int               // n_items (PAD, and MASK where the family has one, included)

    static let parameters = [
        FamilyParameter("hidden_size", .int), FamilyParameter("inner_size", .int), FamilyParameter("n_layers", .int),
        FamilyParameter("n_heads", .int), FamilyParameter("hidden_act", .string),
        FamilyParameter("layer_norm_eps", .float), FamilyParameter("MAX_ITEM_LIST_LENGTH", .int),
        FamilyParameter("n_items", .int),
    ]

    /// Training-only keys of the transformer models' configs.
    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["hidden_dropout_prob", "attn_dropout_prob"])

    /// `minimumLength`, `minimumRows`: the family's floors for the window and the item table.
    init(_ values: HyperparameterReader, minimumLength: Int64, minimumRows: Int64) throws(FormatError) {
        hiddenSize = try values.width("hidden_size")
        innerSize = try values.int("inner_size", 1 ... 4 * FamilyLimits.maxWidth)
        layers = try values.layers("n_layers")
        heads = try values.heads("n_heads", dividing: hiddenSize, widthKey: "hidden_size")
        activation = try values.choice("hidden_act", Activation.self)
        layerNormEps = try values.epsilon("layer_norm_eps")
        maxLength = try values.length("MAX_ITEM_LIST_LENGTH", minimum: minimumLength)
        itemRows = try values.items("n_items", minimum: minimumRows)
    }

    /// RecBole's SASRec and BERT4Rec keep the encoder's layers under `trm_encoder`.
    static let encoderKeys = RecBoleEncoderKeys(encoder: "trm_encoder")

    /// Item and position tables, the embedding norm and every layer, in canonical order.
    func addTensors(to table: inout TensorTable) {
        table.add("item_embedding.weight", itemRows, hiddenSize)
        table.add("position_embedding.weight", maxLength, hiddenSize)
        table.addLayerNorm("LayerNorm", width: hiddenSize)
        Self.encoderKeys.addTensors(layers: layers, width: hiddenSize, inner: innerSize, to: &table)
    }

    /// Binds the stack over `items` (the bound `item_embedding.weight`); `causal`: SASRec's mask.
    func bindStack(_ binder: WeightBinder, items: UnsafePointer<Float>, causal: Bool, maxBatch: Int,
                   layout: inout WorkspaceLayout) throws -> RecBoleTransformerStack {
        let embedding = TransformerEmbedding(items: items, positions: try binder.tensor("position_embedding.weight"),
                                             norm: try binder.layerNorm("LayerNorm", eps: layerNormEps),
                                             width: hiddenSize)
        let bound = try Self.encoderKeys.bind(binder, layers: layers, width: hiddenSize, heads: heads, eps: layerNormEps,
                                              activation: activation, causal: causal)
        return RecBoleTransformerStack(embedding: embedding, layers: bound, maxBatch: maxBatch, maxTokens: maxLength,
                                       layout: &layout)
    }
}

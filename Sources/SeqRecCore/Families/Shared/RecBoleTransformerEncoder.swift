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

    /// Item and position tables, the embedding norm and every layer, in canonical order.
    func addTensors(to table: inout TensorTable) {
        let width = hiddenSize
        table.add("item_embedding.weight", itemRows, width)
        table.add("position_embedding.weight", maxLength, width)
        table.addLayerNorm("LayerNorm", width: width)
        for layer in 0 ..< layers {
            let attention = Self.attentionPrefix(layer)
            for part in ["query", "key", "value", "dense"] {
                table.addLinear(attention + part, input: width, output: width)
            }
            table.addLayerNorm(attention + "LayerNorm", width: width)
            let feedForward = Self.feedForwardPrefix(layer)
            table.addLinear(feedForward + "dense_1", input: width, output: innerSize)
            table.addLinear(feedForward + "dense_2", input: innerSize, output: width)
            table.addLayerNorm(feedForward + "LayerNorm", width: width)
        }
    }

    private static func attentionPrefix(_ layer: Int) -> String { "trm_encoder.layer.\(layer).multi_head_attention." }
    private static func feedForwardPrefix(_ layer: Int) -> String { "trm_encoder.layer.\(layer).feed_forward." }

    /// Binds the stack over `items` (the bound `item_embedding.weight`); `causal`: SASRec's mask.
    func bindStack(_ binder: WeightBinder, items: UnsafePointer<Float>, causal: Bool, maxBatch: Int,
                   layout: inout WorkspaceLayout) throws -> RecBoleTransformerStack {
        let embedding = TransformerEmbedding(items: items, positions: try binder.tensor("position_embedding.weight"),
                                             norm: try binder.layerNorm("LayerNorm", eps: layerNormEps),
                                             width: hiddenSize)
        let bound = try (0 ..< layers).map { layer in
            let attention = Self.attentionPrefix(layer), feedForward = Self.feedForwardPrefix(layer)
            return RecBoleTransformerLayer(
                query: try binder.linear(attention + "query"), key: try binder.linear(attention + "key"),
                value: try binder.linear(attention + "value"), dense: try binder.linear(attention + "dense"),
                attentionNorm: try binder.layerNorm(attention + "LayerNorm", eps: layerNormEps),
                dense1: try binder.linear(feedForward + "dense_1"), dense2: try binder.linear(feedForward + "dense_2"),
                feedForwardNorm: try binder.layerNorm(feedForward + "LayerNorm", eps: layerNormEps),
                attention: Attention(heads: heads, headWidth: hiddenSize / heads, causal: causal,
                                     scaling: .afterProduct),
                activation: activation)
        }
        return RecBoleTransformerStack(embedding: embedding, layers: bound, maxBatch: maxBatch, maxTokens: maxLength,
                                       layout: &layout)
    }
}

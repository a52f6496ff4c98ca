// RecBole's `TransformerEncoder` layers (MODELS.md §2.4–2.5) stored under any key prefix: CORE keeps
// them under `net.trm_encoder`, GC-SAN under `self_attention` (MODELS-next.md §2.4). Tensor names and
// shapes are declared here once, and bound from the same names.

struct RecBoleEncoderKeys {
    /// The encoder's key prefix, without the trailing dot.
    let encoder: String

    private func attention(_ layer: Int) -> String { "\(encoder).layer.\(layer).multi_head_attention." }
    private func feedForward(_ layer: Int) -> String { "\(encoder).layer.\(layer).feed_forward." }

    /// Every layer's tensors, in RecBole's order.
    func addTensors(layers: Int, width: Int, inner: Int, to table: inout TensorTable) {
        for layer in 0 ..< layers {
            let attention = attention(layer)
            for part in ["query", "key", "value", "dense"] {
                table.add(attention + part + ".weight", width, width)
                table.add(attention + part + ".bias", width)
            }
            table.add(attention + "LayerNorm.weight", width)
            table.add(attention + "LayerNorm.bias", width)
            let feedForward = feedForward(layer)
            table.add(feedForward + "dense_1.weight", inner, width)
            table.add(feedForward + "dense_1.bias", inner)
            table.add(feedForward + "dense_2.weight", width, inner)
            table.add(feedForward + "dense_2.bias", width)
            table.add(feedForward + "LayerNorm.weight", width)
            table.add(feedForward + "LayerNorm.bias", width)
        }
    }

    /// The bound layers; `causal`: key j is visible to query i iff j ≤ i.
    func bind(_ binder: WeightBinder, layers: Int, width: Int, heads: Int, eps: Float, activation: Activation,
              causal: Bool) throws -> [RecBoleTransformerLayer] {
        try (0 ..< layers).map { layer in
            let attention = attention(layer), feedForward = feedForward(layer)
            return RecBoleTransformerLayer(
                query: try binder.linear(attention + "query"), key: try binder.linear(attention + "key"),
                value: try binder.linear(attention + "value"), dense: try binder.linear(attention + "dense"),
                attentionNorm: try binder.layerNorm(attention + "LayerNorm", eps: eps),
                dense1: try binder.linear(feedForward + "dense_1"), dense2: try binder.linear(feedForward + "dense_2"),
                feedForwardNorm: try binder.layerNorm(feedForward + "LayerNorm", eps: eps),
                attention: Attention(heads: heads, headWidth: width / heads, causal: causal, scaling: .afterProduct),
                activation: activation)
        }
    }
}

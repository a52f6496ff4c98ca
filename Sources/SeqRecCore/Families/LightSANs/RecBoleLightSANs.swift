// RecBole 1.2.x `LightSANs` (recbole/model/sequential_recommender/lightsans.py), MODELS-next.md §8.

extension ModelFamily {
    public static let recboleLightSANs = ModelFamily(declaring: "recbole-lightsans")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleLightSANs: Family {
    struct Configuration {
        let hiddenSize: Int             // hidden_size
        let layers: Int                 // n_layers
        let heads: Int                  // n_heads
        let interests: Int              // k_interests
        let innerSize: Int              // inner_size
        let activation: Activation      // hidden_act
        let layerNormEps: Float         // layer_norm_eps
        let maxLength: Int              // MAX_ITEM_LIST_LENGTH: the slots every session runs
        let itemRows: Int               // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleLightSANs]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("hidden_size", .int), FamilyParameter("n_layers", .int), FamilyParameter("n_heads", .int),
         FamilyParameter("k_interests", .int), FamilyParameter("inner_size", .int),
         FamilyParameter("hidden_act", .string), FamilyParameter("layer_norm_eps", .float),
         FamilyParameter("MAX_ITEM_LIST_LENGTH", .int), FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["hidden_dropout_prob", "attn_dropout_prob"])

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        let width = try values.width("hidden_size")
        let maxLength = try values.length("MAX_ITEM_LIST_LENGTH")
        return Configuration(
            hiddenSize: width, layers: try values.layers("n_layers"),
            heads: try values.heads("n_heads", dividing: width, widthKey: "hidden_size"),
            interests: try values.int("k_interests", 1 ... FamilyLimits.maxLength),
            innerSize: try values.int("inner_size", 1 ... 4 * FamilyLimits.maxWidth),
            activation: try values.choice("hidden_act", Activation.self), layerNormEps: try values.epsilon("layer_norm_eps"),
            maxLength: maxLength, itemRows: try values.items("n_items", minimum: 2))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, c.hiddenSize)
        table.add("position_embedding.weight", c.maxLength, c.hiddenSize)
        table.add("LayerNorm.weight", c.hiddenSize)
        table.add("LayerNorm.bias", c.hiddenSize)
        for layer in 0 ..< c.layers {
            LowRankTransformerLayer.addTensors(index: layer, width: c.hiddenSize, inner: c.innerSize,
                                               interests: c.interests, to: &table)
        }
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleLightSANsEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

// RecBole 1.2.x `NARM` (recbole/model/sequential_recommender/narm.py), MODELS-next.md §3.

extension ModelFamily {
    public static let recboleNARM = ModelFamily(declaring: "recbole-narm")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleNARM: Family {
    struct Configuration {
        let embeddingSize: Int      // embedding_size
        let hiddenSize: Int         // hidden_size (GRU width)
        let layers: Int             // n_layers
        let maxLength: Int          // MAX_ITEM_LIST_LENGTH (no position table: must come from the file)
        let itemRows: Int           // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleNARM]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("embedding_size", .int), FamilyParameter("hidden_size", .int),
         FamilyParameter("n_layers", .int), FamilyParameter("MAX_ITEM_LIST_LENGTH", .int),
         FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["dropout_probs"])

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        Configuration(embeddingSize: try values.width("embedding_size"), hiddenSize: try values.width("hidden_size"),
                      layers: try values.layers("n_layers"), maxLength: try values.length("MAX_ITEM_LIST_LENGTH"),
                      itemRows: try values.items("n_items", minimum: 2))
    }

    /// No biases anywhere: the GRU is built with bias=False, the four Linear maps too (§3.2).
    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, c.embeddingSize)
        for layer in 0 ..< c.layers {
            table.add("gru.weight_ih_l\(layer)", 3 * c.hiddenSize, layer == 0 ? c.embeddingSize : c.hiddenSize)
            table.add("gru.weight_hh_l\(layer)", 3 * c.hiddenSize, c.hiddenSize)
        }
        table.add("a_1.weight", c.hiddenSize, c.hiddenSize)
        table.add("a_2.weight", c.hiddenSize, c.hiddenSize)
        table.add("v_t.weight", 1, c.hiddenSize)
        table.add("b.weight", c.embeddingSize, 2 * c.hiddenSize)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleNARMEncoder(configuration, weights: weights, maxBatch: maxBatch, stateCache: stateCache)
    }
}

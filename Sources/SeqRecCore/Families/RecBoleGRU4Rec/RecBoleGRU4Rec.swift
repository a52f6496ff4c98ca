// RecBole 1.2.x `GRU4Rec` (recbole/model/sequential_recommender/gru4rec.py), MODELS.md §5.

extension ModelFamily {
    public static let recboleGRU4Rec = ModelFamily(declaring: "recbole-gru4rec")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleGRU4Rec: Family {
    struct Configuration {
        let embeddingSize: Int      // embedding_size
        let hiddenSize: Int         // hidden_size
        let layers: Int             // num_layers
        let maxLength: Int          // MAX_ITEM_LIST_LENGTH (no position table: must come from the file)
        let itemRows: Int           // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleGRU4Rec]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("embedding_size", .int), FamilyParameter("hidden_size", .int),
         FamilyParameter("num_layers", .int), FamilyParameter("MAX_ITEM_LIST_LENGTH", .int),
         FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["dropout_prob"])

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        Configuration(embeddingSize: try values.width("embedding_size"), hiddenSize: try values.width("hidden_size"),
                      layers: try values.layers("num_layers"), maxLength: try values.length("MAX_ITEM_LIST_LENGTH"),
                      itemRows: try values.items("n_items", minimum: 2))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, c.embeddingSize)
        for layer in 0 ..< c.layers {
            table.addGRULayer(gruLayer(layer), input: layer == 0 ? c.embeddingSize : c.hiddenSize, hidden: c.hiddenSize)
        }
        table.addLinear("dense", input: c.hiddenSize, output: c.embeddingSize)
        return table
    }

    /// nn.GRU(bias=False) layer k.
    static func gruLayer(_ k: Int) -> GRULayerNames {
        GRULayerNames(inputWeights: "gru_layers.weight_ih_l\(k)", hiddenWeights: "gru_layers.weight_hh_l\(k)",
                      inputBias: nil, hiddenBias: nil)
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleGRU4RecEncoder(configuration, weights: weights, maxBatch: maxBatch,
                                  stateCache: stateCache)
    }
}

// RecBole 1.2.x `STAMP` (recbole/model/sequential_recommender/stamp.py), MODELS-next.md §4.

extension ModelFamily {
    public static let recboleSTAMP = ModelFamily(declaring: "recbole-stamp")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleSTAMP: Family {
    struct Configuration {
        let embeddingSize: Int      // embedding_size
        let maxLength: Int          // MAX_ITEM_LIST_LENGTH: truncation and the number of PAD slots that are summed
        let itemRows: Int           // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleSTAMP]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("embedding_size", .int), FamilyParameter("MAX_ITEM_LIST_LENGTH", .int),
         FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        Configuration(embeddingSize: try values.width("embedding_size"),
                      maxLength: try values.length("MAX_ITEM_LIST_LENGTH"), itemRows: try values.items("n_items", minimum: 2))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        let d = c.embeddingSize
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, d)
        for name in ["w1", "w2", "w3"] { table.add(name + ".weight", d, d) }
        table.add("w0.weight", 1, d)
        table.add("b_a", d)
        for name in ["mlp_a", "mlp_b"] {
            table.add(name + ".weight", d, d)
            table.add(name + ".bias", d)
        }
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleSTAMPEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

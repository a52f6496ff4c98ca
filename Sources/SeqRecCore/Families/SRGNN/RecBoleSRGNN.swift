// RecBole 1.2.x `SRGNN` (recbole/model/sequential_recommender/srgnn.py), MODELS-next.md §6.

extension ModelFamily {
    public static let recboleSRGNN = ModelFamily(declaring: "recbole-srgnn")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleSRGNN: Family {
    struct Configuration {
        let embeddingSize: Int      // embedding_size
        let steps: Int              // step: gated graph steps
        let maxLength: Int          // MAX_ITEM_LIST_LENGTH (no position table: must come from the file)
        let itemRows: Int           // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleSRGNN]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("embedding_size", .int), FamilyParameter("step", .int),
         FamilyParameter("MAX_ITEM_LIST_LENGTH", .int), FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        Configuration(embeddingSize: try values.width("embedding_size"), steps: try values.layers("step"),
                      maxLength: try values.length("MAX_ITEM_LIST_LENGTH"), itemRows: try values.items("n_items", minimum: 2))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        let d = c.embeddingSize
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, d)
        table.addGatedGraphCell(width: d, messageBiases: true)
        for name in ["linear_one", "linear_two"] {
            table.add(name + ".weight", d, d)
            table.add(name + ".bias", d)
        }
        table.add("linear_three.weight", 1, d)
        table.add("linear_transform.weight", d, 2 * d)
        table.add("linear_transform.bias", d)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleSRGNNEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

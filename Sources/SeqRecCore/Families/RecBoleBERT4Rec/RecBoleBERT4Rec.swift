// RecBole 1.2.x `BERT4Rec` (recbole/model/sequential_recommender/bert4rec.py), MODELS.md §4.

extension ModelFamily {
    public static let recboleBERT4Rec = ModelFamily(declaring: "recbole-bert4rec")
}

/// The family's declaration: SASRec's hyperparameters (`n_items` counts the MASK row, so N = n_items − 1
/// items are scored), the transformer's tensors plus the output head.
enum RecBoleBERT4Rec: Family {
    typealias Configuration = RecBoleTransformerConfiguration

    static let ids = [ModelFamily.recboleBERT4Rec]
    static func parameters(_ id: ModelFamily) -> [FamilyParameter] { Configuration.parameters }
    static let upstreamOnlyKeys = Configuration.upstreamOnlyKeys.union(["mask_ratio", "ft_ratio", "transform",
                                                                        "mask_token"])

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        // The window holds at least one item and MASK; the table PAD, one item and MASK.
        try Configuration(values, minimumLength: 2, minimumRows: 3)
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        table.add("output_bias", c.itemRows - 1)
        c.addTensors(to: &table)
        table.addLinear("output_ffn", input: c.hiddenSize, output: c.hiddenSize)
        table.addLayerNorm("output_ln", width: c.hiddenSize)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleBERT4RecEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

// RecBole 1.2.x `SASRec` (recbole/model/sequential_recommender/sasrec.py), MODELS.md §3.

extension ModelFamily {
    public static let recboleSASRec = ModelFamily(declaring: "recbole-sasrec")
}

/// The family's declaration: RecBole's transformer hyperparameters, rules, tensor table, encoder.
enum RecBoleSASRec: Family {
    typealias Configuration = RecBoleTransformerConfiguration

    static let ids = [ModelFamily.recboleSASRec]
    static func parameters(_ id: ModelFamily) -> [FamilyParameter] { Configuration.parameters }
    static let upstreamOnlyKeys = Configuration.upstreamOnlyKeys

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        try Configuration(values, minimumLength: 1, minimumRows: 2)   // PAD and at least one item
    }

    static func tensors(_ configuration: Configuration) -> TensorTable {
        var table = TensorTable()
        configuration.addTensors(to: &table)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleSASRecEncoder(configuration, weights: weights, maxBatch: maxBatch,
                                 stateCache: stateCache)
    }
}

// RecBole 1.2.x `CORE` (recbole/model/sequential_recommender/core.py), MODELS-next.md §5.

extension ModelFamily {
    public static let recboleCORE = ModelFamily(declaring: "recbole-core")
}

/// The family's declaration: one id for both `dnn_type`s. Files store the transformer keys for `ave`
/// too (upstream's config always carries them); only `trm` has the `net.` tensors.
enum RecBoleCORE: Family {
    enum Pooling: String, CaseIterable { case trm, ave }

    struct Configuration {
        let pooling: Pooling            // dnn_type
        let embeddingSize: Int          // embedding_size (also the transformer width)
        let innerSize: Int              // inner_size (trm)
        let layers: Int                 // n_layers (trm)
        let heads: Int                  // n_heads (trm)
        let activation: Activation      // hidden_act (trm)
        let layerNormEps: Float         // layer_norm_eps (trm)
        let temperature: Float          // temperature: scores are cosines divided by it
        let maxLength: Int              // MAX_ITEM_LIST_LENGTH
        let itemRows: Int               // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleCORE]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("dnn_type", .string), FamilyParameter("embedding_size", .int),
         FamilyParameter("inner_size", .int), FamilyParameter("n_layers", .int), FamilyParameter("n_heads", .int),
         FamilyParameter("hidden_act", .string), FamilyParameter("layer_norm_eps", .float),
         FamilyParameter("temperature", .float), FamilyParameter("MAX_ITEM_LIST_LENGTH", .int),
         FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["hidden_dropout_prob", "attn_dropout_prob",
                                                                    "sess_dropout", "item_dropout"])

    /// The transformer's keys under `net.trm_encoder`.
    static let encoderKeys = RecBoleEncoderKeys(encoder: "net.trm_encoder")

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        let width = try values.width("embedding_size")
        guard let temperature = values.values.float("temperature"), temperature.isFinite, temperature > 0 else {
            throw values.error("temperature", "is \(values.values.value("temperature")?.displayText ?? "missing"), "
                               + "expected a finite number > 0")
        }
        return Configuration(
            pooling: try values.choice("dnn_type", Pooling.self), embeddingSize: width,
            innerSize: try values.int("inner_size", 1 ... 4 * FamilyLimits.maxWidth), layers: try values.layers("n_layers"),
            heads: try values.heads("n_heads", dividing: width, widthKey: "embedding_size"),
            activation: try values.choice("hidden_act", Activation.self), layerNormEps: try values.epsilon("layer_norm_eps"),
            temperature: Float(temperature), maxLength: try values.length("MAX_ITEM_LIST_LENGTH"),
            itemRows: try values.items("n_items", minimum: 2))
    }

    /// `dnn_type` is read off the weights (only trm has the `net.` network) and must agree with the config.
    static func derivedParameters(_ config: UpstreamConfig, id: ModelFamily,
                                  tensorShapes: [String: [Int]]) throws(FormatError) -> [String: HyperparameterValue] {
        let derived: Pooling = tensorShapes.keys.contains { $0.hasPrefix("net.") } ? .trm : .ave
        if let stated = config.values["dnn_type"] {
            guard case .string(let text) = stated, let pooling = Pooling(rawValue: text) else {
                let shown = if case .string(let text) = stated { "'\(text)'" } else { stated.typeName }
                throw config.error("dnn_type", "is \(shown), expected one of trm, ave")
            }
            guard pooling == derived else {
                throw config.error("dnn_type", "is '\(text)' but the weights are a \(derived.rawValue) model"
                                   + (derived == .trm ? " (they hold the net.* transformer)" : " (no net.* tensors)"))
            }
        }
        return ["dnn_type": .string(derived.rawValue)]
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        let d = c.embeddingSize
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, d)
        guard c.pooling == .trm else { return table }
        table.add("net.position_embedding.weight", c.maxLength, d)
        table.add("net.LayerNorm.weight", d)
        table.add("net.LayerNorm.bias", d)
        encoderKeys.addTensors(layers: c.layers, width: d, inner: c.innerSize, to: &table)
        table.add("net.fn.weight", 1, d)
        table.add("net.fn.bias", 1)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleCOREEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

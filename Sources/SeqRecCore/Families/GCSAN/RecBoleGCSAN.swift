// RecBole 1.2.x `GCSAN` (recbole/model/sequential_recommender/gcsan.py), MODELS-next.md §7.

extension ModelFamily {
    public static let recboleGCSAN = ModelFamily(declaring: "recbole-gcsan")
}

/// The family's declaration: hyperparameters under RecBole's names, rules, tensor table, encoder.
enum RecBoleGCSAN: Family {
    struct Configuration {
        let hiddenSize: Int             // hidden_size
        let steps: Int                  // step: gated graph steps
        let layers: Int                 // n_layers
        let heads: Int                  // n_heads
        let innerSize: Int              // inner_size
        let activation: Activation      // hidden_act
        let layerNormEps: Float         // layer_norm_eps
        let weight: Float               // weight: ω of ω·a_t + (1 − ω)·h_t
        let complement: Float           // 1 − ω, formed in double as upstream's Python does
        let maxLength: Int              // MAX_ITEM_LIST_LENGTH (no position table: must come from the file)
        let itemRows: Int               // n_items (PAD included)
    }

    static let ids = [ModelFamily.recboleGCSAN]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("hidden_size", .int), FamilyParameter("step", .int), FamilyParameter("n_layers", .int),
         FamilyParameter("n_heads", .int), FamilyParameter("inner_size", .int), FamilyParameter("hidden_act", .string),
         FamilyParameter("layer_norm_eps", .float), FamilyParameter("weight", .float),
         FamilyParameter("MAX_ITEM_LIST_LENGTH", .int), FamilyParameter("n_items", .int)]
    }

    static let upstreamOnlyKeys = RecBoleUpstreamKeys.common.union(["hidden_dropout_prob", "attn_dropout_prob",
                                                                    "reg_weight"])

    /// The transformer's keys under `self_attention`.
    static let encoderKeys = RecBoleEncoderKeys(encoder: "self_attention")

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        let width = try values.width("hidden_size")
        guard let omega = values.values.float("weight"), omega.isFinite else {
            throw values.error("weight", "is \(values.values.value("weight")?.displayText ?? "missing"), expected a finite number")
        }
        return Configuration(
            hiddenSize: width, steps: try values.layers("step"), layers: try values.layers("n_layers"),
            heads: try values.heads("n_heads", dividing: width, widthKey: "hidden_size"),
            innerSize: try values.int("inner_size", 1 ... 4 * FamilyLimits.maxWidth),
            activation: try values.choice("hidden_act", Activation.self), layerNormEps: try values.epsilon("layer_norm_eps"),
            weight: Float(omega), complement: Float(1 - omega), maxLength: try values.length("MAX_ITEM_LIST_LENGTH"),
            itemRows: try values.items("n_items", minimum: 2))
    }

    /// SR-GNN's cell without `gnn.b_iah` / `gnn.b_ioh`; no position table, no embedding LayerNorm (§7.2).
    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        table.add("item_embedding.weight", c.itemRows, c.hiddenSize)
        table.addGatedGraphCell(width: c.hiddenSize, messageBiases: false)
        encoderKeys.addTensors(layers: c.layers, width: c.hiddenSize, inner: c.innerSize, to: &table)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try RecBoleGCSANEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }
}

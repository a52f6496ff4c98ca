// hidasib/GRU4Rec_PyTorch_Official `GRU4RecModel` (gru4rec_pytorch.py), MODELS.md §7.

extension ModelFamily {
    public static let gru4recOfficial = ModelFamily(declaring: "gru4rec-official")
}

/// The family's declaration: hyperparameters under the official names, rules, tensor table, encoder, and
/// the converter hook that reads the embedding mode off the checkpoint's tensor names.
enum OfficialGRU4Rec: Family {
    /// How the input embedding is obtained (upstream `constrained_embedding` / `embedding`).
    enum EmbeddingMode: String, CaseIterable {
        case constrained    // input = Wy[item] (tied with the output table)
        case separate       // input = E[item]
        case onehot         // layer 0 is the GRU-embedding cell over Wx0[item]

        /// A mode as config.json may spell it: the file's own names, or `one-hot` as
        /// `Tools/export_gru4rec_official.py` writes it.
        init?(configSpelling text: String) {
            self.init(rawValue: text == "one-hot" ? "onehot" : text)
        }
    }

    struct Configuration {
        let layers: [Int]                   // layers
        let embeddingMode: EmbeddingMode    // embedding_mode
        let embedding: Int                  // embedding (separate mode width, else 0)
        let itemRows: Int                   // n_items (no padding row)
    }

    static let ids = [ModelFamily.gru4recOfficial]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        [FamilyParameter("layers", .ints), FamilyParameter("embedding_mode", .string),
         FamilyParameter("embedding", .int), FamilyParameter("n_items", .int)]
    }

    /// The official class's training arguments, and the notes `Tools/export_gru4rec_official.py` writes
    /// (`constrained_embedding` is cross-checked with the weights).
    static let upstreamOnlyKeys: Set<String> = [
        "constrained_embedding", "gru_input_size", "output_bias", "final_activation", "gru_cell", "input_embedding",
        "hidden_init", "loss", "elu_param", "bpreg", "logq", "n_sample", "sample_alpha", "batch_size",
        "learning_rate", "momentum", "dropout_p_embed", "dropout_p_hidden", "n_epochs", "device", "note",
    ]

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        let layers = try values.widths("layers", count: 1 ... 16)
        let mode = try values.choice("embedding_mode", EmbeddingMode.self)
        let embedding: Int
        if mode == .separate {
            embedding = try values.width("embedding")
        } else {
            embedding = try values.int("embedding", 0 ... 0)
        }
        if mode == .onehot && layers.count != 1 {
            throw values.error("layers", "has \(layers.count) entries; onehot mode supports exactly 1 (as upstream)")
        }
        return Configuration(layers: layers, embeddingMode: mode, embedding: embedding,
                             itemRows: try values.items("n_items", minimum: 1))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        let last = c.layers[c.layers.count - 1]
        switch c.embeddingMode {
        case .onehot:
            let width = c.layers[0]
            table.add("GE.Wx0.weight", c.itemRows, 3 * width)
            table.add("GE.Wrz0", width, 2 * width)
            table.add("GE.Wh0", width, width)
            table.add("GE.Bh0", 3 * width)
        case .separate, .constrained:
            let separate = c.embeddingMode == .separate
            if separate { table.add("E.weight", c.itemRows, c.embedding) }
            for (index, width) in c.layers.enumerated() {
                let input = index > 0 ? c.layers[index - 1] : (separate ? c.embedding : last)
                table.addGRULayer(cell(index), input: input, hidden: width)
            }
        }
        table.add("Wy.weight", c.itemRows, last)
        table.add("By.weight", c.itemRows, 1)
        return table
    }

    /// GRUCell j of `G` (with biases).
    static func cell(_ j: Int) -> GRULayerNames {
        GRULayerNames(inputWeights: "G.\(j).weight_ih", hiddenWeights: "G.\(j).weight_hh", inputBias: "G.\(j).bias_ih",
                      hiddenBias: "G.\(j).bias_hh")
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try OfficialGRU4RecEncoder(configuration, weights: weights, maxBatch: maxBatch,
                                   stateCache: stateCache)
    }

    /// `embedding_mode` is what the tensor names imply (MODELS.md §7.1), cross-checked with what the config
    /// states; `embedding` is the separate mode's width (`embedding`, `"layersize"` = layers[0], or
    /// `E.weight`'s columns), else 0.
    static func derivedParameters(_ config: UpstreamConfig, id: ModelFamily,
                                  tensorShapes: [String: [Int]]) throws(FormatError) -> [String: HyperparameterValue] {
        let derived: EmbeddingMode = tensorShapes["E.weight"] != nil ? .separate
            : tensorShapes.keys.contains { $0.hasPrefix("GE.") } ? .onehot : .constrained
        if let stated = config.values["embedding_mode"] {
            guard case .string(let text) = stated, let mode = EmbeddingMode(configSpelling: text) else {
                let shown = if case .string(let text) = stated { "'\(text)'" } else { stated.typeName }
                throw config.error("embedding_mode", "is \(shown), expected constrained, separate, onehot or one-hot")
            }
            guard mode == derived else {
                throw config.error("embedding_mode", "is '\(text)' but the weights are in \(derived.rawValue) mode")
            }
        }
        if case .bool(let constrained)? = config.values["constrained_embedding"] {
            let width: Int64 = switch config.values["embedding"] {
            case .int(let number)?: number
            case .string("layersize")?: 1
            default: 0
            }
            let stated: EmbeddingMode = constrained ? .constrained : width > 0 ? .separate : .onehot
            guard stated == derived else {
                throw config.error("constrained_embedding", "constrained_embedding/embedding select \(stated.rawValue) "
                                   + "mode but the weights are in \(derived.rawValue) mode")
            }
        }
        let embedding = derived == .separate ? try separateWidth(config, tensorShapes: tensorShapes) : 0
        return ["embedding_mode": .string(derived.rawValue), "embedding": .int(embedding)]
    }

    private static func separateWidth(_ config: UpstreamConfig, tensorShapes: [String: [Int]]) throws(FormatError)
        -> Int64 {
        switch config.values["embedding"] {
        case .int(let number)?:
            return number
        case .string("layersize")?:
            guard case .ints(let layers) = try config.typed("layers", .ints), let first = layers.first else {
                throw config.error("layers", "is empty")
            }
            return first
        case nil:
            return Int64(tensorShapes["E.weight"]?.last ?? 0)
        case let other?:
            throw config.error("embedding", "is \(other.typeName), expected an integer or \"layersize\"")
        }
    }
}

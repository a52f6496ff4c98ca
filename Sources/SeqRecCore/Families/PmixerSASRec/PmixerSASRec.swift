// pmixer/SASRec.pytorch `SASRec` (python/model.py), variants V1, V2 and V3 (MODELS.md §6).

extension ModelFamily {
    public static let pmixerSASRecV1 = ModelFamily(declaring: "pmixer-sasrec-v1")
    public static let pmixerSASRecV2 = ModelFamily(declaring: "pmixer-sasrec-v2")
    public static let pmixerSASRecV3 = ModelFamily(declaring: "pmixer-sasrec-v3")
}

/// The family's declaration: hyperparameters under pmixer's argument names, rules, tensor table, encoder.
enum PmixerSASRec: Family {
    /// Which upstream block the weights are run through.
    enum Variant {
        case v1          // LN'd-query block, positions by slot, pad rows zeroed (2020-10 … 2024-06)
        case v2          // LN'd-query block, positions 1…T, pads at position 0 (2024-06 … 2025-04)
        case v3PostLN    // norm_first = false (2025-05 …)
        case v3PreLN     // norm_first = true
    }

    struct Configuration {
        let variant: Variant
        let hiddenUnits: Int            // hidden_units
        let blocks: Int                 // num_blocks
        let heads: Int                  // num_heads
        let maxLength: Int              // maxlen
        let layerNormEps: Float         // layer_norm_eps (hard-coded 1e-8 upstream)
        let itemRows: Int               // n_items = itemnum + 1
    }

    /// Tensor-name prefixes of block b, shared by the table and `PmixerBlock`'s binding.
    struct BlockNames {
        let attentionNorm, attention, forwardNorm, forward: String

        init(_ block: Int) {
            attentionNorm = "attention_layernorms.\(block)"
            attention = "attention_layers.\(block)."
            forwardNorm = "forward_layernorms.\(block)"
            forward = "forward_layers.\(block)."
        }
    }

    static let ids = [ModelFamily.pmixerSASRecV1, .pmixerSASRecV2, .pmixerSASRecV3]

    static func parameters(_ id: ModelFamily) -> [FamilyParameter] {
        var list = [FamilyParameter("hidden_units", .int), FamilyParameter("num_blocks", .int),
                    FamilyParameter("num_heads", .int), FamilyParameter("maxlen", .int), FamilyParameter("n_items", .int),
                    FamilyParameter("layer_norm_eps", .float, default: .float(1e-8))]
        if id == .pmixerSASRecV3 { list.append(FamilyParameter("norm_first", .bool, default: .bool(false))) }
        return list
    }

    /// Training settings and the notes `Tools/export_pmixer.py` writes; `variant` is checked against the family.
    static let upstreamOnlyKeys: Set<String> = [
        "variant", "dropout_rate", "ffn_activation", "item_emb_scale", "padding", "padding_id", "pos_emb_rows",
        "positions", "attn_mask", "mha", "scoring", "block",
    ]

    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration {
        let variant: Variant = switch values.family {
        case .pmixerSASRecV1: .v1
        case .pmixerSASRecV2: .v2
        default: try values.bool("norm_first") ? .v3PreLN : .v3PostLN
        }
        let width = try values.width("hidden_units")
        return Configuration(variant: variant, hiddenUnits: width, blocks: try values.layers("num_blocks"),
                             heads: try values.heads("num_heads", dividing: width, widthKey: "hidden_units"),
                             maxLength: try values.length("maxlen"), layerNormEps: try values.epsilon("layer_norm_eps"),
                             itemRows: try values.items("n_items", minimum: 2))
    }

    static func tensors(_ c: Configuration) -> TensorTable {
        var table = TensorTable()
        let width = c.hiddenUnits
        table.add("item_emb.weight", c.itemRows, width)
        table.add("pos_emb.weight", c.variant == .v1 ? c.maxLength : c.maxLength + 1, width)
        for block in 0 ..< c.blocks {
            let names = BlockNames(block)
            table.addLayerNorm(names.attentionNorm, width: width)
            table.add(names.attention + "in_proj_weight", 3 * width, width)
            table.add(names.attention + "in_proj_bias", 3 * width)
            table.addLinear(names.attention + "out_proj", input: width, output: width)
            table.addLayerNorm(names.forwardNorm, width: width)
            for conv in ["conv1", "conv2"] {
                table.add(names.forward + conv + ".weight", width, width, 1)   // Conv1d(kernel_size=1)
                table.add(names.forward + conv + ".bias", width)
            }
        }
        table.addLayerNorm("last_layernorm", width: width)
        return table
    }

    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder {
        try PmixerSASRecEncoder(configuration, weights: weights, maxBatch: maxBatch)
    }

    /// The exporter's `variant` note must name this family's variant (a v2 checkpoint filed as v3 would
    /// otherwise convert and score wrongly).
    static func derivedParameters(_ config: UpstreamConfig, id: ModelFamily,
                                  tensorShapes: [String: [Int]]) throws(FormatError) -> [String: HyperparameterValue] {
        let expected = String(id.rawValue.split(separator: "-").last ?? "")
        guard let stated = config.values["variant"] else { return [:] }
        guard case .string(let text) = stated, text == expected else {
            let shown = if case .string(let text) = stated { "'\(text)'" } else { stated.typeName }
            throw config.error("variant", "is \(shown), but the family is \(id.rawValue) (variant '\(expected)')",
                               hint: "set family to the checkpoint's variant, or re-export it")
        }
        return [:]
    }
}

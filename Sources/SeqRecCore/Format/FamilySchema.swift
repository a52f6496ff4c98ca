/// The type of a hyperparameter value, as the schema requires it.
public enum HyperparameterKind: String, Sendable {
    case int, float, bool, string, ints
}

/// One expected tensor: its upstream name and shape.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
}

/// The single source of truth for each family (FORMAT.md §4 and §6, MODELS.md §3.2, §4.2, §5.2, §6.3,
/// §7.2): the required hyperparameters with their types and sane ranges, and the exact tensor set as a
/// function of the hyperparameters. The converter, the reader and model binding all use it.
public enum FamilySchema {
    static let maxWidth: Int64 = 65536
    static let maxLayers: Int64 = 64
    static let maxLength: Int64 = 100_000
    static let maxItems: Int64 = Int64(Int32.max)
    static let activations = ["gelu", "relu", "swish", "tanh", "sigmoid"]
    static let embeddingModes = ["constrained", "separate", "onehot"]

    /// The keys a file of `family` must carry, exactly, in canonical order.
    public static func requiredKeys(_ family: ModelFamily) -> [(key: String, kind: HyperparameterKind)] {
        switch family {
        case .recboleSASRec, .recboleBERT4Rec:
            [("hidden_size", .int), ("inner_size", .int), ("n_layers", .int), ("n_heads", .int),
             ("hidden_act", .string), ("layer_norm_eps", .float), ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        case .recboleGRU4Rec:
            [("embedding_size", .int), ("hidden_size", .int), ("num_layers", .int),
             ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        case .pmixerSASRecV1, .pmixerSASRecV2:
            [("hidden_units", .int), ("num_blocks", .int), ("num_heads", .int), ("maxlen", .int),
             ("n_items", .int), ("layer_norm_eps", .float)]
        case .pmixerSASRecV3:
            [("hidden_units", .int), ("num_blocks", .int), ("num_heads", .int), ("maxlen", .int),
             ("n_items", .int), ("layer_norm_eps", .float), ("norm_first", .bool)]
        case .gru4recOfficial:
            [("layers", .ints), ("embedding_mode", .string), ("embedding", .int), ("n_items", .int)]
        case .recboleNARM:
            [("embedding_size", .int), ("hidden_size", .int), ("n_layers", .int), ("MAX_ITEM_LIST_LENGTH", .int),
             ("n_items", .int)]
        case .recboleSTAMP:
            [("embedding_size", .int), ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        case .recboleCORE:
            [("dnn_type", .string), ("embedding_size", .int), ("inner_size", .int), ("n_layers", .int),
             ("n_heads", .int), ("hidden_act", .string), ("layer_norm_eps", .float), ("temperature", .float),
             ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        case .recboleSRGNN:
            [("embedding_size", .int), ("step", .int), ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        case .recboleGCSAN:
            [("hidden_size", .int), ("step", .int), ("n_layers", .int), ("n_heads", .int), ("inner_size", .int),
             ("hidden_act", .string), ("layer_norm_eps", .float), ("weight", .float), ("MAX_ITEM_LIST_LENGTH", .int),
             ("n_items", .int)]
        case .recboleLightSANs:
            [("hidden_size", .int), ("n_layers", .int), ("n_heads", .int), ("k_interests", .int), ("inner_size", .int),
             ("hidden_act", .string), ("layer_norm_eps", .float), ("MAX_ITEM_LIST_LENGTH", .int), ("n_items", .int)]
        }
    }

    /// Checks that `hyperparameters` has exactly the required keys with the required types, and sane values.
    public static func validate(_ hyperparameters: Hyperparameters, family: ModelFamily,
                                file: String) throws(FormatError) {
        let required = requiredKeys(family)
        var seen = Set<String>()
        for entry in hyperparameters.entries {
            guard seen.insert(entry.key).inserted else {
                throw FormatError(file: file, field: "hyperparameter '\(entry.key)'", problem: "appears twice")
            }
            guard let spec = required.first(where: { $0.key == entry.key }) else {
                throw FormatError(file: file, field: "hyperparameter '\(entry.key)'",
                                  problem: "is not a hyperparameter of \(family.rawValue)",
                                  hint: "expected exactly: " + required.map(\.key).joined(separator: ", "))
            }
            guard spec.kind.rawValue == entry.value.typeName else {
                throw FormatError(file: file, field: "hyperparameter '\(entry.key)'",
                                  problem: "has type \(entry.value.typeName), expected \(spec.kind.rawValue)")
            }
        }
        for spec in required where !seen.contains(spec.key) {
            throw FormatError(file: file, field: "hyperparameter '\(spec.key)'",
                              problem: "is missing (\(spec.kind.rawValue) required by \(family.rawValue))")
        }
        try checkRanges(Checker(values: hyperparameters, file: file), family: family)
    }

    private static func checkRanges(_ check: Checker, family: ModelFamily) throws(FormatError) {
        switch family {
        case .recboleSASRec, .recboleBERT4Rec:
            let width = try check.int("hidden_size", 1 ... maxWidth)
            _ = try check.int("inner_size", 1 ... 4 * maxWidth)
            _ = try check.int("n_layers", 1 ... maxLayers)
            try check.divides("n_heads", width: width, widthKey: "hidden_size")
            try check.oneOf("hidden_act", activations)
            try check.epsilon("layer_norm_eps")
            let bert = family == .recboleBERT4Rec
            _ = try check.int("MAX_ITEM_LIST_LENGTH", (bert ? 2 : 1) ... maxLength)
            _ = try check.int("n_items", (bert ? 3 : 2) ... maxItems)
        case .recboleGRU4Rec:
            _ = try check.int("embedding_size", 1 ... maxWidth)
            _ = try check.int("hidden_size", 1 ... maxWidth)
            _ = try check.int("num_layers", 1 ... maxLayers)
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .pmixerSASRecV1, .pmixerSASRecV2, .pmixerSASRecV3:
            let width = try check.int("hidden_units", 1 ... maxWidth)
            _ = try check.int("num_blocks", 1 ... maxLayers)
            try check.divides("num_heads", width: width, widthKey: "hidden_units")
            _ = try check.int("maxlen", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
            try check.epsilon("layer_norm_eps")
        case .gru4recOfficial:
            let layers = check.values.ints("layers") ?? []
            guard (1 ... 16).contains(layers.count) else {
                throw check.error("layers", "has \(layers.count) entries, expected 1 … 16")
            }
            for (index, width) in layers.enumerated() where !(1 ... Int(maxWidth)).contains(width) {
                throw check.error("layers", "entry \(index) is \(width), expected 1 … \(maxWidth)")
            }
            try check.oneOf("embedding_mode", embeddingModes)
            let mode = check.values.string("embedding_mode")
            let embedding = check.values.int("embedding") ?? -1
            if mode == "separate" {
                _ = try check.int("embedding", 1 ... maxWidth)
            } else if embedding != 0 {
                throw check.error("embedding", "is \(embedding), expected 0 in \(mode ?? "") mode")
            }
            if mode == "onehot" && layers.count != 1 {
                throw check.error("layers", "has \(layers.count) entries; onehot mode supports exactly 1")
            }
            _ = try check.int("n_items", 1 ... maxItems)
        case .recboleNARM:
            _ = try check.int("embedding_size", 1 ... maxWidth)
            _ = try check.int("hidden_size", 1 ... maxWidth)
            _ = try check.int("n_layers", 1 ... maxLayers)
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .recboleSTAMP:
            _ = try check.int("embedding_size", 1 ... maxWidth)
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .recboleCORE:
            try check.oneOf("dnn_type", ["trm", "ave"])
            let width = try check.int("embedding_size", 1 ... maxWidth)
            _ = try check.int("inner_size", 1 ... 4 * maxWidth)
            _ = try check.int("n_layers", 1 ... maxLayers)
            try check.divides("n_heads", width: width, widthKey: "embedding_size")
            try check.oneOf("hidden_act", activations)
            try check.epsilon("layer_norm_eps")
            guard let temperature = check.values.float("temperature"), temperature.isFinite, temperature > 0 else {
                throw check.error("temperature", "is \(check.values.value("temperature")?.displayText ?? "missing"), expected > 0")
            }
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .recboleSRGNN:
            _ = try check.int("embedding_size", 1 ... maxWidth)
            _ = try check.int("step", 1 ... maxLayers)
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .recboleGCSAN:
            let width = try check.int("hidden_size", 1 ... maxWidth)
            _ = try check.int("step", 1 ... maxLayers)
            _ = try check.int("n_layers", 1 ... maxLayers)
            try check.divides("n_heads", width: width, widthKey: "hidden_size")
            _ = try check.int("inner_size", 1 ... 4 * maxWidth)
            try check.oneOf("hidden_act", activations)
            try check.epsilon("layer_norm_eps")
            guard let weight = check.values.float("weight"), weight.isFinite else {
                throw check.error("weight", "is \(check.values.value("weight")?.displayText ?? "missing"), expected a finite number")
            }
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        case .recboleLightSANs:
            let width = try check.int("hidden_size", 1 ... maxWidth)
            _ = try check.int("n_layers", 1 ... maxLayers)
            try check.divides("n_heads", width: width, widthKey: "hidden_size")
            _ = try check.int("k_interests", 1 ... maxLength)
            _ = try check.int("inner_size", 1 ... 4 * maxWidth)
            try check.oneOf("hidden_act", activations)
            try check.epsilon("layer_norm_eps")
            _ = try check.int("MAX_ITEM_LIST_LENGTH", 1 ... maxLength)
            _ = try check.int("n_items", 2 ... maxItems)
        }
    }

    /// The exact tensor set of a file of `family`, in canonical order; empty when `hp` does not pass `validate`.
    public static func expectedTensors(_ family: ModelFamily, _ hp: Hyperparameters) -> [TensorSpec] {
        var specs: [TensorSpec] = []
        func add(_ name: String, _ shape: Int...) { specs.append(TensorSpec(name: name, shape: shape)) }
        // The arithmetic below relies on validated ranges; invalid hyperparameters expect nothing.
        guard (try? validate(hp, family: family, file: "")) != nil else { return [] }
        let items = hp.int("n_items") ?? 0
        switch family {
        case .recboleSASRec, .recboleBERT4Rec:
            let width = hp.int("hidden_size") ?? 0, inner = hp.int("inner_size") ?? 0
            if family == .recboleBERT4Rec { add("output_bias", items - 1) }
            add("item_embedding.weight", items, width)
            add("position_embedding.weight", hp.int("MAX_ITEM_LIST_LENGTH") ?? 0, width)
            add("LayerNorm.weight", width)
            add("LayerNorm.bias", width)
            for layer in 0 ..< (hp.int("n_layers") ?? 0) {
                let attention = "trm_encoder.layer.\(layer).multi_head_attention."
                for part in ["query", "key", "value", "dense"] {
                    add(attention + part + ".weight", width, width)
                    add(attention + part + ".bias", width)
                }
                add(attention + "LayerNorm.weight", width)
                add(attention + "LayerNorm.bias", width)
                let feedForward = "trm_encoder.layer.\(layer).feed_forward."
                add(feedForward + "dense_1.weight", inner, width)
                add(feedForward + "dense_1.bias", inner)
                add(feedForward + "dense_2.weight", width, inner)
                add(feedForward + "dense_2.bias", width)
                add(feedForward + "LayerNorm.weight", width)
                add(feedForward + "LayerNorm.bias", width)
            }
            if family == .recboleBERT4Rec {
                add("output_ffn.weight", width, width)
                add("output_ffn.bias", width)
                add("output_ln.weight", width)
                add("output_ln.bias", width)
            }
        case .recboleGRU4Rec:
            let embedding = hp.int("embedding_size") ?? 0, hidden = hp.int("hidden_size") ?? 0
            add("item_embedding.weight", items, embedding)
            for layer in 0 ..< (hp.int("num_layers") ?? 0) {
                add("gru_layers.weight_ih_l\(layer)", 3 * hidden, layer == 0 ? embedding : hidden)
                add("gru_layers.weight_hh_l\(layer)", 3 * hidden, hidden)
            }
            add("dense.weight", embedding, hidden)
            add("dense.bias", embedding)
        case .pmixerSASRecV1, .pmixerSASRecV2, .pmixerSASRecV3:
            let width = hp.int("hidden_units") ?? 0, maxlen = hp.int("maxlen") ?? 0
            add("item_emb.weight", items, width)
            add("pos_emb.weight", family == .pmixerSASRecV1 ? maxlen : maxlen + 1, width)
            for block in 0 ..< (hp.int("num_blocks") ?? 0) {
                add("attention_layernorms.\(block).weight", width)
                add("attention_layernorms.\(block).bias", width)
                add("attention_layers.\(block).in_proj_weight", 3 * width, width)
                add("attention_layers.\(block).in_proj_bias", 3 * width)
                add("attention_layers.\(block).out_proj.weight", width, width)
                add("attention_layers.\(block).out_proj.bias", width)
                add("forward_layernorms.\(block).weight", width)
                add("forward_layernorms.\(block).bias", width)
                for conv in ["conv1", "conv2"] {
                    add("forward_layers.\(block).\(conv).weight", width, width, 1)
                    add("forward_layers.\(block).\(conv).bias", width)
                }
            }
            add("last_layernorm.weight", width)
            add("last_layernorm.bias", width)
        case .gru4recOfficial:
            let layers = hp.ints("layers") ?? []
            let last = layers.last ?? 0
            switch hp.string("embedding_mode") {
            case "onehot":
                let width = layers.first ?? 0
                add("GE.Wx0.weight", items, 3 * width)
                add("GE.Wrz0", width, 2 * width)
                add("GE.Wh0", width, width)
                add("GE.Bh0", 3 * width)
            default:
                let separate = hp.string("embedding_mode") == "separate"
                let embedding = hp.int("embedding") ?? 0
                if separate { add("E.weight", items, embedding) }
                for (index, width) in layers.enumerated() {
                    let input = index > 0 ? layers[index - 1] : (separate ? embedding : last)
                    add("G.\(index).weight_ih", 3 * width, input)
                    add("G.\(index).weight_hh", 3 * width, width)
                    add("G.\(index).bias_ih", 3 * width)
                    add("G.\(index).bias_hh", 3 * width)
                }
            }
            add("Wy.weight", items, last)
            add("By.weight", items, 1)
        case .recboleNARM:
            let embedding = hp.int("embedding_size") ?? 0, hidden = hp.int("hidden_size") ?? 0
            add("item_embedding.weight", items, embedding)
            for layer in 0 ..< (hp.int("n_layers") ?? 0) {
                add("gru.weight_ih_l\(layer)", 3 * hidden, layer == 0 ? embedding : hidden)
                add("gru.weight_hh_l\(layer)", 3 * hidden, hidden)
            }
            add("a_1.weight", hidden, hidden)
            add("a_2.weight", hidden, hidden)
            add("v_t.weight", 1, hidden)
            add("b.weight", embedding, 2 * hidden)
        case .recboleSTAMP:
            let width = hp.int("embedding_size") ?? 0
            add("item_embedding.weight", items, width)
            for name in ["w1", "w2", "w3"] { add(name + ".weight", width, width) }
            add("w0.weight", 1, width)
            add("b_a", width)
            for name in ["mlp_a", "mlp_b"] {
                add(name + ".weight", width, width)
                add(name + ".bias", width)
            }
        case .recboleCORE:
            let width = hp.int("embedding_size") ?? 0
            add("item_embedding.weight", items, width)
            if hp.string("dnn_type") == "trm" {
                add("net.position_embedding.weight", hp.int("MAX_ITEM_LIST_LENGTH") ?? 0, width)
                add("net.LayerNorm.weight", width)
                add("net.LayerNorm.bias", width)
                for layer in 0 ..< (hp.int("n_layers") ?? 0) {
                    for spec in recboleTransformerLayer("net.trm_encoder", layer, width, hp.int("inner_size") ?? 0) {
                        specs.append(spec)
                    }
                }
                add("net.fn.weight", 1, width)
                add("net.fn.bias", 1)
            }
        case .recboleSRGNN, .recboleGCSAN:
            let srgnn = family == .recboleSRGNN
            let width = hp.int(srgnn ? "embedding_size" : "hidden_size") ?? 0
            add("item_embedding.weight", items, width)
            add("gnn.w_ih", 3 * width, 2 * width)
            add("gnn.w_hh", 3 * width, width)
            add("gnn.b_ih", 3 * width)
            add("gnn.b_hh", 3 * width)
            if srgnn {
                add("gnn.b_iah", width)
                add("gnn.b_ioh", width)
            }
            for name in ["gnn.linear_edge_in", "gnn.linear_edge_out"] {
                add(name + ".weight", width, width)
                add(name + ".bias", width)
            }
            if srgnn {
                for name in ["linear_one", "linear_two"] {
                    add(name + ".weight", width, width)
                    add(name + ".bias", width)
                }
                add("linear_three.weight", 1, width)
                add("linear_transform.weight", width, 2 * width)
                add("linear_transform.bias", width)
            } else {
                for layer in 0 ..< (hp.int("n_layers") ?? 0) {
                    specs += recboleTransformerLayer("self_attention", layer, width, hp.int("inner_size") ?? 0)
                }
            }
        case .recboleLightSANs:
            let width = hp.int("hidden_size") ?? 0, inner = hp.int("inner_size") ?? 0
            let interests = hp.int("k_interests") ?? 0
            add("item_embedding.weight", items, width)
            add("position_embedding.weight", hp.int("MAX_ITEM_LIST_LENGTH") ?? 0, width)
            add("LayerNorm.weight", width)
            add("LayerNorm.bias", width)
            for layer in 0 ..< (hp.int("n_layers") ?? 0) {
                let attention = "trm_encoder.layer.\(layer).multi_head_attention."
                for part in ["query", "key", "value", "dense", "pos_q_linear", "pos_k_linear"] {
                    add(attention + part + ".weight", width, width)
                    add(attention + part + ".bias", width)
                }
                add(attention + "attpooling_key.theta", width, interests)
                add(attention + "attpooling_value.theta", width, interests)
                for part in ["pos_ln", "LayerNorm"] {
                    add(attention + part + ".weight", width)
                    add(attention + part + ".bias", width)
                }
                let feedForward = "trm_encoder.layer.\(layer).feed_forward."
                add(feedForward + "dense_1.weight", inner, width)
                add(feedForward + "dense_1.bias", inner)
                add(feedForward + "dense_2.weight", width, inner)
                add(feedForward + "dense_2.bias", width)
                add(feedForward + "LayerNorm.weight", width)
                add(feedForward + "LayerNorm.bias", width)
            }
        }
        return specs
    }

    /// The tensors of RecBole's post-LN transformer layer `layer` under `encoder` (MODELS.md §3.2).
    private static func recboleTransformerLayer(_ encoder: String, _ layer: Int, _ width: Int, _ inner: Int) -> [TensorSpec] {
        var specs: [TensorSpec] = []
        func add(_ name: String, _ shape: Int...) { specs.append(TensorSpec(name: name, shape: shape)) }
        let attention = "\(encoder).layer.\(layer).multi_head_attention."
        for part in ["query", "key", "value", "dense"] {
            add(attention + part + ".weight", width, width)
            add(attention + part + ".bias", width)
        }
        add(attention + "LayerNorm.weight", width)
        add(attention + "LayerNorm.bias", width)
        let feedForward = "\(encoder).layer.\(layer).feed_forward."
        add(feedForward + "dense_1.weight", inner, width)
        add(feedForward + "dense_1.bias", inner)
        add(feedForward + "dense_2.weight", width, inner)
        add(feedForward + "dense_2.bias", width)
        add(feedForward + "LayerNorm.weight", width)
        add(feedForward + "LayerNorm.bias", width)
        return specs
    }

    /// Checks that `actual` is exactly the expected tensor set of `family` (same names, shapes, dtype f32).
    /// Call after `validate`. Errors name the tensor and both shapes.
    public static func validateTensors(_ actual: [(name: String, dtype: DType, shape: [Int])], family: ModelFamily,
                                       hyperparameters: Hyperparameters, file: String) throws(FormatError) {
        let expected = expectedTensors(family, hyperparameters)
        var expectedByName: [String: [Int]] = [:]
        for spec in expected { expectedByName[spec.name] = spec.shape }
        var present = Set<String>()
        for tensor in actual {
            guard let shape = expectedByName[tensor.name] else {
                throw FormatError(file: file, field: "tensor '\(tensor.name)'",
                                  problem: "is not a tensor of \(family.rawValue)",
                                  hint: "unexpected tensor; check the family and hyperparameters")
            }
            guard present.insert(tensor.name).inserted else {
                throw FormatError(file: file, field: "tensor '\(tensor.name)'", problem: "appears twice")
            }
            guard tensor.shape == shape else {
                throw FormatError(file: file, field: "tensor '\(tensor.name)'.shape",
                                  problem: "is \(tensor.shape), expected \(shape) for \(family.rawValue)",
                                  hint: "the weights do not match the hyperparameters")
            }
            guard tensor.dtype == .f32 else {
                throw FormatError(file: file, field: "tensor '\(tensor.name)'.dtype",
                                  problem: "is \(tensor.dtype.name), \(family.rawValue) needs f32")
            }
        }
        for spec in expected where !present.contains(spec.name) {
            throw FormatError(file: file, field: "tensor '\(spec.name)'",
                              problem: "is missing (expected shape \(spec.shape) for \(family.rawValue))")
        }
    }

    /// Reads validated hyperparameters; used only after `validate` succeeded.
    private struct Checker {
        let values: Hyperparameters
        let file: String

        func error(_ key: String, _ problem: String) -> FormatError {
            FormatError(file: file, field: "hyperparameter '\(key)'", problem: problem)
        }

        func int(_ key: String, _ range: ClosedRange<Int64>) throws(FormatError) -> Int {
            guard case .int(let value)? = values.value(key), range.contains(value) else {
                let shown = values.value(key)?.displayText ?? "missing"
                throw error(key, "is \(shown), expected \(range.lowerBound) … \(range.upperBound)")
            }
            return Int(value)
        }

        func divides(_ key: String, width: Int, widthKey: String) throws(FormatError) {
            let heads = try int(key, 1 ... Int64(width))
            guard width % heads == 0 else {
                throw error(key, "\(heads) does not divide \(widthKey) \(width)")
            }
        }

        func oneOf(_ key: String, _ allowed: [String]) throws(FormatError) {
            guard let value = values.string(key), allowed.contains(value) else {
                throw error(key, "is \(values.value(key)?.displayText ?? "missing"), expected one of "
                            + allowed.joined(separator: ", "))
            }
        }

        func epsilon(_ key: String) throws(FormatError) {
            guard let value = values.float(key), value.isFinite, value > 0, value < 1 else {
                throw error(key, "is \(values.value(key)?.displayText ?? "missing"), expected 0 < ε < 1")
            }
        }
    }
}

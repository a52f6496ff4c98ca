import Foundation

/// A fixture `config.json` (MODELS.md §10): the family, the top-level `n_items` and the upstream
/// `hyperparameters`, turned into the typed header entries of FORMAT.md §4.
struct ConfigFile {
    let path: String
    let family: ModelFamily
    let itemCount: Int64
    private let values: [String: JSONValue]

    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw FormatError(file: path, field: "file", problem: "not found",
                              hint: "a model folder holds config.json and weights.safetensors")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FormatError(file: path, field: "file", problem: "cannot be read: \(error.localizedDescription)")
        }
        guard case .object(let root) = try JSONValue.parse(data, file: path, field: "file") else {
            throw FormatError(file: path, field: "file", problem: "is not a JSON object")
        }
        guard case .string(let familyName)? = root["family"] else {
            throw FormatError(file: path, field: "family", problem: "is missing or not a string")
        }
        guard let family = ModelFamily(rawValue: familyName) else {
            throw FormatError(file: path, field: "family", problem: "unknown family '\(familyName)'",
                              hint: "known: " + ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard case .int(let itemCount)? = root["n_items"] else {
            throw FormatError(file: path, field: "n_items", problem: "is missing or not an integer",
                              hint: "the number of item-table rows, special rows included")
        }
        guard case .object(let values)? = root["hyperparameters"] else {
            throw FormatError(file: path, field: "hyperparameters", problem: "is missing or not an object")
        }
        self.family = family
        self.itemCount = itemCount
        self.values = values
    }

    /// The header entries for this family, in `FamilySchema.requiredKeys` order.
    func hyperparameters(tensorNames: [String], tensorShape: (String) -> [Int]?) throws -> Hyperparameters {
        var entries: [(key: String, value: HyperparameterValue)] = []
        for (key, kind) in FamilySchema.requiredKeys(family) {
            entries.append((key, try value(key, kind, tensorNames: tensorNames, tensorShape: tensorShape)))
        }
        return Hyperparameters(entries)
    }

    private func value(_ key: String, _ kind: HyperparameterKind, tensorNames: [String],
                       tensorShape: (String) -> [Int]?) throws -> HyperparameterValue {
        switch (family, key) {
        case (_, "n_items"):
            return .int(itemCount)
        case (.pmixerSASRecV1, "layer_norm_eps"), (.pmixerSASRecV2, "layer_norm_eps"), (.pmixerSASRecV3, "layer_norm_eps"):
            return values[key] == nil ? .float(1e-8) : try typed(key, kind)
        case (.pmixerSASRecV3, "norm_first"):
            return values[key] == nil ? .bool(false) : try typed(key, kind)
        case (.gru4recOfficial, "embedding_mode"):
            return .string(try embeddingMode(tensorNames: tensorNames))
        case (.gru4recOfficial, "embedding"):
            guard try embeddingMode(tensorNames: tensorNames) == "separate" else { return .int(0) }
            return .int(try separateWidth(tensorShape: tensorShape))
        default:
            return try typed(key, kind)
        }
    }

    private func typed(_ key: String, _ kind: HyperparameterKind) throws -> HyperparameterValue {
        let field = "hyperparameters.\(key)"
        guard let raw = values[key] else {
            throw FormatError(file: path, field: field, problem: "is missing (\(kind.rawValue) required by \(family.rawValue))")
        }
        switch (kind, raw) {
        case (.int, .int(let number)): return .int(number)
        case (.float, .double(let number)): return .float(number)
        case (.float, .int(let number)): return .float(Double(number))
        case (.bool, .bool(let flag)): return .bool(flag)
        case (.string, .string(let text)): return .string(text)
        case (.ints, .array(let items)):
            var numbers: [Int64] = []
            for item in items {
                guard case .int(let number) = item else {
                    throw FormatError(file: path, field: field, problem: "has \(item.typeName) entry, expected integers")
                }
                numbers.append(number)
            }
            return .ints(numbers)
        default:
            throw FormatError(file: path, field: field, problem: "is \(raw.typeName), expected \(kind.rawValue)")
        }
    }

    /// gru4rec-official: the mode the tensor names imply, cross-checked with the config (MODELS.md §7.1).
    private func embeddingMode(tensorNames: [String]) throws -> String {
        let derived = tensorNames.contains("E.weight") ? "separate"
            : tensorNames.contains { $0.hasPrefix("GE.") } ? "onehot" : "constrained"
        if case .string(let stated)? = values["embedding_mode"], stated != derived {
            throw FormatError(file: path, field: "hyperparameters.embedding_mode",
                              problem: "is '\(stated)' but the weights are in \(derived) mode")
        }
        if case .bool(let constrained)? = values["constrained_embedding"] {
            let width: Int64 = switch values["embedding"] {
            case .int(let number)?: number
            case .string("layersize")?: 1
            default: 0
            }
            let stated = constrained ? "constrained" : width > 0 ? "separate" : "onehot"
            guard stated == derived else {
                throw FormatError(file: path, field: "hyperparameters.constrained_embedding",
                                  problem: "constrained_embedding/embedding select \(stated) mode but the weights are in \(derived) mode")
            }
        }
        return derived
    }

    /// gru4rec-official separate mode: `embedding` (or `"layersize"` = layers[0]), else `E.weight` columns.
    private func separateWidth(tensorShape: (String) -> [Int]?) throws -> Int64 {
        switch values["embedding"] {
        case .int(let number)?:
            return number
        case .string("layersize")?:
            guard case .ints(let layers) = try typed("layers", .ints), let first = layers.first else {
                throw FormatError(file: path, field: "hyperparameters.layers", problem: "is empty")
            }
            return first
        case nil:
            return Int64(tensorShape("E.weight")?.last ?? 0)
        case let other?:
            throw FormatError(file: path, field: "hyperparameters.embedding",
                              problem: "is \(other.typeName), expected an integer or \"layersize\"")
        }
    }
}

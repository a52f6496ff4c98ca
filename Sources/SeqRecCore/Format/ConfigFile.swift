import Foundation
import SeqRecJSON

/// A fixture `config.json` (MODELS.md §10): the family, the top-level `n_items` and the upstream
/// `hyperparameters`, turned into the typed header entries of FORMAT.md §4 by the family's declaration
/// (`Family.parameters`, `upstreamOnlyKeys`, `derivedParameters`).
struct ConfigFile {
    let path: String
    let family: ModelFamily
    let itemCount: Int64
    let upstream: UpstreamConfig

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
            let known = ModelFamily.allCases.map(\.rawValue)
            // Family ids differ by a few letters (recbole-core, recbole-sasrec): suggest only near-exact typos.
            let guess = nearestKey(to: familyName, among: known, maxDistance: 2).map { "did you mean '\($0)'? " } ?? ""
            throw FormatError(file: path, field: "family", problem: "unknown family '\(familyName)'",
                              hint: guess + "known: " + known.joined(separator: ", "))
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
        upstream = UpstreamConfig(path: path, family: family, values: values)
    }

    /// The header entries of this family, in `Family.parameters` order. Every key of `hyperparameters`
    /// must be a parameter or an upstream-only key of the family: a misspelt key would otherwise be
    /// dropped and its default used, converting a model that scores wrongly without a word.
    func hyperparameters(tensorShapes: [String: [Int]]) throws -> Hyperparameters {
        guard let declaration = FamilyRegistry.family(family) else {
            throw FormatError(file: path, field: "family", problem: "'\(family.rawValue)' is not registered")
        }
        let parameters = declaration.parameters(family)
        let parameterKeys = parameters.map(\.key)
        for key in upstream.values.keys.sorted()
        where !parameterKeys.contains(key) && !declaration.upstreamOnlyKeys.contains(key) {
            let valid = Set(parameterKeys).union(declaration.upstreamOnlyKeys).subtracting(["n_items"])
            let guess = nearestKey(to: key, among: valid.sorted())
            throw FormatError(file: path, field: "hyperparameters.\(key)",
                              problem: "is not a hyperparameter of \(family.rawValue)"
                                  + (guess.map { "; did you mean '\($0)'?" } ?? ""),
                              hint: "\(family.rawValue) reads: "
                                  + parameterKeys.filter { $0 != "n_items" }.joined(separator: ", "))
        }
        let derived = try declaration.derivedParameters(upstream, family, tensorShapes)
        var entries: [(key: String, value: HyperparameterValue)] = []
        for parameter in parameters {
            if parameter.key == "n_items" {
                entries.append((parameter.key, .int(itemCount)))
            } else if let value = derived[parameter.key] {
                entries.append((parameter.key, value))
            } else if upstream.values[parameter.key] == nil, let fallback = parameter.converterDefault {
                entries.append((parameter.key, fallback))
            } else {
                entries.append((parameter.key, try upstream.typed(parameter.key, parameter.kind)))
            }
        }
        return Hyperparameters(entries)
    }
}

/// The `hyperparameters` object of a config.json, as families' converter hooks read it.
struct UpstreamConfig {
    let path: String
    let family: ModelFamily
    let values: [String: JSONValue]

    func error(_ key: String, _ problem: String, hint: String? = nil) -> FormatError {
        FormatError(file: path, field: "hyperparameters.\(key)", problem: problem, hint: hint)
    }

    /// The value of `key` as a hyperparameter of `kind` (a JSON integer is accepted where a float is expected).
    func typed(_ key: String, _ kind: HyperparameterKind) throws(FormatError) -> HyperparameterValue {
        guard let raw = values[key] else {
            throw error(key, "is missing (\(kind.rawValue) required by \(family.rawValue))")
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
                    throw error(key, "has \(item.typeName) entry, expected integers")
                }
                numbers.append(number)
            }
            return .ints(numbers)
        default:
            throw error(key, "is \(raw.typeName), expected \(kind.rawValue)")
        }
    }
}

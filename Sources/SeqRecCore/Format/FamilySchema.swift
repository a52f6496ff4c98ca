/// The type of a hyperparameter value, as the schema requires it.
public enum HyperparameterKind: String, Sendable {
    case int, float, bool, string, ints
}

/// The format's view of the family declarations (`FamilyRegistry`): the hyperparameters and the exact
/// tensor set a file of each family must have. The converter, the reader and the writer check files
/// with it; the families' folders are the only place keys, rules and tensor tables are written.
public enum FamilySchema {
    /// Checks that `hyperparameters` has exactly the required keys with the required types, and values
    /// within the family's ranges and rules.
    public static func validate(_ hyperparameters: Hyperparameters, family: ModelFamily,
                                file: String) throws(FormatError) {
        _ = try tensorTable(hyperparameters, family: family, file: file)
    }

    /// The exact tensor set of a file of `family`, in canonical order; empty when `hp` does not pass `validate`.
    public static func expectedTensors(_ family: ModelFamily, _ hp: Hyperparameters) -> [TensorSpec] {
        (try? tensorTable(hp, family: family, file: ""))?.specs ?? []
    }

    /// Checks that `actual` is exactly the expected tensor set of `family` (same names, shapes, dtype f32).
    /// Errors name the tensor and both shapes.
    public static func validateTensors(_ actual: [(name: String, dtype: DType, shape: [Int])], family: ModelFamily,
                                       hyperparameters: Hyperparameters, file: String) throws(FormatError) {
        let expected = try tensorTable(hyperparameters, family: family, file: file)
        var present = Set<String>()
        for tensor in actual {
            guard let shape = expected.shape(tensor.name) ?? OptionalTensors.shape(tensor.name, hyperparameters) else {
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
        for spec in expected.specs where !present.contains(spec.name) {
            throw FormatError(file: file, field: "tensor '\(spec.name)'",
                              problem: "is missing (expected shape \(spec.shape) for \(family.rawValue))")
        }
    }

    /// Exact keys and types, then the family's own checks, which also yield the tensor table.
    static func tensorTable(_ hyperparameters: Hyperparameters, family: ModelFamily,
                            file: String) throws(FormatError) -> TensorTable {
        guard let declaration = FamilyRegistry.family(family) else {
            throw FormatError(file: file, field: "family", problem: "'\(family.rawValue)' is not registered")
        }
        let required = declaration.parameters(family)
        var seen = Set<String>()
        for entry in hyperparameters.entries {
            guard seen.insert(entry.key).inserted else {
                throw FormatError(file: file, field: "hyperparameter '\(entry.key)'", problem: "appears twice")
            }
            guard let spec = required.first(where: { $0.key == entry.key }) else {
                let guess = nearestKey(to: entry.key, among: required.map(\.key)).map { "did you mean '\($0)'? " } ?? ""
                throw FormatError(file: file, field: "hyperparameter '\(entry.key)'",
                                  problem: "is not a hyperparameter of \(family.rawValue)",
                                  hint: guess + "expected exactly: " + required.map(\.key).joined(separator: ", "))
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
        return try declaration.tensors(HyperparameterReader(values: hyperparameters, family: family, file: file))
    }
}

/// Why a model file could not be bound to a forward pass.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    public let description: String

    package init(_ message: String) { description = message }

    static func missingTensor(_ name: String, family: ModelFamily) -> ModelLoadError {
        ModelLoadError("model load: tensor '\(name)' is missing for family \(family.rawValue); re-convert the checkpoint with `seqrec convert`")
    }

    static func wrongShape(_ name: String, expected: [Int], actual: [Int]) -> ModelLoadError {
        ModelLoadError("model load: tensor '\(name)' has shape \(actual), expected \(expected)")
    }

    static func hyperparameter(_ key: String, _ problem: String) -> ModelLoadError {
        ModelLoadError("model load: hyperparameter '\(key)' \(problem)")
    }
}

/// Looks tensors and hyperparameters up in a validated model file, strictly.
struct WeightBinder {
    let file: ModelFile
    /// Receives the re-laid-out copies the layers make (see `PackedWeights`).
    let packing: PackedWeights

    /// The tensor `name`, which must have exactly `shape`.
    func tensor(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
        guard let tensor = file.tensor(name) else { throw ModelLoadError.missingTensor(name, family: file.family) }
        guard tensor.shape == shape else { throw ModelLoadError.wrongShape(name, expected: shape, actual: tensor.shape) }
        // safe: a validated tensor has product(shape) > 0 floats, so the base address exists.
        return tensor.data.baseAddress!
    }


    func int(_ key: String, atLeast minimum: Int = 1) throws -> Int {
        guard let value = file.hyperparameters.int(key) else { throw ModelLoadError.hyperparameter(key, "is missing or not an integer") }
        guard value >= minimum else { throw ModelLoadError.hyperparameter(key, "is \(value), must be ≥ \(minimum)") }
        return value
    }

    func float(_ key: String) throws -> Float {
        guard let value = file.hyperparameters.float(key), value.isFinite, value >= 0 else {
            throw ModelLoadError.hyperparameter(key, "is missing or not a finite non-negative number")
        }
        return Float(value)
    }

    func string(_ key: String) throws -> String {
        guard let value = file.hyperparameters.string(key) else { throw ModelLoadError.hyperparameter(key, "is missing or not a string") }
        return value
    }
}

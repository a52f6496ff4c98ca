extension WeightBinder {
    /// A RecBole `hidden_act` hyperparameter.
    func activation(_ key: String) throws -> Activation {
        let name = try string(key)
        guard let parsed = Activation(rawValue: name) else {
            throw ModelLoadError.hyperparameter(key, "is '\(name)', expected gelu, relu, swish, tanh or sigmoid")
        }
        return parsed
    }
}

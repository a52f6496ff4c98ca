// SeqRec's own tensors that any family's file may carry besides its upstream tensor set (FORMAT.md §6.1).
// An older reader refuses a file with one ("is not a tensor of …") rather than misreading it.

enum OptionalTensors {
    /// Interactions per item row in the training data (`seqrec convert --popularity`): shape [n_items],
    /// finite and ≥ 0; the fallback answer for empty sessions ranks by it.
    static let popularity = "seqrec.popularity"

    /// The shape `name` must have, or nil when `name` is not an optional tensor.
    static func shape(_ name: String, _ hyperparameters: Hyperparameters) -> [Int]? {
        guard name == popularity, let items = hyperparameters.int("n_items") else { return nil }
        return [items]
    }
}

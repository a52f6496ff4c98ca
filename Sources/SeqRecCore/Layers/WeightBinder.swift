/// Hands a family's encoder the tensors of a validated model file, by the names of the family's tensor
/// table: shapes come from the table (declared once), so the encoder never restates them. Binding fails
/// with a `ModelLoadError` if the encoder asks for an undeclared tensor or leaves a declared one unused,
/// which keeps the table and the forward pass in step.
final class WeightBinder {
    let file: ModelFile
    let table: TensorTable
    /// Receives the re-laid-out copies the layers make (see `PackedWeights`).
    let packing: PackedWeights
    private var bound = Set<String>()

    init(file: ModelFile, table: TensorTable, packing: PackedWeights) {
        self.file = file
        self.table = table
        self.packing = packing
    }

    /// The declared shape of `name`.
    func shape(_ name: String) throws -> [Int] {
        guard let shape = table.shape(name) else {
            throw ModelLoadError("model load: the \(file.family.rawValue) encoder asks for tensor '\(name)', which its "
                + "tensor table does not declare (a bug in the family's folder)")
        }
        return shape
    }

    func contains(_ name: String) -> Bool { table.contains(name) }

    /// The data of the declared tensor `name`.
    func tensor(_ name: String) throws -> UnsafePointer<Float> {
        let shape = try shape(name)
        guard let tensor = file.tensor(name) else {
            throw ModelLoadError("model load: tensor '\(name)' is missing for family \(file.family.rawValue); "
                + "re-convert the checkpoint with `seqrec convert`")
        }
        guard tensor.shape == shape else {
            throw ModelLoadError("model load: tensor '\(name)' has shape \(tensor.shape), expected \(shape)")
        }
        bound.insert(name)
        // safe: a validated tensor has product(shape) > 0 floats, so the base address exists.
        return tensor.data.baseAddress!
    }

    /// Fails unless every declared tensor was bound.
    func finish() throws {
        if let unused = table.specs.first(where: { !bound.contains($0.name) }) {
            throw ModelLoadError("model load: the \(file.family.rawValue) encoder leaves declared tensor '\(unused.name)' "
                + "unused (a bug in the family's folder)")
        }
    }

    /// `prefix.weight` [O, I] with `prefix.bias` [O] when the table declares it, packed for the kernels.
    func linear(_ prefix: String) throws -> Linear {
        let weightShape = try shape(prefix + ".weight")
        guard weightShape.count == 2 else {
            throw ModelLoadError("model load: tensor '\(prefix).weight' is declared \(weightShape), not a matrix")
        }
        let bias = contains(prefix + ".bias") ? try tensor(prefix + ".bias") : nil
        return linear(weight: try tensor(prefix + ".weight"), bias: bias, input: weightShape[1], output: weightShape[0])
    }

    /// A linear map over `weight` [output, input] (a bound tensor or part of one), packed for the kernels.
    func linear(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, input: Int, output: Int) -> Linear {
        Linear(transposedWeight: packing.transposed(weight, rows: output, columns: input), bias: bias,
               inputWidth: input, outputWidth: output)
    }

    /// LayerNorm `prefix.weight` (γ) and `prefix.bias` (β), width as declared.
    func layerNorm(_ prefix: String, eps: Float) throws -> LayerNormLayer {
        let width = try shape(prefix + ".weight").reduce(1, *)
        return LayerNormLayer(gamma: try tensor(prefix + ".weight"), beta: try tensor(prefix + ".bias"), width: width,
                              eps: eps)
    }

    /// A PyTorch GRU layer from its tensor names given one by one (see `gruLayer(_:)`).
    func gruLayer(inputWeights: String, hiddenWeights: String, inputBias: String?, hiddenBias: String?) throws
        -> GRULayer {
        try gruLayer(GRULayerNames(inputWeights: inputWeights, hiddenWeights: hiddenWeights, inputBias: inputBias,
                                   hiddenBias: hiddenBias))
    }

    /// A PyTorch GRU layer (see `TensorTable.addGRULayer`).
    func gruLayer(_ names: GRULayerNames) throws -> GRULayer {
        let inputWeights = names.inputWeights, hiddenWeights = names.hiddenWeights
        let inputBias = names.inputBias, hiddenBias = names.hiddenBias
        let inputShape = try shape(inputWeights), hiddenShape = try shape(hiddenWeights)
        guard inputShape.count == 2, hiddenShape.count == 2 else {
            throw ModelLoadError("model load: GRU weights '\(inputWeights)', '\(hiddenWeights)' are not matrices")
        }
        let gates = hiddenShape[0], hidden = hiddenShape[1], input = inputShape[1]
        let recurrentWeights = try tensor(hiddenWeights)
        return GRULayer(input: linear(weight: try tensor(inputWeights), bias: try inputBias.map { try tensor($0) },
                                      input: input, output: gates),
                        hidden: linear(weight: recurrentWeights, bias: try hiddenBias.map { try tensor($0) },
                                       input: hidden, output: gates),
                        recurrent: GRURecurrentWeights(weights: recurrentWeights, hiddenWidth: hidden))
    }
}

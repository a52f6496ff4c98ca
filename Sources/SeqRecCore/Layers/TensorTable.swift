/// One expected tensor: its upstream name and shape.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
}

/// A family's exact tensor set for one configuration, in canonical order (the order files store them).
struct TensorTable: Sendable {
    private(set) var specs: [TensorSpec] = []
    private var index: [String: Int] = [:]

    init() {}

    mutating func add(_ name: String, _ shape: Int...) {
        precondition(index[name] == nil, "tensor '\(name)' declared twice")  // a family-table bug, found by every test
        index[name] = specs.count
        specs.append(TensorSpec(name: name, shape: shape))
    }

    /// A linear map as PyTorch stores it: `prefix.weight` [output, input] and, with `bias`, `prefix.bias` [output]
    /// (`WeightBinder.linear(prefix)` binds it).
    mutating func addLinear(_ prefix: String, input: Int, output: Int, bias: Bool = true) {
        add(prefix + ".weight", output, input)
        if bias { add(prefix + ".bias", output) }
    }

    /// A LayerNorm: `prefix.weight` (γ) and `prefix.bias` (β), [width] each (`WeightBinder.layerNorm(prefix, eps:)`).
    mutating func addLayerNorm(_ prefix: String, width: Int) {
        add(prefix + ".weight", width)
        add(prefix + ".bias", width)
    }

    /// A PyTorch GRU layer's weights (and biases, if named) for `input` → `hidden` (`WeightBinder.gruLayer(names)`).
    mutating func addGRULayer(_ names: GRULayerNames, input: Int, hidden: Int) {
        add(names.inputWeights, 3 * hidden, input)
        add(names.hiddenWeights, 3 * hidden, hidden)
        if let bias = names.inputBias { add(bias, 3 * hidden) }
        if let bias = names.hiddenBias { add(bias, 3 * hidden) }
    }

    func shape(_ name: String) -> [Int]? {
        index[name].map { specs[$0].shape }
    }

    func contains(_ name: String) -> Bool { index[name] != nil }
}

/// The tensor names of one PyTorch GRU layer (nn.GRU layer k or a GRUCell), declared once per family and
/// used by both its tensor table and its binding.
struct GRULayerNames {
    let inputWeights: String    // [3D, I], gate rows r | z | n
    let hiddenWeights: String   // [3D, D]
    let inputBias: String?      // [3D]
    let hiddenBias: String?     // [3D]
}

/// Element-wise activations named as RecBole's `hidden_act` names them.
enum Activation: String, CaseIterable {
    case gelu, relu, swish, tanh, sigmoid

    func apply(count: Int, _ x: UnsafeMutablePointer<Float>, kernels: Kernels) {
        switch self {
        case .gelu: kernels.gelu(count: count, x)
        case .relu: kernels.relu(count: count, x)
        case .swish: kernels.swish(count: count, x)
        case .tanh: kernels.tanh(count: count, x)
        case .sigmoid: kernels.sigmoid(count: count, x)
        }
    }
}

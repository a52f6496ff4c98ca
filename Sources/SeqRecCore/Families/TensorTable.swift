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

    func shape(_ name: String) -> [Int]? {
        index[name].map { specs[$0].shape }
    }

    func contains(_ name: String) -> Bool { index[name] != nil }
}

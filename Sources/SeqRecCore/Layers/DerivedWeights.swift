// Weights a family derives from the file once at load (a normalised item table, attention maps that
// depend on positions only, a product of two stored tensors) and keeps for the model's lifetime.

/// Owns float blocks computed at load; layers hold read-only views that live as long as this object,
/// which the encoder keeps. Filled while the model binds (one thread), immutable afterwards.
final class DerivedWeights: @unchecked Sendable {
    private var blocks: [UnsafeMutablePointer<Float>] = []

    init() {}

    deinit {
        for block in blocks { block.deallocate() }
    }

    /// A zeroed block of `count` floats, filled by `body` and then frozen.
    func make(count: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> UnsafePointer<Float> {
        precondition(count > 0, "derived weights are a non-empty block")
        let block = UnsafeMutablePointer<Float>.allocate(capacity: count)
        block.initialize(repeating: 0, count: count)
        blocks.append(block)
        body(UnsafeMutableBufferPointer(start: block, count: count))
        return UnsafePointer(block)
    }
}

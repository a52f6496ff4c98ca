import Synchronization

/// The model's forward pass bound without a state cache, built on the first explained request of a
/// model whose encoder has one: leave-one-out sessions run through it so they neither evict the cached
/// states of real sessions nor count in the cache statistics. Shared by every context of the model.
final class UncachedEncoder: Sendable {
    private struct Built: @unchecked Sendable {
        // @unchecked: the encoder is immutable after init and the packed weights are only read.
        let encoder: any SequenceEncoder
        let packing: PackedWeights
    }

    private let built = Mutex<Built?>(nil)

    /// The encoder (same file, same batch limit, no cache); nil only if binding the file a second time
    /// fails (it bound once already, so only for lack of memory).
    func encoder(_ file: ModelFile, maxBatch: Int) -> (any SequenceEncoder)? {
        built.withLock { built -> (any SequenceEncoder)? in
            if let built { return built.encoder }
            let packing = PackedWeights()
            guard let encoder = try? makeEncoder(file, packing: packing, maxBatch: maxBatch, stateCache: .off) else {
                return nil
            }
            built = Built(encoder: encoder, packing: packing)
            return encoder
        }
    }
}

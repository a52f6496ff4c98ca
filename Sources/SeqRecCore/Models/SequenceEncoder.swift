/// The item table a readout vector is scored against: `score[i] = u · table[i] + bias[i]`.
package struct ScoringTable: @unchecked Sendable {
    let table: UnsafePointer<Float>     // [rows, width]
    let bias: UnsafePointer<Float>?     // [rows]
    package let rows: Int
    package let width: Int
    /// Lowest id that may be recommended: 1 where row 0 is padding, else 0.
    package let firstItem: Int
}

/// A bound model family: turns sessions into readout vectors (one per session).
/// Implementations are immutable after init and shared by all inference contexts.
package protocol SequenceEncoder: AnyObject, Sendable {
    var family: ModelFamily { get }
    var scoring: ScoringTable { get }
    /// Items beyond this many (the oldest ones) do not influence the output; `Int.max` when unlimited.
    var window: Int { get }
    /// Ids a session may contain.
    var inputItems: Range<Int> { get }
    /// Scratch this encoder needs for batches of up to the `maxBatch` it was bound with.
    var workspaceLayout: WorkspaceLayout { get }
    /// Writes the readout of session b to `readout[b·width ..< (b+1)·width]`. Sessions are valid and non-empty.
    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels)
    /// Windows looked up in, and resumed from, the context's state cache (nil: the family has none).
    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)?
}

extension SequenceEncoder {
    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? { nil }
}


/// The last `min(count, window)` items of a session, oldest first.
@inline(__always)
func recentItems(_ items: [Int32], window: Int) -> ArraySlice<Int32> {
    items.suffix(window)
}

/// Binds a model file to the forward pass of its family; re-laid-out weight copies go to `packing`,
/// which must live as long as the encoder.
/// `stateCacheEntries`: recent windows whose states each context keeps (GRU families and SASRec; 0 = none,
/// nil = the family's default: up to 4,096 GRU states or 256 SASRec key/value sets, within 64 MiB).
package func makeEncoder(_ file: ModelFile, packing: PackedWeights, maxBatch: Int,
                         stateCacheEntries: Int? = 0) throws -> any SequenceEncoder {
    let binder = WeightBinder(file: file, packing: packing)
    switch file.family {
    case .recboleSASRec: return try RecBoleSASRec(binder, maxBatch: maxBatch, stateCacheEntries: stateCacheEntries)
    case .recboleBERT4Rec: return try RecBoleBERT4Rec(binder, maxBatch: maxBatch)
    case .recboleGRU4Rec: return try RecBoleGRU4Rec(binder, maxBatch: maxBatch, stateCacheEntries: stateCacheEntries)
    case .pmixerSASRecV1, .pmixerSASRecV2, .pmixerSASRecV3: return try PmixerSASRec(binder, maxBatch: maxBatch)
    case .gru4recOfficial: return try OfficialGRU4Rec(binder, maxBatch: maxBatch, stateCacheEntries: stateCacheEntries)
    case .recboleNARM: return try RecBoleNARM(binder, maxBatch: maxBatch)
    case .recboleSTAMP: return try RecBoleSTAMP(binder, maxBatch: maxBatch)
    case .recboleCORE: return try RecBoleCORE(binder, maxBatch: maxBatch)
    case .recboleSRGNN: return try RecBoleSRGNN(binder, maxBatch: maxBatch)
    case .recboleGCSAN: return try RecBoleGCSAN(binder, maxBatch: maxBatch)
    case .recboleLightSANs: return try RecBoleLightSANs(binder, maxBatch: maxBatch)
    }
}

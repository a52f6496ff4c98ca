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
    /// The model's state cache, shared by every context (nil: the family has none, or it is off).
    var sharedStateCache: StateCache? { get }
}

extension SequenceEncoder {
    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? { nil }
    var sharedStateCache: StateCache? { nil }
}

/// The last `min(count, window)` items of a session, oldest first.
@inline(__always)
func recentItems(_ items: [Int32], window: Int) -> ArraySlice<Int32> {
    items.suffix(window)
}

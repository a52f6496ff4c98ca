// A per-context cache of GRU stack states keyed by the item window they were computed from. A gateway
// sends the whole session on every click, so the window of the next request is usually the last one
// plus one item: its state is the stored state stepped once (MODELS.md §5.5, §7.5), one step instead of
// the whole window. The state is the same up to summation order, as batching already allows.
//   C entries, direct-mapped by key; entry = 128-bit key (2 Ints) + the stack's states [Σ D_l] floats

/// Where one context's cache lives in its workspace, and how to use it. Empty slots hold the key (0, 0),
/// which `WindowKey` never produces in practice (both folds would have to be 0).
struct GRUStateCache {
    let capacity: Int
    /// Floats per entry: the states of every layer, concatenated.
    let width: Int
    private let keys: Int     // int region [capacity, 2]
    private let states: Int   // float region [capacity, width]
    let counters: CacheCounters

    init(_ layout: inout WorkspaceLayout, capacity: Int, width: Int) {
        precondition(capacity > 0, "a state cache has at least one entry")
        self.capacity = capacity
        self.width = width
        keys = layout.reserveInts(2 * capacity)
        states = layout.reserve(capacity * width)
        counters = CacheCounters(&layout)
    }

    /// The stored states of the window `key`, or nil.
    func find(_ key: WindowKey, in workspace: Workspace) -> UnsafeMutablePointer<Float>? {
        let slot = key.slot(capacity), stored = workspace.intRegion(keys) + 2 * slot
        // safe: slot < capacity, and the key region holds 2 Ints per slot.
        guard WindowKey(loading: stored) == key else { return nil }
        return workspace.region(states) + slot * width
    }

    /// Claims the slot of `key` (evicting whatever it held) and returns its states to be filled.
    func store(_ key: WindowKey, in workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let slot = key.slot(capacity), stored = workspace.intRegion(keys) + 2 * slot
        key.save(to: stored)
        return workspace.region(states) + slot * width
    }
}

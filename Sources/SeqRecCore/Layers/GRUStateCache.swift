// GRU stack states keyed by the item window they were computed from, in the model's shared
// `StateCache`. A gateway sends the whole session on every click, so the window of the next request is
// usually the last one plus one item: its state is the stored state stepped once (MODELS.md §5.5,
// §7.5), one step instead of the whole window. The state is the same up to summation order, as
// batching already allows. A record is the stack's states, [Σ D_l] floats, stored exactly (f32).

/// A GRU stack's view of its model's state cache, and this context's hit counters.
struct GRUStateCache {
    let store: StateCache
    /// Floats per record: the states of every layer, concatenated.
    let width: Int
    let counters: CacheCounters

    init(_ layout: inout WorkspaceLayout, settings: StateCacheSettings, width: Int) throws(ModelLoadError) {
        store = try StateCache(settings, minFloats: width, maxFloats: width, model: "GRU")
        self.width = width
        counters = CacheCounters(&layout)
    }

    /// Copies the stored states of the window `key` into `states` [width]; false when none are stored
    /// (then `states` holds nothing useful).
    func load(_ key: WindowKey, now: UInt64, renew: Bool = false, into states: UnsafeMutablePointer<Float>) -> Bool {
        store.read(key, now: now, renew: renew) { record in
            guard record.floats == width else { return }
            states.update(from: record.payload, count: width)
        }
    }

    /// Stores `states` [width] as the window `key`'s; `superseding`: the window it grew from.
    func save(_ key: WindowKey, states: UnsafePointer<Float>, now: UInt64, superseding: WindowKey?) {
        store.store(key, floats: width, aux: 0, now: now, superseding: superseding) { $0.update(from: states, count: width) }
    }
}

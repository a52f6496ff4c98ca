// A per-context cache of a causal transformer's keys and values, keyed by the item window they were
// computed from. With causal attention, token j's keys and values at every layer depend only on tokens
// 0…j (MODELS.md §3.6), so a window that is a stored window plus one item needs one new token per layer;
// a stored window itself needs nothing but its stored readout.
//   C entries, direct-mapped by key; slot = [key.a, key.b, tokens] Ints + entry floats:
//   per layer l: K_l [L, H], V_l [L, H]; then the readout [H]

struct TransformerStateCache {
    let capacity: Int
    let layers: Int
    let maxTokens: Int
    let hidden: Int
    private let slots: Int     // int region [capacity, 3]
    private let entries: Int   // float region [capacity, entryWidth]
    let counters: CacheCounters

    /// Floats per entry.
    var entryWidth: Int { layers * 2 * maxTokens * hidden + hidden }

    init(_ layout: inout WorkspaceLayout, capacity: Int, layers: Int, maxTokens: Int, hidden: Int) {
        precondition(capacity > 0, "a state cache has at least one entry")
        self.capacity = capacity
        self.layers = layers
        self.maxTokens = maxTokens
        self.hidden = hidden
        slots = layout.reserveInts(3 * capacity)
        entries = layout.reserve(capacity * (layers * 2 * maxTokens * hidden + hidden))
        counters = CacheCounters(&layout)
    }

    /// One window's keys, values and readout, in an entry or in scratch laid out the same way.
    struct Entry {
        let base: UnsafeMutablePointer<Float>
        let tokens: Int
        let cache: TransformerStateCache

        func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { base + layer * 2 * cache.maxTokens * cache.hidden }
        func values(_ layer: Int) -> UnsafeMutablePointer<Float> { keys(layer) + cache.maxTokens * cache.hidden }
        var readout: UnsafeMutablePointer<Float> { base + cache.layers * 2 * cache.maxTokens * cache.hidden }
    }

    func find(_ key: WindowKey, in workspace: Workspace) -> Entry? {
        let slot = key.slot(capacity), stored = workspace.intRegion(slots) + 3 * slot
        // safe: slot < capacity, and the slot region holds 3 Ints per slot.
        guard WindowKey(loading: stored) == key else { return nil }
        return Entry(base: workspace.region(entries) + slot * entryWidth, tokens: stored[2], cache: self)
    }

    /// Takes the slot of `key` for a window of `tokens` tokens (evicting whatever it held) and returns its
    /// entry, to be filled.
    func claim(_ key: WindowKey, tokens: Int, in workspace: Workspace) -> Entry {
        let slot = key.slot(capacity), stored = workspace.intRegion(slots) + 3 * slot
        key.save(to: stored)
        stored[2] = tokens
        return Entry(base: workspace.region(entries) + slot * entryWidth, tokens: tokens, cache: self)
    }

    /// Whether a window of `tokens` tokens can be extended by one, so its keys and values are worth storing:
    /// a full window cannot (it would exceed the model's length); only its readout can be used again, by a
    /// repeated request.
    func isExtendable(tokens: Int) -> Bool { tokens < maxTokens }

    /// Copies `entry` (its keys and values if it `isExtendable`, and its readout) into the slot of `key`.
    func store(_ key: WindowKey, _ entry: Entry, in workspace: Workspace) {
        let target = claim(key, tokens: entry.tokens, in: workspace)
        if isExtendable(tokens: entry.tokens) { copy(entry, rows: entry.tokens, into: target) }
        target.readout.update(from: entry.readout, count: hidden)
    }

    /// Copies the first `rows` keys and values of every layer.
    func copy(_ source: Entry, rows: Int, into target: Entry) {
        for layer in 0..<layers {
            target.keys(layer).update(from: source.keys(layer), count: rows * hidden)
            target.values(layer).update(from: source.values(layer), count: rows * hidden)
        }
    }
}

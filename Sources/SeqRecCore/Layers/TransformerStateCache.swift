// A causal transformer's keys and values keyed by the item window they were computed from, in the
// model's shared `StateCache`. With causal attention, token j's keys and values at every layer depend
// only on tokens 0…j (MODELS.md §3.6), so a window that is a stored window plus one item needs one new
// token per layer; a stored window itself needs nothing but its stored readout.
//   record (t tokens, t < L): per layer l: K_l [t, H], V_l [t, H]; then the readout [H]   (exact f32)
//   record (t = L):           the readout [H] (a full window cannot be extended)
// Records hold only the window's t rows, not L: at 20 clicks of a 50-item model, 2.5× more sessions
// fit the budget than in slots sized for the longest window.

struct TransformerStateCache {
    let store: StateCache
    let layers: Int
    let maxTokens: Int
    let hidden: Int
    let counters: CacheCounters

    /// Floats of a workspace entry (`Entry`), laid out for the longest window.
    var entryWidth: Int { layers * 2 * maxTokens * hidden + hidden }

    init(_ layout: inout WorkspaceLayout, settings: StateCacheSettings, layers: Int, maxTokens: Int,
         hidden: Int) throws(ModelLoadError) {
        self.layers = layers
        self.maxTokens = maxTokens
        self.hidden = hidden
        // Index slots are sized for one-token records; the largest record is an extendable window's.
        store = try StateCache(settings, minFloats: layers * 2 * hidden + hidden,
                               maxFloats: layers * 2 * Swift.max(1, maxTokens - 1) * hidden + hidden, model: "transformer")
        counters = CacheCounters(&layout)
    }

    /// One window's keys, values and readout in workspace scratch, rows laid out for `maxTokens`.
    struct Entry {
        let base: UnsafeMutablePointer<Float>
        let tokens: Int
        let cache: TransformerStateCache

        func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { base + layer * 2 * cache.maxTokens * cache.hidden }
        func values(_ layer: Int) -> UnsafeMutablePointer<Float> { keys(layer) + cache.maxTokens * cache.hidden }
        var readout: UnsafeMutablePointer<Float> { base + cache.layers * 2 * cache.maxTokens * cache.hidden }
    }

    /// Whether a window of `tokens` tokens can be extended by one, so its keys and values are worth storing:
    /// a full window cannot (it would exceed the model's length); only its readout can be used again, by a
    /// repeated request.
    func isExtendable(tokens: Int) -> Bool { tokens < maxTokens }

    private func recordFloats(tokens: Int) -> Int {
        isExtendable(tokens: tokens) ? layers * 2 * tokens * hidden + hidden : hidden
    }

    /// Copies the stored readout of the window `key` into `readout` [H]; false when none is stored.
    func loadReadout(_ key: WindowKey, now: UInt64, into readout: UnsafeMutablePointer<Float>) -> Bool {
        var complete = false
        let found = store.read(key, now: now, renew: true) { record in
            guard (1...maxTokens).contains(record.aux), record.floats == recordFloats(tokens: record.aux) else { return }
            readout.update(from: record.payload + record.floats - hidden, count: hidden)
            complete = true
        }
        return found && complete
    }

    /// Copies the stored keys and values of the window `key` of `tokens` tokens into `entry`; false when
    /// they are not stored (then `entry` holds nothing useful).
    func load(_ key: WindowKey, tokens: Int, now: UInt64, into entry: Entry) -> Bool {
        guard isExtendable(tokens: tokens) else { return false }
        var complete = false
        let found = store.read(key, now: now) { record in
            guard record.aux == tokens, record.floats == recordFloats(tokens: tokens) else { return }
            var source = record.payload
            for layer in 0..<layers {
                entry.keys(layer).update(from: source, count: tokens * hidden)
                entry.values(layer).update(from: source + tokens * hidden, count: tokens * hidden)
                source += 2 * tokens * hidden
            }
            complete = true
        }
        return found && complete
    }

    /// Stores `entry` (its keys and values if it `isExtendable`, and its readout) as the window `key`'s;
    /// `superseding`: the window it grew from.
    func save(_ key: WindowKey, _ entry: Entry, now: UInt64, superseding: WindowKey?) {
        let tokens = entry.tokens, floats = recordFloats(tokens: tokens)
        store.store(key, floats: floats, aux: tokens, now: now, superseding: superseding) { target in
            var row = target
            if isExtendable(tokens: tokens) {
                for layer in 0..<layers {
                    row.update(from: entry.keys(layer), count: tokens * hidden)
                    (row + tokens * hidden).update(from: entry.values(layer), count: tokens * hidden)
                    row += 2 * tokens * hidden
                }
            }
            row.update(from: entry.readout, count: hidden)
        }
    }
}

// RecBole 1.2.x `NARM` (recbole/model/sequential_recommender/narm.py), MODELS-next.md §3.
// A bias-free GRU stack over the last L items from a zero state; a sigmoid attention from the last
// state pools every step's top state (c_local); `b` maps [c_local, h_t] back to the item width.
// Scores: dot products with the item table (row 0 = PAD is never returned).
import SeqRecPosix

final class RecBoleNARMEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleNARM.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let gru: [GRULayer]
    let attentionKey, attentionQuery, output: Linear     // a_1, a_2, b
    let pooling: SigmoidAttentionPooling                  // v_t
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let stepRows, projected, states, gh, topStates, keys, queries, joined, poolScratch: Int
    private let order, stepOffsets: Int
    private let cache: CacheRegions?

    /// The state cache (§3.4): per window of m items, every layer's final state, the m top states g_j
    /// and their attention keys a_1(g_j) (exact f32, [L·H + 2·m·H] floats, aux m). A window whose
    /// all-but-last items are stored runs one GRU step.
    private struct CacheRegions {
        let entries: StateCache
        let counters: CacheCounters
        let sessions: Int      // floats [maxBatch, entry width]: each session's states, g rows and key rows
        let windowKeys: Int    // ints [maxBatch, 4]: window key, prefix key
        let kinds: Int         // ints [maxBatch]: 0 run in full, 1 stored whole, 2 one step after a stored prefix
        let appendOrder: Int   // ints [maxBatch]
    }

    var family: ModelFamily { .recboleNARM }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }
    var sharedStateCache: StateCache? { cache?.entries }

    /// Floats of one cache entry or one session's block: layer states, then L rows of g, then L key rows.
    private var entryWidth: Int { configuration.layers * configuration.hiddenSize + 2 * configuration.maxLength * configuration.hiddenSize }

    /// `stateCache`: the budget of the model's state cache, shared by every context (`.off`: none).
    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int, stateCache settings: StateCacheSettings = .off) throws {
        configuration = config
        let e = config.embeddingSize, h = config.hiddenSize
        items = try binder.tensor("item_embedding.weight")
        gru = try (0..<config.layers).map { k in
            try binder.gruLayer(inputWeights: "gru.weight_ih_l\(k)", hiddenWeights: "gru.weight_hh_l\(k)",
                                inputBias: nil, hiddenBias: nil)
        }
        attentionKey = try binder.linear("a_1")
        attentionQuery = try binder.linear("a_2")
        pooling = SigmoidAttentionPooling(weights: try binder.tensor("v_t.weight"), width: h)
        output = try binder.linear("b")
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: e, firstItem: 1)
        var layout = WorkspaceLayout()
        let rows = maxBatch * config.maxLength
        stepRows = layout.reserve(rows * Swift.max(e, h))
        projected = layout.reserve(rows * 3 * h)
        states = layout.reserve(maxBatch * h)
        gh = layout.reserve(maxBatch * 3 * h)
        topStates = layout.reserve(rows * h)
        keys = layout.reserve(rows * h)
        queries = layout.reserve(maxBatch * h)
        joined = layout.reserve(maxBatch * 2 * h)
        poolScratch = layout.reserve(h)
        order = layout.reserveInts(4 * maxBatch)
        stepOffsets = layout.reserveInts(config.maxLength + 1)
        let width = config.layers * h + 2 * config.maxLength * h
        if settings.isEnabled {
            cache = CacheRegions(entries: try StateCache(settings, minFloats: config.layers * h + 2 * h, maxFloats: width, model: "NARM"),
                                 counters: CacheCounters(&layout),
                                 sessions: layout.reserve(maxBatch * width), windowKeys: layout.reserveInts(4 * maxBatch),
                                 kinds: layout.reserveInts(maxBatch), appendOrder: layout.reserveInts(maxBatch))
        } else {
            cache = nil
        }
        workspaceLayout = layout
    }

    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? {
        cache?.counters.statistics(workspace)
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        if let cache {
            encode(sessions, cache: cache, workspace: workspace, into: readout, kernels: kernels)
            return
        }
        let h = configuration.hiddenSize, count = sessions.count
        let members = workspace.intRegion(order) + 3 * count
        for b in 0..<count { members[b] = b }
        runGRU(sessions, members: members, count: count, workspace: workspace, kernels: kernels)
        let sorted = workspace.intRegion(order), length = sorted + count, firstRow = length + count
        let g = workspace.region(topStates), k = workspace.region(keys), z = workspace.region(joined)
        for r in 0..<count { (z + sorted[r] * 2 * h + h).update(from: g + (firstRow[r] + length[r] - 1) * h, count: h) }
        read(count: count, rows: { r in (sorted[r], UnsafePointer(g + firstRow[r] * h), UnsafePointer(k + firstRow[r] * h), length[r]) },
             workspace: workspace, into: readout, kernels: kernels)
    }

    /// Runs the GRU stack over the windows of batch members `members[0..<count]` and leaves, session-major
    /// by rank r (longest window first): `sorted[r]` (batch index), `length[r]`, `firstRow[r]`, the top
    /// states g in `topStates` and their keys a_1(g) in `keys`. `afterLayer(k, states)` sees layer k's final
    /// states [count, H] by rank.
    /// The GRU runs time-major: sessions sorted longest first, so those still stepping at t are a prefix
    /// and step t's rows of every layer are one contiguous block (offset[t] …). Each layer projects all
    /// its inputs in one product, then steps; its outputs are the next layer's inputs.
    private func runGRU(_ sessions: ArraySlice<SessionQuery>, members: UnsafePointer<Int>, count: Int,
                        workspace: Workspace, kernels: Kernels,
                        afterLayer: (Int, UnsafePointer<Float>) -> Void = { _, _ in }) {
        let e = configuration.embeddingSize, h = configuration.hiddenSize
        let start = sessions.startIndex, maxLength = configuration.maxLength
        let sorted = workspace.intRegion(order), length = sorted + count, firstRow = length + count
        for m in 0..<count {
            let n = Swift.min(sessions[start + members[m]].items.count, maxLength)
            var slot = m
            // Insertion sort, longest first: batches are small.
            while slot > 0 && length[slot - 1] < n {
                sorted[slot] = sorted[slot - 1]
                length[slot] = length[slot - 1]
                slot -= 1
            }
            sorted[slot] = members[m]
            length[slot] = n
        }
        let steps = count > 0 ? length[0] : 0, offset = workspace.intRegion(stepOffsets)
        offset[0] = 0
        var active = count
        for t in 0..<steps {
            while active > 0 && length[active - 1] <= t { active -= 1 }
            offset[t + 1] = offset[t] + active
        }
        let rows = offset[steps]
        let x = workspace.region(stepRows), gi = workspace.region(projected), state = workspace.region(states)
        for t in 0..<steps {
            for r in 0..<(offset[t + 1] - offset[t]) {
                let items = sessions[start + sorted[r]].items
                let item = Int(items[items.count - length[r] + t])
                (x + (offset[t] + r) * e).update(from: self.items + item * e, count: e)
            }
        }
        var inputWidth = e
        for (index, layer) in gru.enumerated() {
            layer.input(rows: rows, x, ldx: inputWidth, into: gi, ldo: 3 * h, kernels: kernels)
            state.update(repeating: 0, count: count * h)
            for t in 0..<steps {
                let active = offset[t + 1] - offset[t]
                layer.step(rows: active, projected: gi + offset[t] * 3 * h, hidden: state, gh: workspace.region(gh),
                           kernels: kernels)
                (x + offset[t] * h).update(from: state, count: active * h)
            }
            afterLayer(index, state)
            inputWidth = h
        }
        // Session-major top states g_j and their keys.
        let g = workspace.region(topStates)
        var next = 0
        for r in 0..<count {
            firstRow[r] = next
            for t in 0..<length[r] { (g + (next + t) * h).update(from: x + (offset[t] + r) * h, count: h) }
            next += length[r]
        }
        attentionKey(rows: rows, g, ldx: h, into: workspace.region(keys), ldo: h, kernels: kernels)
    }

    /// Steps 3–7 of §3.3 for `count` sessions: `rows(i)` gives session i's batch index, its g rows, key
    /// rows and length; z[b]'s second half must already hold h_t = g_{m−1}.
    private func read(count: Int, rows: (Int) -> (b: Int, g: UnsafePointer<Float>, keys: UnsafePointer<Float>, m: Int),
                      workspace: Workspace, into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize, e = configuration.embeddingSize
        let z = workspace.region(joined), q = workspace.region(queries), poolRow = workspace.region(poolScratch)
        attentionQuery(rows: count, z + h, ldx: 2 * h, into: q, ldo: h, kernels: kernels)
        for i in 0..<count {
            let session = rows(i)
            pooling(rows: session.m, keys: session.keys, ldk: h, query: q + session.b * h, values: session.g, ldv: h,
                    valueWidth: h, scratch: poolRow, into: z + session.b * 2 * h, kernels: kernels)
        }
        output(rows: count, z, ldx: 2 * h, into: readout, ldo: e, kernels: kernels)
    }

    /// With the state cache: each session's states, g rows and key rows are gathered in its block of
    /// `cache.sessions` (from the cache, from one GRU step after a stored prefix, or from a full run),
    /// then read out and stored. Everything read from the cache is copied before anything is written.
    private func encode(_ sessions: ArraySlice<SessionQuery>, cache: CacheRegions, workspace: Workspace,
                        into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize, e = configuration.embeddingSize, layers = gru.count
        let count = sessions.count, width = entryWidth, maxLength = configuration.maxLength
        let blocks = workspace.region(cache.sessions), windowKeys = workspace.intRegion(cache.windowKeys)
        let kinds = workspace.intRegion(cache.kinds), appendOrder = workspace.intRegion(cache.appendOrder)
        let misses = workspace.intRegion(order) + 3 * count
        func block(_ b: Int) -> UnsafeMutablePointer<Float> { blocks + b * width }
        func gRows(_ b: Int) -> UnsafeMutablePointer<Float> { block(b) + layers * h }
        func keyRows(_ b: Int) -> UnsafeMutablePointer<Float> { block(b) + layers * h + maxLength * h }
        /// Copies the stored record of `key` (a window of `m` items) into session b's block.
        func load(_ key: WindowKey, items m: Int, to b: Int, renew: Bool) -> Bool {
            var complete = false
            let found = cache.entries.read(key, now: now, renew: renew) { record in
                guard record.aux == m, record.floats == layers * h + 2 * m * h else { return }
                block(b).update(from: record.payload, count: layers * h)
                gRows(b).update(from: record.payload + layers * h, count: m * h)
                keyRows(b).update(from: record.payload + layers * h + m * h, count: m * h)
                complete = true
            }
            return found && complete
        }
        let now = MonotonicClock.now()
        var missCount = 0, appends = 0
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: maxLength)
            var key = WindowKey()
            for item in window.dropLast() { key.append(Int(item)) }
            let prefix = key
            prefix.save(to: windowKeys + 4 * b + 2)
            key.append(Int(window[window.endIndex - 1]))
            key.save(to: windowKeys + 4 * b)
            if load(key, items: window.count, to: b, renew: true) {
                kinds[b] = 1
            } else if window.count > 1, load(prefix, items: window.count - 1, to: b, renew: false) {
                kinds[b] = 2
                appendOrder[appends] = b
                appends += 1
            } else {
                kinds[b] = 0
                misses[missCount] = b
                missCount += 1
            }
            cache.counters.count(hit: kinds[b] != 0, in: workspace)
        }
        if missCount > 0 {
            let sorted = workspace.intRegion(order), length = sorted + missCount, firstRow = length + missCount
            runGRU(sessions, members: misses, count: missCount, workspace: workspace, kernels: kernels) { layer, final in
                for r in 0..<missCount { (block(sorted[r]) + layer * h).update(from: final + r * h, count: h) }
            }
            let g = workspace.region(topStates), k = workspace.region(keys)
            for r in 0..<missCount {
                gRows(sorted[r]).update(from: g + firstRow[r] * h, count: length[r] * h)
                keyRows(sorted[r]).update(from: k + firstRow[r] * h, count: length[r] * h)
            }
        }
        if appends > 0 {
            // One step per layer for every appended session: x [A, E] then each layer's new state.
            let x = workspace.region(stepRows), state = workspace.region(states), gi = workspace.region(projected)
            let start = sessions.startIndex
            for a in 0..<appends {
                let items = sessions[start + appendOrder[a]].items
                (x + a * e).update(from: self.items + Int(items[items.count - 1]) * e, count: e)
            }
            var inputWidth = e
            for (index, layer) in gru.enumerated() {
                for a in 0..<appends { (state + a * h).update(from: block(appendOrder[a]) + index * h, count: h) }
                layer.step(rows: appends, x, ldx: inputWidth, hidden: state, gi: gi, gh: workspace.region(gh),
                           kernels: kernels)
                for a in 0..<appends { (block(appendOrder[a]) + index * h).update(from: state + a * h, count: h) }
                x.update(from: state, count: appends * h)
                inputWidth = h
            }
            let newKeys = workspace.region(keys)
            attentionKey(rows: appends, x, ldx: h, into: newKeys, ldo: h, kernels: kernels)
            for a in 0..<appends {
                let b = appendOrder[a], m = Swift.min(sessions[start + b].items.count, maxLength)
                (gRows(b) + (m - 1) * h).update(from: x + a * h, count: h)
                (keyRows(b) + (m - 1) * h).update(from: newKeys + a * h, count: h)
            }
        }
        let z = workspace.region(joined)
        for (b, session) in sessions.enumerated() {
            let m = Swift.min(session.items.count, maxLength)
            (z + b * 2 * h + h).update(from: gRows(b) + (m - 1) * h, count: h)
        }
        read(count: count, rows: { b in
            (b, UnsafePointer(gRows(b)), UnsafePointer(keyRows(b)), Swift.min(sessions[sessions.startIndex + b].items.count, maxLength))
        }, workspace: workspace, into: readout, kernels: kernels)
        for (b, session) in sessions.enumerated() where kinds[b] != 1 {
            let m = Swift.min(session.items.count, maxLength)
            cache.entries.store(WindowKey(loading: windowKeys + 4 * b), floats: layers * h + 2 * m * h, aux: m, now: now,
                                superseding: kinds[b] == 2 ? WindowKey(loading: windowKeys + 4 * b + 2) : nil) { entry in
                entry.update(from: block(b), count: layers * h)
                (entry + layers * h).update(from: gRows(b), count: m * h)
                (entry + layers * h + m * h).update(from: keyRows(b), count: m * h)
            }
        }
    }
}

// RecBole 1.2.x `SASRec` (recbole/model/sequential_recommender/sasrec.py), MODELS.md §3.
// Post-LN BERT layers over the last L items with causal attention; the newest item's row is the
// readout and scores are dot products with the tied item table (row 0 = PAD is never returned).

final class RecBoleSASRecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleSASRec.Configuration

    let configuration: Configuration
    let stack: RecBoleTransformerStack
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let cache: CacheRegions?

    /// The state cache and the per-batch scratch its bookkeeping needs.
    private struct CacheRegions {
        let states: TransformerStateCache
        let keys: Int          // ints [2·maxBatch]: each session's window key
        let sessions: Int      // ints [2·maxBatch]: batch index of each miss, then of each append
        let tokens: Int        // ints [maxBatch]: each append's window length
        let appended: Int      // floats [maxBatch, entry]: appends' keys and values, copied from the cache
        let appendedRows: Int  // floats [maxBatch, H]: appends' new tokens, then their readouts
        let missReadouts: Int  // floats [maxBatch, H]
    }

    var family: ModelFamily { .recboleSASRec }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    /// `stateCacheEntries` windows' keys and values are kept per context (0: none; nil: up to 256 within
    /// 64 MiB; see `TransformerStateCache`).
    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int, stateCacheEntries requested: Int?) throws {
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight")
        var layout = WorkspaceLayout()
        stack = try config.bindStack(binder, items: items, causal: true, maxBatch: maxBatch, layout: &layout)
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: h, firstItem: 1)
        let entryFloats = config.layers * 2 * config.maxLength * h + h
        let stateCacheEntries = requested ?? defaultStateCacheEntries(preferred: 256, floatsPerEntry: entryFloats)
        if stateCacheEntries > 0 {
            let states = TransformerStateCache(&layout, capacity: stateCacheEntries, layers: config.layers,
                                               maxTokens: config.maxLength, hidden: h)
            cache = CacheRegions(states: states, keys: layout.reserveInts(2 * maxBatch),
                                 sessions: layout.reserveInts(2 * maxBatch), tokens: layout.reserveInts(maxBatch),
                                 appended: layout.reserve(maxBatch * states.entryWidth),
                                 appendedRows: layout.reserve(maxBatch * h), missReadouts: layout.reserve(maxBatch * h))
        } else {
            cache = nil
        }
        workspaceLayout = layout
    }

    func stateCacheStatistics(_ workspace: Workspace) -> (lookups: Int, hits: Int)? {
        cache?.states.counters.statistics(workspace)
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        if let cache {
            encode(sessions, cache: cache, workspace: workspace, into: readout, kernels: kernels)
            return
        }
        var rows = 0
        for (b, session) in sessions.enumerated() {
            rows = stack.pack(session: b, items: recentItems(session.items, window: configuration.maxLength), mask: nil,
                              after: rows, workspace: workspace, kernels: kernels)
        }
        stack.run(sessions: sessions.count, rows: rows, workspace: workspace, into: readout, kernels: kernels)
    }

    /// With the state cache (MODELS.md §3.6): a stored window is answered from its stored readout; a window
    /// whose all-but-last items were stored runs its last token only, against the stored keys and values;
    /// the rest run in full. Everything read from the cache is read before anything is written to it, so
    /// windows of one batch that share a slot cannot corrupt each other.
    private func encode(_ sessions: ArraySlice<SessionQuery>, cache: CacheRegions, workspace: Workspace,
                        into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize, states = cache.states
        let keys = workspace.intRegion(cache.keys), order = workspace.intRegion(cache.sessions)
        let tokens = workspace.intRegion(cache.tokens)
        let appended = workspace.region(cache.appended), appendedRows = workspace.region(cache.appendedRows)
        func key(_ b: Int) -> WindowKey { WindowKey(loading: keys + 2 * b) }
        func block(_ a: Int, tokens: Int) -> TransformerStateCache.Entry {
            TransformerStateCache.Entry(base: appended + a * states.entryWidth, tokens: tokens, cache: states)
        }
        var rows = 0, misses = 0, appends = 0
        let appendOrder = order + sessions.count
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: configuration.maxLength)
            var full = WindowKey()
            for item in window.dropLast() { full.append(Int(item)) }
            let prefix = full
            full.append(Int(window[window.endIndex - 1]))
            full.save(to: keys + 2 * b)
            if let stored = states.find(full, in: workspace) {
                (readout + b * h).update(from: stored.readout, count: h)
                states.counters.count(hit: true, in: workspace)
            } else if window.count > 1, let stored = states.find(prefix, in: workspace) {
                states.copy(stored, rows: window.count - 1, into: block(appends, tokens: window.count))
                stack.embedding.embed(item: Int(window[window.endIndex - 1]), position: window.count - 1,
                                      into: appendedRows + appends * h, kernels: kernels)
                appendOrder[appends] = b
                tokens[appends] = window.count
                appends += 1
                states.counters.count(hit: true, in: workspace)
            } else {
                rows = stack.pack(session: misses, items: window, mask: nil, after: rows, workspace: workspace,
                                  kernels: kernels)
                order[misses] = b
                misses += 1
                states.counters.count(hit: false, in: workspace)
            }
        }
        if misses > 0 {
            let missReadouts = workspace.region(cache.missReadouts)
            stack.run(sessions: misses, rows: rows, workspace: workspace, into: missReadouts, kernels: kernels) { layer, k, v in
                for m in 0..<misses {
                    let span = stack.span(m, workspace: workspace)
                    guard states.isExtendable(tokens: span.count) else { continue }
                    let entry = states.claim(key(order[m]), tokens: span.count, in: workspace)
                    entry.keys(layer).update(from: k + span.start * h, count: span.count * h)
                    entry.values(layer).update(from: v + span.start * h, count: span.count * h)
                }
            }
            for m in 0..<misses {
                (readout + order[m] * h).update(from: missReadouts + m * h, count: h)
                let entry = states.claim(key(order[m]), tokens: stack.span(m, workspace: workspace).count, in: workspace)
                entry.readout.update(from: missReadouts + m * h, count: h)
            }
        }
        if appends > 0 {
            stack.runAppended(appendedRows, sessions: appends, cached: { block($0, tokens: tokens[$0]) },
                              known: { tokens[$0] - 1 }, workspace: workspace, kernels: kernels)
            for a in 0..<appends {
                (readout + appendOrder[a] * h).update(from: appendedRows + a * h, count: h)
                let entry = block(a, tokens: tokens[a])
                entry.readout.update(from: appendedRows + a * h, count: h)
                states.store(key(appendOrder[a]), entry, in: workspace)
            }
        }
    }
}

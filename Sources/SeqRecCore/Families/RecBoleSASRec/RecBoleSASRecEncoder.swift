// RecBole 1.2.x `SASRec` (recbole/model/sequential_recommender/sasrec.py), MODELS.md §3.
// Post-LN BERT layers over the last L items with causal attention; the newest item's row is the
// readout and scores are dot products with the tied item table (row 0 = PAD is never returned).
import SeqRecPosix

final class RecBoleSASRecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleSASRec.Configuration

    let configuration: Configuration
    let stack: RecBoleTransformerStack
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let cache: CacheRegions?

    /// The model's state cache and the per-batch scratch its bookkeeping needs.
    private struct CacheRegions {
        let states: TransformerStateCache
        let keys: Int          // ints [4·maxBatch]: each session's window key, then its prefix's
        let sessions: Int      // ints [2·maxBatch]: batch index of each miss, then of each append
        let tokens: Int        // ints [maxBatch]: each append's window length
        let appended: Int      // floats [maxBatch, entry]: appends' keys and values, read from the cache
        let missed: Int        // floats [maxBatch, entry]: misses' keys and values, to be stored
        let appendedRows: Int  // floats [maxBatch, H]: appends' new tokens, then their readouts
        let missReadouts: Int  // floats [maxBatch, H]
    }

    var family: ModelFamily { .recboleSASRec }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }
    var sharedStateCache: StateCache? { cache?.states.store }

    /// `stateCache`: the budget of the model's key/value cache, shared by every context (see
    /// `TransformerStateCache`).
    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int, stateCache settings: StateCacheSettings) throws {
        configuration = config
        let h = config.hiddenSize
        let items = try binder.tensor("item_embedding.weight")
        var layout = WorkspaceLayout()
        stack = try config.bindStack(binder, items: items, causal: true, maxBatch: maxBatch, layout: &layout)
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: h, firstItem: 1)
        if settings.isEnabled {
            let states = try TransformerStateCache(&layout, settings: settings, layers: config.layers,
                                                   maxTokens: config.maxLength, hidden: h)
            cache = CacheRegions(states: states, keys: layout.reserveInts(4 * maxBatch),
                                 sessions: layout.reserveInts(2 * maxBatch), tokens: layout.reserveInts(maxBatch),
                                 appended: layout.reserve(maxBatch * states.entryWidth),
                                 missed: layout.reserve(maxBatch * states.entryWidth),
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
    /// the rest run in full. Everything read from the cache is copied into this context's scratch first.
    private func encode(_ sessions: ArraySlice<SessionQuery>, cache: CacheRegions, workspace: Workspace,
                        into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let h = configuration.hiddenSize, states = cache.states, now = MonotonicClock.now()
        let keys = workspace.intRegion(cache.keys), order = workspace.intRegion(cache.sessions)
        let tokens = workspace.intRegion(cache.tokens)
        let appended = workspace.region(cache.appended), appendedRows = workspace.region(cache.appendedRows)
        let missed = workspace.region(cache.missed)
        func key(_ b: Int) -> WindowKey { WindowKey(loading: keys + 4 * b) }
        func prefix(_ b: Int) -> WindowKey { WindowKey(loading: keys + 4 * b + 2) }
        func block(_ base: UnsafeMutablePointer<Float>, _ index: Int, tokens: Int) -> TransformerStateCache.Entry {
            TransformerStateCache.Entry(base: base + index * states.entryWidth, tokens: tokens, cache: states)
        }
        var rows = 0, misses = 0, appends = 0
        let appendOrder = order + sessions.count
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: configuration.maxLength)
            var full = WindowKey()
            for item in window.dropLast() { full.append(Int(item)) }
            full.save(to: keys + 4 * b + 2)
            full.append(Int(window[window.endIndex - 1]))
            full.save(to: keys + 4 * b)
            if states.loadReadout(full, now: now, into: readout + b * h) {
                states.counters.count(hit: true, in: workspace)
            } else if window.count > 1,
                      states.load(prefix(b), tokens: window.count - 1, now: now, into: block(appended, appends, tokens: window.count)) {
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
                    let entry = block(missed, m, tokens: span.count)
                    entry.keys(layer).update(from: k + span.start * h, count: span.count * h)
                    entry.values(layer).update(from: v + span.start * h, count: span.count * h)
                }
            }
            for m in 0..<misses {
                (readout + order[m] * h).update(from: missReadouts + m * h, count: h)
                let entry = block(missed, m, tokens: stack.span(m, workspace: workspace).count)
                entry.readout.update(from: missReadouts + m * h, count: h)
                states.save(key(order[m]), entry, now: now, superseding: nil)
            }
        }
        if appends > 0 {
            stack.runAppended(appendedRows, sessions: appends, cached: { block(appended, $0, tokens: tokens[$0]) },
                              known: { tokens[$0] - 1 }, workspace: workspace, kernels: kernels)
            for a in 0..<appends {
                (readout + appendOrder[a] * h).update(from: appendedRows + a * h, count: h)
                let entry = block(appended, a, tokens: tokens[a])
                entry.readout.update(from: appendedRows + a * h, count: h)
                states.save(key(appendOrder[a]), entry, now: now, superseding: prefix(appendOrder[a]))
            }
        }
    }
}

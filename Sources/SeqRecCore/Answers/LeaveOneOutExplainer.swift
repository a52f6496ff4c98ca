// Explanations: the exact score drop of every returned item when one session item is left out.
//   d distinct items in the session's window (≤ SessionQuery.maxExplainedItems), m returned items
//   entries: 0 = the whole session, e = the session without every occurrence of item e (its window then
//   reaches one older item further back, exactly as the model would see that shorter session)
//   ⌈(d + 1) / maxBatch⌉ encoder batches + (d + 1)·m dot products of the table width
//   contribution(item e → returned r) = score(whole, r) − score(without e, r), both from this batch.

/// Per-context explanation state: the variant sessions (their arrays reused), a readout buffer and the
/// running top contributors of each returned item. Built on a context's first explained query.
final class LeaveOneOutExplainer {
    private let table: ScoringTable
    private let encoder: any SequenceEncoder
    private let workspace: Workspace
    private let window: Int
    private let maxBatch: Int
    private var sessions: [SessionQuery]
    private let readout: UnsafeMutablePointer<Float>     // [maxBatch, w]
    private let removed: UnsafeMutablePointer<Int32>     // [maxBatch]: item left out of entry j, −1 = none
    private let distinct: UnsafeMutablePointer<Int32>    // [maxExplainedItems]
    private let fullScores: UnsafeMutablePointer<Float>  // [maxK]
    private let topItems: UnsafeMutablePointer<Int32>    // [maxK, maxContributors]
    private let topValues: UnsafeMutablePointer<Float>   // [maxK, maxContributors]
    private let topCounts: UnsafeMutablePointer<Int>     // [maxK]

    /// - Parameters: `encoder` and `workspace`: a cache-less forward pass and scratch it may use freely.
    init(encoder: any SequenceEncoder, workspace: Workspace, table: ScoringTable, window: Int, maxBatch: Int) {
        self.encoder = encoder
        self.workspace = workspace
        self.table = table
        self.window = window
        self.maxBatch = maxBatch
        sessions = Array(repeating: SessionQuery(items: [], k: 1), count: maxBatch)
        readout = .allocate(capacity: maxBatch * table.width)
        removed = .allocate(capacity: maxBatch)
        distinct = .allocate(capacity: SessionQuery.maxExplainedItems)
        fullScores = .allocate(capacity: SessionQuery.maxK)
        let slots = SessionQuery.maxK * Recommendation.maxContributors
        topItems = .allocate(capacity: slots)
        topValues = .allocate(capacity: slots)
        topCounts = .allocate(capacity: SessionQuery.maxK)
    }

    deinit {
        readout.deallocate()
        removed.deallocate()
        distinct.deallocate()
        fullScores.deallocate()
        topItems.deallocate()
        topValues.deallocate()
        topCounts.deallocate()
    }

    /// Fills `result.because` for `result.items` (the final answer to the validated, non-empty `query`).
    func explain(_ query: SessionQuery, _ result: inout Recommendation, kernels: Kernels) {
        let m = result.items.count
        result.because.removeAll(keepingCapacity: true)
        result.contributorsPerItem = 0
        guard m > 0 else { return }
        var d = 0
        // Newest first; validation bounds d by maxExplainedItems.
        for item in query.items.suffix(window).reversed() where !(0..<d).contains(where: { distinct[$0] == item }) {
            distinct[d] = item
            d += 1
        }
        for i in 0..<m { topCounts[i] = 0 }
        var entry = 0, variants = 0
        while entry <= d {
            var count = 0
            while count < maxBatch && entry <= d {
                let left: Int32 = entry == 0 ? -1 : distinct[entry - 1]
                entry += 1
                Self.fill(&sessions[count].items, from: query.items, without: left, window: window)
                guard !sessions[count].items.isEmpty else { continue }   // the session held nothing else
                removed[count] = left
                if left >= 0 { variants += 1 }
                count += 1
            }
            guard count > 0 else { break }
            encoder.encode(sessions[0..<count], workspace: workspace, into: readout, kernels: kernels)
            for j in 0..<count {
                for i in 0..<m {
                    let item = Int(result.items[i])   // safe: returned items are table rows
                    let score = kernels.dot(count: table.width, readout + j * table.width, table.table + item * table.width)
                        + (table.bias?[item] ?? 0)
                    if removed[j] < 0 { fullScores[i] = score } else { offer(fullScores[i] - score, removed[j], to: i) }
                }
            }
        }
        var perItem = Swift.min(variants, Recommendation.maxContributors)
        for i in 0..<m { perItem = Swift.min(perItem, topCounts[i]) }
        result.contributorsPerItem = perItem
        for i in 0..<m {
            for c in 0..<perItem {
                let slot = i * Recommendation.maxContributors + c
                result.because.append(Contribution(item: topItems[slot], contribution: topValues[slot]))
            }
        }
    }

    /// `items` := the newest `window` items of `session` that are not `left` (all of them for −1), oldest first.
    private static func fill(_ items: inout [Int32], from session: [Int32], without left: Int32, window: Int) {
        items.removeAll(keepingCapacity: true)
        for item in session.reversed() where item != left {
            items.append(item)
            if items.count == window { break }
        }
        items.reverse()
    }

    /// Keeps the `maxContributors` largest contributions of returned item `i` (ties: lower id first).
    private func offer(_ value: Float, _ item: Int32, to i: Int) {
        guard value.isFinite else { return }   // an overflowing variant score explains nothing
        let base = i * Recommendation.maxContributors
        var slot = topCounts[i]
        if slot == Recommendation.maxContributors {
            let last = base + slot - 1
            guard value > topValues[last] || (value == topValues[last] && item < topItems[last]) else { return }
            slot -= 1
        } else {
            topCounts[i] += 1
        }
        while slot > 0 {
            let above = base + slot - 1
            guard value > topValues[above] || (value == topValues[above] && item < topItems[above]) else { break }
            topValues[base + slot] = topValues[above]
            topItems[base + slot] = topItems[above]
            slot -= 1
        }
        topValues[base + slot] = value
        topItems[base + slot] = item
    }
}

// The cold-start answer: an empty session (with `SessionQuery.fallback`) gets the most popular items
// that pass the query's filters, scored by their popularity.
//   full catalog: walk the precomputed ranking, skip excluded items, stop after `depth` items (usually
//   a few dozen steps); allow/candidates: each listed item offered to a heap by popularity.

/// Per-context scratch for fallback answers: one exclusion and one allow bitset over the table rows,
/// and a heap of `SessionQuery.maxK` entries. Never allocates after init.
final class FallbackSelector {
    private let ranking: PopularityRanking
    private let rows: Int
    private let words: Int
    private let excluded: UnsafeMutablePointer<UInt64>   // [words]
    private let allowed: UnsafeMutablePointer<UInt64>    // [words]
    private let heapScores: UnsafeMutablePointer<Float>  // [maxK]
    private let heapItems: UnsafeMutablePointer<Int32>   // [maxK]

    init(ranking: PopularityRanking, rows: Int) {
        self.ranking = ranking
        self.rows = rows
        words = (rows + 63) / 64
        excluded = .allocate(capacity: words)
        excluded.initialize(repeating: 0, count: words)
        allowed = .allocate(capacity: words)
        allowed.initialize(repeating: 0, count: words)
        heapScores = .allocate(capacity: SessionQuery.maxK)
        heapItems = .allocate(capacity: SessionQuery.maxK)
    }

    deinit {
        excluded.deallocate()
        allowed.deallocate()
        heapScores.deallocate()
        heapItems.deallocate()
    }

    /// Fills `result` with the `query.selectionDepth` most popular admissible items, best first, scored
    /// by popularity. The query is validated: every listed id is a recommendable table row.
    func select(_ query: SessionQuery, into result: inout Recommendation) {
        let depth = query.selectionDepth
        for item in query.deny { set(excluded, Int(item), true) }
        if let list = query.candidates ?? query.allow {
            let restrict = query.candidates != nil && query.allow != nil
            if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), true) } }
            var heap = TopKHeap(scores: heapScores, items: heapItems, capacity: depth)
            for item in list where !isSet(excluded, Int(item)) && (!restrict || isSet(allowed, Int(item))) {
                heap.offer(ranking.values[Int(item)], item)
                set(excluded, Int(item), true)   // a duplicate is offered once
            }
            heap.drain(into: &result)
            for item in list { set(excluded, Int(item), false) }
            if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), false) } }
        } else {
            result.items.removeAll(keepingCapacity: true)
            result.scores.removeAll(keepingCapacity: true)
            for item in ranking.order where !isSet(excluded, Int(item)) {
                result.items.append(item)
                result.scores.append(ranking.values[Int(item)])
                if result.items.count == depth { break }
            }
        }
        for item in query.deny { set(excluded, Int(item), false) }
    }

    @inline(__always)
    private func isSet(_ bits: UnsafeMutablePointer<UInt64>, _ item: Int) -> Bool {
        bits[item >> 6] & (1 << UInt64(item & 63)) != 0
    }

    @inline(__always)
    private func set(_ bits: UnsafeMutablePointer<UInt64>, _ item: Int, _ value: Bool) {
        // safe: validated ids are recommendable table rows, < rows = 64 · words at most.
        if value { bits[item >> 6] |= 1 << UInt64(item & 63) } else { bits[item >> 6] &= ~(1 << UInt64(item & 63)) }
    }
}

extension SessionQuery {
    /// How many items the scorer keeps before the answer stage: the diversity pool, else k.
    var selectionDepth: Int { Swift.min(Swift.max(diversity?.pool ?? k, k), SessionQuery.maxK) }
}

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
    /// The listed items by popularity, before the per-category cap.
    private var pool = Recommendation()
    /// Per-category counters of the cap, zero between requests.
    private var counts: [Int] = []

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
    /// by popularity. The query is validated: every listed id is a recommendable table row. `catalogue`
    /// (the model's item attributes at `now`) applies the query's attribute filters exactly as the scan
    /// does: available/unexpired, categories, and the per-category cap (greedy down the popularity order;
    /// with allow/candidates, among the `SessionQuery.maxK` most popular listed items).
    func select(_ query: SessionQuery, into result: inout Recommendation, catalogue: CatalogueSnapshot?, now: Int64) {
        let depth = query.selectionDepth
        let masked = writeFilterMask(query.filters, catalogue: catalogue, now: now)
        for item in query.deny { set(excluded, Int(item), true) }
        let cap = catalogue != nil ? query.filters.maxPerCategory : nil
        if cap != nil { growCounts(catalogue!) }
        result.items.removeAll(keepingCapacity: true)
        result.scores.removeAll(keepingCapacity: true)
        if let list = query.candidates ?? query.allow {
            let restrict = query.candidates != nil && query.allow != nil
            if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), true) } }
            var heap = TopKHeap(scores: heapScores, items: heapItems, capacity: cap == nil ? depth : SessionQuery.maxK)
            for item in list where !isSet(excluded, Int(item)) && (!restrict || isSet(allowed, Int(item))) {
                heap.offer(ranking.values[Int(item)], item)
                set(excluded, Int(item), true)   // a duplicate is offered once
            }
            heap.drain(into: &pool)
            for item in pool.items where take(item, cap: cap, catalogue: catalogue) {
                result.items.append(item)
                result.scores.append(ranking.values[Int(item)])
                if result.items.count == depth { break }
            }
            for item in list { set(excluded, Int(item), false) }
            if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), false) } }
        } else {
            for item in ranking.order where !isSet(excluded, Int(item)) && take(item, cap: cap, catalogue: catalogue) {
                result.items.append(item)
                result.scores.append(ranking.values[Int(item)])
                if result.items.count == depth { break }
            }
        }
        if let catalogue, cap != nil {
            for item in result.items {
                _ = catalogue.forEachCategory(of: item) { category in
                    counts[Int(category)] = 0
                    return true
                }
            }
        }
        if masked { excluded.update(repeating: 0, count: words) } else { for item in query.deny { set(excluded, Int(item), false) } }
    }

    /// The scan's filter mask (`CatalogScorer.writeFilterMask`'s rules) in the exclusion bitset; false
    /// when the filters exclude nothing.
    private func writeFilterMask(_ filters: ItemFilters, catalogue: CatalogueSnapshot?, now: Int64) -> Bool {
        guard let catalogue else {
            // No attributes: no item is in any category, so an include rule matches nothing.
            guard !filters.categoriesInclude.isEmpty else { return false }
            excluded.update(repeating: ~0, count: words)
            return true
        }
        guard catalogue.excludesAnything(filters) else { return false }
        catalogue.writeExclusions(filters, now: now, into: excluded, words: words)
        return true
    }

    /// Whether `item` fits the per-category cap (then counted), or there is no cap.
    private func take(_ item: Int32, cap: Int?, catalogue: CatalogueSnapshot?) -> Bool {
        guard let cap, let catalogue else { return true }
        guard catalogue.forEachCategory(of: item, { counts[Int($0)] < cap }) else { return false }
        _ = catalogue.forEachCategory(of: item) { category in
            counts[Int(category)] += 1
            return true
        }
        return true
    }

    /// One counter per category number (grows only when a snapshot has more categories than before).
    private func growCounts(_ catalogue: CatalogueSnapshot) {
        if counts.count < catalogue.categoryCount {
            counts.append(contentsOf: repeatElement(0, count: catalogue.categoryCount - counts.count))
        }
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

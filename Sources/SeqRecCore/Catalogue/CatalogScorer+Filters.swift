// The scorer's side of `ItemFilters`: a request's attribute rules become bits in its exclusion row
// before the scan (the scan itself is unchanged: it already skips excluded rows), and the per-category
// cap runs a greedy pass over a pool of the best items, scanning again only when the pool ran out.
//
// Exactness of the cap: the greedy answer over all eligible items sorted best first depends only on
// the prefix of that order up to its k-th pick. A pool is that prefix (the heap keeps the best P under
// the same order), so the greedy pass over it decides each of its items exactly as over the full list.
// If the pool ends before k picks, the next round excludes the picks and every category already at the
// cap (its later items can never be picked: counts only grow) and takes the next pool; the first item
// of every such pool is picked, so each round makes progress.

/// Per-context scratch of the cap: one counter per category number, grown when a snapshot has more
/// categories (never in steady state), and the picks of the request in hand.
struct CategoryCapScratch {
    var counts: [Int32] = []
    var touched: [Int32] = []
    var items: [Int32] = []
    var scores: [Float] = []
    var pool = Recommendation()
}

extension CatalogScorer {
    /// Heap capacity for `query`: its selection depth (k, or the diversity pool of Answers/), or a
    /// larger pool of candidates for the per-category cap.
    func poolSize(_ query: SessionQuery, _ catalogue: CatalogueSnapshot?) -> Int {
        let k = query.selectionDepth
        guard catalogue != nil, query.filters.maxPerCategory != nil else { return k }
        return Swift.min(SessionQuery.maxK, Swift.max(4 * k, k + 64))
    }

    /// Writes session b's attribute-filter mask into its exclusion row; false when the filters exclude
    /// nothing (the row is left as it was: all clear).
    func writeFilterMask(_ filters: ItemFilters, session b: Int, catalogue: CatalogueSnapshot?, now: Int64) -> Bool {
        let row = excluded + b * words
        guard let catalogue else {
            // No attributes: no item is in any category, so an include rule matches nothing.
            guard !filters.categoriesInclude.isEmpty else { return false }
            row.update(repeating: ~0, count: words)
            return true
        }
        guard catalogue.excludesAnything(filters) else { return false }
        catalogue.writeExclusions(filters, now: now, into: row, words: words)
        return true
    }

    func clearRow(session b: Int) {
        (excluded + b * words).update(repeating: 0, count: words)
        masked[b] = false
    }

    /// Replaces `result` (the pool, best first) with the greedy capped answer of at most
    /// `selectionDepth` items (k, or the diversity pool that MMR then re-ranks within the cap).
    func capPerCategory(_ query: SessionQuery, session b: Int, readout u: UnsafePointer<Float>,
                        result: inout Recommendation, catalogue: CatalogueSnapshot, now: Int64, kernels: Kernels) {
        let limit = Int32(query.filters.maxPerCategory ?? Int.max)   // validated: 1…maxK
        let k = query.selectionDepth, poolCapacity = poolSize(query, catalogue)
        if cap.counts.count < catalogue.categoryCount {
            cap.counts.append(contentsOf: repeatElement(0, count: catalogue.categoryCount - cap.counts.count))
        }
        cap.items.removeAll(keepingCapacity: true)
        cap.scores.removeAll(keepingCapacity: true)
        cap.touched.removeAll(keepingCapacity: true)
        var poolCount = result.items.count
        greedy(result, limit: limit, k: k, catalogue: catalogue)
        while cap.items.count < k && poolCount == poolCapacity {
            // The pool ran out: exclude the picks and the full categories, take the next pool.
            let row = excluded + b * words
            if !writeFilterMask(query.filters, session: b, catalogue: catalogue, now: now) {
                row.update(repeating: 0, count: words)
            }
            masked[b] = true
            setExclusions(query, session: b, to: true)
            for item in cap.items { row[Int(item) >> 6] |= 1 << UInt64(item & 63) }
            for category in cap.touched where cap.counts[Int(category)] >= limit { catalogue.excludeCategory(category, in: row) }
            heaps[b] = TopKHeap(scores: heaps[b].scores, items: heaps[b].items, capacity: poolCapacity)
            if query.candidates == nil && query.allow == nil {
                fullCatalog[0] = b
                (compact).update(from: u, count: table.width)
                scanCatalog(sessions: 1, kernels: kernels)
            } else {
                scoreCandidates(query, session: b, readout: u, kernels: kernels)
            }
            heaps[b].drain(into: &cap.pool)
            poolCount = cap.pool.items.count
            greedy(cap.pool, limit: limit, k: k, catalogue: catalogue)
        }
        result.items.removeAll(keepingCapacity: true)
        result.scores.removeAll(keepingCapacity: true)
        result.items.append(contentsOf: cap.items)
        result.scores.append(contentsOf: cap.scores)
        for category in cap.touched { cap.counts[Int(category)] = 0 }
    }

    /// Walks `pool` best first, picking each item none of whose categories is at `limit`, until k picks.
    private func greedy(_ pool: Recommendation, limit: Int32, k: Int, catalogue: CatalogueSnapshot) {
        for (item, score) in zip(pool.items, pool.scores) {
            guard cap.items.count < k else { return }
            let fits = catalogue.forEachCategory(of: item) { cap.counts[Int($0)] < limit }
            guard fits else { continue }
            _ = catalogue.forEachCategory(of: item) { category in
                if cap.counts[Int(category)] == 0 { cap.touched.append(category) }
                cap.counts[Int(category)] += 1
                return true
            }
            cap.items.append(item)
            cap.scores.append(score)
        }
    }
}

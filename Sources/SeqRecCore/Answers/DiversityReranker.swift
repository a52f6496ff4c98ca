// Maximal marginal relevance (Carbonell & Goldstein 1998) over a pool the scorer already selected:
//   n pool items (filters applied, best first), m = min(k, n) picks, w table width
//   relevance r_i = (s_i − s_min) / (s_max − s_min) over the pool (1 when all scores are equal)
//   pick t: argmax over unpicked i of λ·r_i − (1 − λ)·maxSim_i, ties to the better pool rank;
//   maxSim_i = max cosine(table row i, rows picked so far), 0 before the first pick.
//   Cost: n norms + m·n dot products of width w (top 200 → 10 at w = 64: 130k multiply-adds).

/// Per-context MMR scratch, sized for `SessionQuery.maxK` pool items; never allocates after init.
final class DiversityReranker {
    private let table: ScoringTable
    private let norms: UnsafeMutablePointer<Float>          // [maxK]: |table row| of pool item i
    private let relevance: UnsafeMutablePointer<Float>      // [maxK]
    private let maxSimilarity: UnsafeMutablePointer<Float>  // [maxK]
    private let picked: UnsafeMutablePointer<Bool>          // [maxK]
    private let order: UnsafeMutablePointer<Int>            // [maxK]: pool index of pick t
    private let pickedItems: UnsafeMutablePointer<Int32>    // [maxK]
    private let pickedScores: UnsafeMutablePointer<Float>   // [maxK]

    init(table: ScoringTable) {
        self.table = table
        let n = SessionQuery.maxK
        norms = .allocate(capacity: n)
        relevance = .allocate(capacity: n)
        maxSimilarity = .allocate(capacity: n)
        picked = .allocate(capacity: n)
        order = .allocate(capacity: n)
        pickedItems = .allocate(capacity: n)
        pickedScores = .allocate(capacity: n)
    }

    deinit {
        norms.deallocate()
        relevance.deallocate()
        maxSimilarity.deallocate()
        picked.deallocate()
        order.deallocate()
        pickedItems.deallocate()
        pickedScores.deallocate()
    }

    /// Replaces `result`'s pool (items best first, at most `SessionQuery.maxK`, valid table rows) by its
    /// first `k` MMR picks in pick order, each with its raw score.
    func rerank(_ result: inout Recommendation, k: Int, lambda: Float, kernels: Kernels) {
        let n = result.items.count, m = Swift.min(k, n), w = table.width
        guard n > 0 else { return }
        precondition(n <= SessionQuery.maxK, "the pool is a top-k answer of at most maxK items")
        result.items.withUnsafeBufferPointer { items in
            result.scores.withUnsafeBufferPointer { scores in
                // Scores are finite (TopKHeap keeps finite scores only) and sorted best first.
                let high = scores[0], low = scores[n - 1], span = high - low
                for i in 0..<n {
                    relevance[i] = span > 0 && span.isFinite ? (scores[i] - low) / span : 1
                    let row = table.table + Int(items[i]) * w   // safe: pool items are table rows
                    norms[i] = kernels.dot(count: w, row, row).squareRoot()
                    maxSimilarity[i] = 0
                    picked[i] = false
                }
                for t in 0..<m {
                    var best = -1, bestValue = -Float.infinity
                    for i in 0..<n where !picked[i] {
                        let value = lambda * relevance[i] - (1 - lambda) * maxSimilarity[i]
                        if best < 0 || value > bestValue { best = i; bestValue = value }
                    }
                    picked[best] = true
                    order[t] = best
                    guard t + 1 < m else { break }
                    let chosen = table.table + Int(items[best]) * w
                    for i in 0..<n where !picked[i] {
                        let similarity = cosine(kernels.dot(count: w, chosen, table.table + Int(items[i]) * w),
                                                norms[best], norms[i])
                        if similarity > maxSimilarity[i] || t == 0 { maxSimilarity[i] = similarity }
                    }
                }
            }
        }
        // Picks reference pool indices: read every pick before overwriting the pool.
        for t in 0..<m {
            pickedItems[t] = result.items[order[t]]
            pickedScores[t] = result.scores[order[t]]
        }
        for t in 0..<m {
            result.items[t] = pickedItems[t]
            result.scores[t] = pickedScores[t]
        }
        result.items.removeLast(n - m)
        result.scores.removeLast(n - m)
    }

    /// Cosine of two rows from their dot product and norms; 0 when either row is zero.
    @inline(__always)
    private func cosine(_ dot: Float, _ a: Float, _ b: Float) -> Float {
        let denominator = a * b
        return denominator > 0 ? dot / denominator : 0
    }
}

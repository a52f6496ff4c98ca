// Bounded selection of the k best (score, item) pairs without sorting the catalog.
// Order: higher score first; equal scores rank the lower item id first. Non-finite scores are dropped.

/// A min-heap of at most `capacity` entries whose root is the worst kept entry.
/// Views memory owned by an `InferenceContext`; never allocates.
struct TopKHeap {
    let scores: UnsafeMutablePointer<Float>
    let items: UnsafeMutablePointer<Int32>
    let capacity: Int
    private(set) var count = 0

    init(scores: UnsafeMutablePointer<Float>, items: UnsafeMutablePointer<Int32>, capacity: Int) {
        self.scores = scores
        self.items = items
        self.capacity = capacity
    }

    @inline(__always)
    static func isWorse(_ s1: Float, _ i1: Int32, than s2: Float, _ i2: Int32) -> Bool {
        s1 < s2 || (s1 == s2 && i1 > i2)
    }

    /// The score an item must beat to enter (−∞ until the heap is full).
    @inline(__always)
    var threshold: Float { count < capacity ? -.infinity : scores[0] }

    /// Keeps `item` if it ranks among the best `capacity`. A score that is not finite is never kept: the
    /// engine returns finite scores only (NaN or ±∞ can only come from finite weights that overflow Float,
    /// since the reader refuses non-finite weights; FORMAT.md §5, §11).
    @inline(__always)
    mutating func offer(_ score: Float, _ item: Int32) {
        guard score.isFinite else { return }
        if count < capacity {
            var slot = count
            count += 1
            while slot > 0 {
                let parent = (slot - 1) / 2
                guard Self.isWorse(score, item, than: scores[parent], items[parent]) else { break }
                scores[slot] = scores[parent]
                items[slot] = items[parent]
                slot = parent
            }
            scores[slot] = score
            items[slot] = item
        } else if capacity > 0 && Self.isWorse(scores[0], items[0], than: score, item) {
            siftDown(score, item, count: count)
        }
    }

    private func siftDown(_ score: Float, _ item: Int32, count: Int) {
        var slot = 0
        while true {
            let left = 2 * slot + 1
            guard left < count else { break }
            var child = left
            if left + 1 < count && Self.isWorse(scores[left + 1], items[left + 1], than: scores[left], items[left]) {
                child = left + 1
            }
            guard Self.isWorse(scores[child], items[child], than: score, item) else { break }
            scores[slot] = scores[child]
            items[slot] = items[child]
            slot = child
        }
        scores[slot] = score
        items[slot] = item
    }

    /// Empties the heap into `result`, best first.
    mutating func drain(into result: inout Recommendation) {
        let total = count
        result.items.removeAll(keepingCapacity: true)
        result.scores.removeAll(keepingCapacity: true)
        // Pop the worst repeatedly into the tail of the heap's own storage, leaving it sorted best first.
        while count > 0 {
            let last = count - 1
            let worstScore = scores[0], worstItem = items[0]
            let movedScore = scores[last], movedItem = items[last]
            count = last
            if last > 0 { siftDown(movedScore, movedItem, count: last) }
            scores[last] = worstScore
            items[last] = worstItem
        }
        for index in 0..<total {
            result.items.append(items[index])
            result.scores.append(scores[index])
        }
    }
}

extension TopKHeap {
    /// Offers `item` unless its bit is set in `excluded` (one bit per table row).
    @inline(__always)
    mutating func offer(_ score: Float, _ item: Int, excluded bits: UnsafePointer<UInt64>) {
        guard bits[item >> 6] & (1 << UInt64(item & 63)) == 0 else { return }
        offer(score, Int32(item))
    }

    /// Offers every score of a block (`scores[j]` belongs to item `items.lowerBound + j`) that reaches the
    /// threshold and is not excluded, comparing a whole vector of scores with the threshold at once: almost
    /// all of a large catalog fails that compare, so the bitset and the heap see only the few that pass.
    mutating func offerPassing(_ scores: UnsafePointer<Float>, items: Range<Int>, excluded bits: UnsafePointer<UInt64>) {
        let lanes = SIMDWidth.lanes, first = items.lowerBound
        var j = 0, limit = FloatLanes(repeating: threshold)
        while j + lanes <= items.count {
            // safe: the block holds items.count scores and j + lanes <= items.count.
            let passing = scores.lanes(at: j) .>= limit   // NaN compares false: `offer` would reject it too
            if any(passing) {
                for lane in 0..<lanes where passing[lane] { offer(scores[j + lane], first + j + lane, excluded: bits) }
                limit = FloatLanes(repeating: threshold)
            }
            j += lanes
        }
        while j < items.count {
            if scores[j] >= threshold { offer(scores[j], first + j, excluded: bits) }
            j += 1
        }
    }
}

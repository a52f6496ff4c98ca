// The fused catalog scan: scores 8 table rows at a time in registers and compares them with the heap's
// threshold in one vector compare, so no score is written to memory and only the few rows that beat the
// threshold reach the exclusion bitset and the heap.
//   rows lo..<hi of table [N, w], readout u [w], bias [N]? → heap (k best, excluded rows skipped)
// Its twin is the blocked path in CatalogScorer (GEMV/GEMM into a score block, then a threshold scan);
// ScoringTests compares both with a brute-force sort.

enum FusedScan {
    /// Offers every row in `range` that is not excluded and could enter `heap` (a row scoring below the
    /// heap's threshold is skipped: `offer` would reject it anyway).
    static func scan(_ table: ScoringTable, rows range: Range<Int>, readout u: UnsafePointer<Float>,
                     excluded bits: UnsafePointer<UInt64>, into heap: inout TopKHeap) {
        let w = table.width, step = SIMDKernels.scanRows
        var low = range.lowerBound
        var threshold = FloatLanes(repeating: heap.threshold)
        while low + step <= range.upperBound {
            // safe: rows low..<low+8 lie inside the range, which lies inside the table (and its bias).
            var scores = SIMDKernels.dot8(count: w, rows: table.table + low * w, rowStride: w, u)
            if let bias = table.bias { scores += bias.lanes(at: low) }
            let passing = scores .>= threshold   // NaN compares false: never offered, as `offer` would do
            if any(passing) {
                for lane in 0..<step where passing[lane] { heap.offer(scores[lane], low + lane, excluded: bits) }
                threshold = FloatLanes(repeating: heap.threshold)
            }
            low += step
        }
        while low < range.upperBound {  // leftovers, one row at a time
            let score = SIMDKernels.dot(count: w, u, table.table + low * w) + (table.bias?[low] ?? 0)
            if score >= heap.threshold { heap.offer(score, low, excluded: bits) }
            low += 1
        }
    }
}

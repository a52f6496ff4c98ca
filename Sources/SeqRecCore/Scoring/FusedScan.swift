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
        while low < range.upperBound {  // leftovers, one row at a time, each scored exactly as in a block
            let score = rowScore(table, row: low, readout: u)
            if score >= heap.threshold { heap.offer(score, low, excluded: bits) }
            low += 1
        }
    }

    /// Row `row`'s score exactly as `scan` computes it (bit for bit): `dot8` on eight copies of the row (its
    /// lanes are computed alike, whatever the row's position in a block), plus the bias. ExactScan re-scores
    /// its candidates with it, so the int8 path returns the fp32 scan's scores.
    @inline(__always)
    static func rowScore(_ table: ScoringTable, row: Int, readout u: UnsafePointer<Float>) -> Float {
        // safe: row < table.rows; a row stride of 0 reads only that row.
        SIMDKernels.dot8(count: table.width, rows: table.table + row * table.width, rowStride: 0, u)[0]
            + (table.bias?[row] ?? 0)
    }
}

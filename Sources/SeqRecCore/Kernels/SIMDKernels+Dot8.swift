// The 8-row dot-product block of the fused catalog scan (Scoring/FusedScan.swift).
//
// Shape legend: 8 rows of `count` floats, row stride `rowStride`; v has `count` floats. Returns the 8 dot
// products as one vector, lane r = row r, so the caller compares all 8 scores with a threshold at once.
// Naive twin: `ReferenceKernels.dot` per row (KernelsDot8Tests).

extension SIMDKernels {
    /// Rows in one `dot8` block.
    static var scanRows: Int { 8 }

    /// [Σ_p rows[r, p]·v[p] for r in 0..<8]. Rows are consumed one after the other, each front to back, so
    /// the loads walk the table strictly sequentially (measured: interleaving the 8 rows vector by vector,
    /// as `dot4` does with 4, made the 1M×64 scan 2.5× slower); the rows' accumulators are independent,
    /// so the out-of-order core still overlaps their FMA chains.
    @inline(__always)
    static func dot8(count: Int, rows: UnsafePointer<Float>, rowStride: Int, _ v: UnsafePointer<Float>) -> FloatLanes {
        // safe: row r of the block starts at rows + r·rowStride and holds `count` floats.
        let s0 = rowProducts(count: count, rows, v), s1 = rowProducts(count: count, rows + rowStride, v)
        let s2 = rowProducts(count: count, rows + 2 * rowStride, v), s3 = rowProducts(count: count, rows + 3 * rowStride, v)
        let s4 = rowProducts(count: count, rows + 4 * rowStride, v), s5 = rowProducts(count: count, rows + 5 * rowStride, v)
        let s6 = rowProducts(count: count, rows + 6 * rowStride, v), s7 = rowProducts(count: count, rows + 7 * rowStride, v)
        var sums = FloatLanes(lowHalf: horizontalSums(s0, s1, s2, s3), highHalf: horizontalSums(s4, s5, s6, s7))
        var p = count / SIMDWidth.lanes * SIMDWidth.lanes
        while p < count {  // leftovers: one column of the block per step
            let r = rows + p
            let column = FloatLanes(r[0], r[rowStride], r[2 * rowStride], r[3 * rowStride], r[4 * rowStride],
                                    r[5 * rowStride], r[6 * rowStride], r[7 * rowStride])
            sums = multiplyAdd(sums, column, FloatLanes(repeating: v[p]))
            p += 1
        }
        return sums
    }

    /// Lane-wise partial products of one row with v over the whole vectors of `count` (not yet summed
    /// across lanes), in two accumulators.
    @inline(__always)
    private static func rowProducts(count: Int, _ row: UnsafePointer<Float>, _ v: UnsafePointer<Float>) -> FloatLanes {
        let w = SIMDWidth.lanes
        var even = FloatLanes(), odd = FloatLanes()
        var p = 0
        while p + 2 * w <= count {  // safe: both vectors lie inside [0, count) of the row and of v
            even = multiplyAdd(even, row.lanes(at: p), v.lanes(at: p))
            odd = multiplyAdd(odd, row.lanes(at: p + w), v.lanes(at: p + w))
            p += 2 * w
        }
        if p + w <= count { even = multiplyAdd(even, row.lanes(at: p), v.lanes(at: p)) }
        return even + odd
    }
}

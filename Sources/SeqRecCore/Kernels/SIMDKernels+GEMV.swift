// SIMD GEMV and the 4-row dot-product block shared with the transB GEMM.
//
// Shape legend: A is m×n with row stride lda. trans = false: y[m] = alpha·A·x[n] + beta·y — the B = 1
// catalog-scoring path over an N×64 item table, so it reads A once, sequentially, 4 rows at a time, and
// stays memory-bandwidth-bound. trans = true: y[n] = alpha·Aᵀ·x[m] + beta·y, accumulated 4 rows of A
// per pass over y.

extension SIMDKernels {
    static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let output = OutputTile(c: y, rowStride: 1, columnStride: 0, alpha: alpha, beta: beta)
        if trans {
            output.scaleOnly(rows: n, cols: 1)
            if alpha != 0 { accumulateTransposed(m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, y: y) }
            return
        }
        var i = 0
        while i + tileRows <= m {
            let sums = dot4(count: n, rows: a + i * lda, rowStride: lda, x)  // safe: rows i..<i+4 < m
            for r in 0..<tileRows { output.store(sums[r], row: i + r, column: 0) }
            i += tileRows
        }
        while i < m {
            output.store(dot(count: n, a + i * lda, x), row: i, column: 0)
            i += 1
        }
    }

    /// Σ_p rows[r, p]·v[p] for the 4 rows r starting at `rows` (row stride `rowStride`).
    @inline(__always)
    static func dot4(count: Int, rows: UnsafePointer<Float>, rowStride: Int, _ v: UnsafePointer<Float>) -> SIMD4<Float> {
        let w = SIMDWidth.lanes
        let r1 = rows + rowStride, r2 = rows + 2 * rowStride, r3 = rows + 3 * rowStride
        var s0 = FloatLanes(), s1 = FloatLanes(), s2 = FloatLanes(), s3 = FloatLanes()
        var p = 0
        while p + w <= count {  // safe: the vector lies inside [0, count) of every row and of v
            let vLanes = v.lanes(at: p)
            s0 = multiplyAdd(s0, rows.lanes(at: p), vLanes)
            s1 = multiplyAdd(s1, r1.lanes(at: p), vLanes)
            s2 = multiplyAdd(s2, r2.lanes(at: p), vLanes)
            s3 = multiplyAdd(s3, r3.lanes(at: p), vLanes)
            p += w
        }
        var sums = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
        while p < count {  // leftovers
            sums += SIMD4<Float>(rows[p], r1[p], r2[p], r3[p]) * v[p]
            p += 1
        }
        return sums
    }

    /// y[n] += alpha·Σ_p x[p]·A[p, :], 4 rows of A per pass over y (y already scaled by beta).
    private static func accumulateTransposed(m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                             x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        var p = 0
        while p + tileRows <= m {
            let row0 = a + p * lda, row1 = row0 + lda, row2 = row1 + lda, row3 = row2 + lda
            let x0 = alpha * x[p], x1 = alpha * x[p + 1], x2 = alpha * x[p + 2], x3 = alpha * x[p + 3]
            let l0 = FloatLanes(repeating: x0), l1 = FloatLanes(repeating: x1)
            let l2 = FloatLanes(repeating: x2), l3 = FloatLanes(repeating: x3)
            var j = 0
            while j + w <= n {  // safe: the vector lies inside [0, n) of y and of each row
                var sum = multiplyAdd(y.lanes(at: j), l0, row0.lanes(at: j))
                sum = multiplyAdd(sum, l1, row1.lanes(at: j))
                sum = multiplyAdd(sum, l2, row2.lanes(at: j))
                y.storeLanes(multiplyAdd(sum, l3, row3.lanes(at: j)), at: j)
                j += w
            }
            while j < n {  // leftovers
                y[j] += x0 * row0[j] + x1 * row1[j] + x2 * row2[j] + x3 * row3[j]
                j += 1
            }
            p += tileRows
        }
        while p < m {
            axpy(count: n, alpha: alpha * x[p], x: a + p * lda, y: y)
            p += 1
        }
    }
}

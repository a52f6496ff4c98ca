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
            OutputTile.storeRun(sums, alpha: alpha, beta: beta, at: y + i)
            i += tileRows
        }
        while i < m {
            output.store(dot(count: n, a + i * lda, x), row: i, column: 0)
            i += 1
        }
    }

    /// Σ_p rows[r, p]·v[p] for the 4 rows r starting at `rows` (row stride `rowStride`).
    @inline(__always)
    static func dot4(count: Int, rows: UnsafePointer<Float>, rowStride: Int,
                     _ v: UnsafePointer<Float>) -> SIMD4<Float> {
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
        var sums = horizontalSums(s0, s1, s2, s3)
        while p < count {  // leftovers
            sums += SIMD4<Float>(rows[p], r1[p], r2[p], r3[p]) * v[p]
            p += 1
        }
        return sums
    }

    /// (Σ_p u0[p]·rows[r, p], Σ_p u1[p]·rows[r, p]) for the 4 rows r starting at `rows`: 8 dot products
    /// sharing every load, in 8 half-width accumulators (all fit the 16 registers of baseline x86-64).
    @inline(__always)
    static func dot2x4(count: Int, rows: UnsafePointer<Float>, rowStride: Int, _ u0: UnsafePointer<Float>,
                       _ u1: UnsafePointer<Float>) -> (SIMD4<Float>, SIMD4<Float>) {
        let w = HalfLanes.scalarCount
        let r1 = rows + rowStride, r2 = rows + 2 * rowStride, r3 = rows + 3 * rowStride
        var a0 = HalfLanes(), a1 = HalfLanes(), a2 = HalfLanes(), a3 = HalfLanes()
        var b0 = HalfLanes(), b1 = HalfLanes(), b2 = HalfLanes(), b3 = HalfLanes()
        var p = 0
        while p + w <= count {  // safe: the vector lies inside [0, count) of every row and of u0, u1
            let x0 = rows.halfLanes(at: p), x1 = r1.halfLanes(at: p), x2 = r2.halfLanes(at: p), x3 = r3.halfLanes(at: p)
            let v0 = u0.halfLanes(at: p), v1 = u1.halfLanes(at: p)
            a0 += x0 * v0; a1 += x1 * v0; a2 += x2 * v0; a3 += x3 * v0
            b0 += x0 * v1; b1 += x1 * v1; b2 += x2 * v1; b3 += x3 * v1
            p += w
        }
        var sums0 = horizontalSums(a0, a1, a2, a3), sums1 = horizontalSums(b0, b1, b2, b3)
        while p < count {  // leftovers
            let column = SIMD4<Float>(rows[p], r1[p], r2[p], r3[p])
            sums0 += column * u0[p]
            sums1 += column * u1[p]
            p += 1
        }
        return (sums0, sums1)
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

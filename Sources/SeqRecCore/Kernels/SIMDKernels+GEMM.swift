// SIMD GEMM: the fallback when BLAS is off, register-blocked for SeqRec's shapes.
//
// Shape legend: C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C. Typical: transformer layers
// [1…64 × 64]·[64 × 64|256] (no transposes) and catalog scoring [B×64]·[N×64]ᵀ with N up to 1M (transB).
//
// Two microkernels:
// - outer product (op(B) rows contiguous: transB = false): a 4×8 tile of C lives in 4 vector registers;
//   each step over k broadcasts 4 entries of op(A) and loads one 8-wide row piece of B.
// - dot product (transB = true, transA = false): 4 rows of A against one row of B, 4 vector
//   accumulators; the outer loop walks B's rows once, so B streams from memory exactly once while the
//   A block stays in L1.
// transA ∧ transB is computed as Cᵀ = B·A with the outer-product kernel writing C transposed.

extension SIMDKernels {
    /// Rows of C per register tile.
    static var tileRows: Int { 4 }

    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        let output = OutputTile(c: c, rowStride: ldc, columnStride: 1, alpha: alpha, beta: beta)
        if k == 0 || alpha == 0 {
            output.scaleOnly(rows: m, cols: n)
            return
        }
        switch (transA, transB) {
        case (false, true):
            dotProductGEMM(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, output: output)
        case (_, false):
            let left = StridedMatrix(base: a, rowStride: transA ? 1 : lda, columnStride: transA ? lda : 1)
            outerProductGEMM(m: m, n: n, k: k, a: left, b: b, ldb: ldb, output: output)
        case (true, true):
            let left = StridedMatrix(base: b, rowStride: ldb, columnStride: 1)
            let transposed = OutputTile(c: c, rowStride: 1, columnStride: ldc, alpha: alpha, beta: beta)
            outerProductGEMM(m: n, n: m, k: k, a: left, b: a, ldb: lda, output: transposed)
        }
    }

    /// C = alpha·A·Bᵀ + beta·C with A m×k (row stride lda) and B n×k (row stride ldb).
    /// Blocks of 4 rows of B stay in L1 while every row of A passes over them, so B streams once.
    private static func dotProductGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                       b: UnsafePointer<Float>, ldb: Int, output: OutputTile) {
        var j = 0
        while j + tileRows <= n {
            let bRows = b + j * ldb  // safe: rows j..<j+4 < n of B, each ldb ≥ k floats
            var i = 0
            while i + 2 <= m {
                let sums = dot2x4(count: k, rows: bRows, rowStride: ldb, a + i * lda, a + (i + 1) * lda)
                output.store(sums.0, row: i, column: j)
                output.store(sums.1, row: i + 1, column: j)
                i += 2
            }
            if i < m { output.store(dot4(count: k, rows: bRows, rowStride: ldb, a + i * lda), row: i, column: j) }
            j += tileRows
        }
        while j < n {  // leftovers: the last n mod 4 rows of B
            for i in 0..<m { output.store(dot(count: k, a + i * lda, b + j * ldb), row: i, column: j) }
            j += 1
        }
    }

    /// C = alpha·A·B + beta·C with A m×k given by strides and B k×n with contiguous rows (stride ldb).
    private static func outerProductGEMM(m: Int, n: Int, k: Int, a: StridedMatrix, b: UnsafePointer<Float>,
                                         ldb: Int, output: OutputTile) {
        let w = SIMDWidth.lanes
        var i = 0
        while i + tileRows <= m {
            var j = 0
            while j + w <= n {
                tile4(k: k, a: a.offset(row: i), b: b + j, ldb: ldb, output: output, row: i, column: j)
                j += w
            }
            for r in 0..<tileRows {
                leftoverColumns(from: j, n: n, k: k, a: a.offset(row: i + r), b: b, ldb: ldb, output: output,
                                row: i + r)
            }
            i += tileRows
        }
        while i < m {  // rows after the last 4-row tile (all rows when m < 4, e.g. one session)
            singleRow(n: n, k: k, a: a.offset(row: i), b: b, ldb: ldb, output: output, row: i)
            i += 1
        }
    }

    /// One row of C: 32-column tiles (4 accumulators share each broadcast), then 8-column tiles, then scalars.
    private static func singleRow(n: Int, k: Int, a: StridedMatrix, b: UnsafePointer<Float>, ldb: Int,
                                  output: OutputTile, row: Int) {
        let w = SIMDWidth.lanes
        var j = 0
        while j + 4 * w <= n {
            var c0 = FloatLanes(), c1 = FloatLanes(), c2 = FloatLanes(), c3 = FloatLanes()
            var pa = a.base, pb = b + j
            for _ in 0..<k {  // safe: k steps along A's row and down B's columns j..<j+32 < n
                let aLanes = FloatLanes(repeating: pa[0])
                c0 = multiplyAdd(c0, aLanes, pb.lanes(at: 0))
                c1 = multiplyAdd(c1, aLanes, pb.lanes(at: w))
                c2 = multiplyAdd(c2, aLanes, pb.lanes(at: 2 * w))
                c3 = multiplyAdd(c3, aLanes, pb.lanes(at: 3 * w))
                pa += a.columnStride
                pb += ldb
            }
            output.store(c0, row: row, column: j)
            output.store(c1, row: row, column: j + w)
            output.store(c2, row: row, column: j + 2 * w)
            output.store(c3, row: row, column: j + 3 * w)
            j += 4 * w
        }
        while j + w <= n {
            tile1(k: k, a: a, b: b + j, ldb: ldb, output: output, row: row, column: j)
            j += w
        }
        leftoverColumns(from: j, n: n, k: k, a: a, b: b, ldb: ldb, output: output, row: row)
    }

    /// Scalar dot products for the columns past the last full vector of one row.
    private static func leftoverColumns(from start: Int, n: Int, k: Int, a: StridedMatrix, b: UnsafePointer<Float>,
                                        ldb: Int, output: OutputTile, row: Int) {
        for column in start..<n {
            output.store(a.dot(k: k, b + column, stride: ldb), row: row, column: column)
        }
    }

    /// The 4×8 register tile of C starting at (row, column): Σ_p a[r, p]·b[p, 0..<8].
    @inline(__always)
    private static func tile4(k: Int, a: StridedMatrix, b: UnsafePointer<Float>, ldb: Int,
                              output: OutputTile, row: Int, column: Int) {
        var c0 = FloatLanes(), c1 = FloatLanes(), c2 = FloatLanes(), c3 = FloatLanes()
        let rs = a.rowStride
        var pa = a.base, pb = b
        for _ in 0..<k {  // safe: k steps of columnStride along A's rows and ldb along B's rows stay in bounds
            let bLanes = pb.lanes(at: 0)
            c0 = multiplyAdd(c0, FloatLanes(repeating: pa[0]), bLanes)
            c1 = multiplyAdd(c1, FloatLanes(repeating: pa[rs]), bLanes)
            c2 = multiplyAdd(c2, FloatLanes(repeating: pa[2 * rs]), bLanes)
            c3 = multiplyAdd(c3, FloatLanes(repeating: pa[3 * rs]), bLanes)
            pa += a.columnStride
            pb += ldb
        }
        output.store(c0, row: row, column: column)
        output.store(c1, row: row + 1, column: column)
        output.store(c2, row: row + 2, column: column)
        output.store(c3, row: row + 3, column: column)
    }

    /// One row of an 8-wide tile.
    @inline(__always)
    private static func tile1(k: Int, a: StridedMatrix, b: UnsafePointer<Float>, ldb: Int,
                              output: OutputTile, row: Int, column: Int) {
        var c0 = FloatLanes(), c1 = FloatLanes()
        var p = 0
        while p + 2 <= k {  // two accumulators hide the add latency
            c0 = multiplyAdd(c0, FloatLanes(repeating: a.base[p * a.columnStride]), b.lanes(at: p * ldb))
            c1 = multiplyAdd(c1, FloatLanes(repeating: a.base[(p + 1) * a.columnStride]), b.lanes(at: (p + 1) * ldb))
            p += 2
        }
        if p < k { c0 = multiplyAdd(c0, FloatLanes(repeating: a.base[p * a.columnStride]), b.lanes(at: p * ldb)) }
        output.store(c0 + c1, row: row, column: column)
    }
}

/// A read-only matrix view with arbitrary strides (used for A and for Aᵀ without copying).
struct StridedMatrix {
    let base: UnsafePointer<Float>
    let rowStride: Int
    let columnStride: Int

    /// The view starting at `row`.
    @inline(__always)
    func offset(row: Int) -> StridedMatrix {
        StridedMatrix(base: base + row * rowStride, rowStride: rowStride, columnStride: columnStride)
    }

    /// Σ_p self[0, p]·b[p·stride] (scalar; used only for leftover columns).
    func dot(k: Int, _ b: UnsafePointer<Float>, stride: Int) -> Float {
        var sum: Float = 0
        for p in 0..<k { sum += base[p * columnStride] * b[p * stride] }
        return sum
    }
}

/// Where GEMM results go: C[row, column] = alpha·sum + beta·C (beta = 0 overwrites), with any strides.
struct OutputTile {
    let c: UnsafeMutablePointer<Float>
    let rowStride: Int
    let columnStride: Int
    let alpha: Float
    let beta: Float

    @inline(__always)
    func store(_ sum: Float, row: Int, column: Int) {
        let index = row * rowStride + column * columnStride
        c[index] = beta == 0 ? alpha * sum : alpha * sum + beta * c[index]
    }

    /// Stores 8 consecutive columns of one row.
    @inline(__always)
    func store(_ sums: FloatLanes, row: Int, column: Int) {
        let base = c + row * rowStride + column * columnStride
        if columnStride == 1 {
            let scaled = sums * alpha
            let value = beta == 0 ? scaled : multiplyAdd(scaled, FloatLanes(repeating: beta), base.lanes(at: 0))
            base.storeLanes(value, at: 0)
        } else {
            for lane in 0..<SIMDWidth.lanes { store(sums[lane], row: row, column: column + lane) }
        }
    }

    /// Stores 4 consecutive columns of one row.
    @inline(__always)
    func store(_ sums: SIMD4<Float>, row: Int, column: Int) {
        if columnStride == 1 {
            Self.storeRun(sums, alpha: alpha, beta: beta, at: c + row * rowStride + column)
        } else {
            for lane in 0..<4 { store(sums[lane], row: row, column: column + lane) }
        }
    }

    /// out[0..<4] = alpha·sums + beta·out (beta = 0 overwrites) for 4 contiguous floats.
    @inline(__always)
    static func storeRun(_ sums: SIMD4<Float>, alpha: Float, beta: Float, at out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(out)
        let scaled = sums * alpha
        let value = beta == 0 ? scaled : scaled + beta * raw.loadUnaligned(as: SIMD4<Float>.self)
        raw.storeBytes(of: value, as: SIMD4<Float>.self)
    }

    /// C = beta·C over rows × cols (the whole result when k = 0 or alpha = 0).
    func scaleOnly(rows: Int, cols: Int) {
        for row in 0..<rows {
            for column in 0..<cols { store(0, row: row, column: column) }
        }
    }
}

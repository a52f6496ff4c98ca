// BLAS twins of the kernels that have a cblas primitive. Row-major; `ld*` = row stride in floats.
//
// Shape legend: C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C; GEMV: A is m×n, x and y vectors.
// Degenerate sizes (an empty output or k = 0) are handled here, before OpenBLAS sees them, because
// OpenBLAS rejects leading dimensions < 1 with a message on stderr instead of doing nothing.
import CBLAS

enum BLASKernels {
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 {
            ReferenceKernels.scaleMatrix(rows: m, cols: n, beta: beta, c: c, ldc: ldc)
            return
        }
        if m == 1 && transB && n >= DispatchRule.largeOperandRows {
            rowTimesMatrix(transA: transA, transB: transB, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                           ldb: ldb, beta: beta, c: c)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
                    beta, c, blasInt(ldc))
    }

    /// C[1×n] = alpha·a[1×k]·op(B) + beta·C as one sgemv: OpenBLAS's sgemm packs all of B first, which
    /// makes a single-row product against a large B ~4× slower than sgemv (measured, docs/KERNELS.md).
    private static func rowTimesMatrix(transA: Bool, transB: Bool, n: Int, k: Int, alpha: Float,
                                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                       beta: Float, c: UnsafeMutablePointer<Float>) {
        // transB: B is n×k and C = B·aᵀ; otherwise B is k×n and C = Bᵀ·aᵀ. With transA, a is a k×1 column.
        cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, blasInt(transB ? n : k), blasInt(transB ? k : n),
                    alpha, b, blasInt(ldb), a, blasInt(transA ? lda : 1), beta, c, 1)
    }

    static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let outputCount = trans ? n : m
        if outputCount == 0 { return }
        if m == 0 || n == 0 || alpha == 0 {
            ReferenceKernels.scaleMatrix(rows: 1, cols: outputCount, beta: beta, c: y, ldc: outputCount)
            return
        }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasInt(m), blasInt(n), alpha,
                    a, blasInt(lda), x, 1, beta, y, 1)
    }

    static func dot(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        count == 0 ? 0 : cblas_sdot(blasInt(count), a, 1, b, 1)
    }

    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        if count > 0 { cblas_saxpy(blasInt(count), alpha, x, 1, y, 1) }
    }

    static func scale(count: Int, alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        if count > 0 { cblas_sscal(blasInt(count), alpha, x, 1) }
    }

    /// cblas takes 32-bit sizes; `Kernels` preconditions keep every size within Int32.
    private static func blasInt(_ value: Int) -> Int32 {
        assert(value >= 0 && value <= Int(Int32.max))
        return Int32(truncatingIfNeeded: value)
    }
}

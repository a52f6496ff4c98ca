// Naive reference kernels: plain scalar loops, written to be obviously correct. They define the
// semantics the BLAS and SIMD twins are tested against, and run under `.forced(.naive)`.
//
// Shape legend: C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C (transA: A stored k×m; transB: B stored
// n×k); GEMV: A is m×n; `rows × cols` matrices with row stride `ld*` (in floats). Sums accumulate in
// Float in index order. beta = 0 overwrites the output (NaN/Inf already there does not propagate), as BLAS.
import Foundation

enum ReferenceKernels {
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let aValue = transA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += aValue * bValue
                }
                c[i * ldc + j] = combine(alpha * sum, beta: beta, old: c[i * ldc + j])
            }
        }
    }

    static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let outputCount = trans ? n : m
        let inputCount = trans ? m : n
        for i in 0..<outputCount {
            var sum: Float = 0
            for p in 0..<inputCount {
                sum += (trans ? a[p * lda + i] : a[i * lda + p]) * x[p]
            }
            y[i] = combine(alpha * sum, beta: beta, old: y[i])
        }
    }

    /// C = beta·C over a rows × cols block (beta = 0 writes zeros).
    static func scaleMatrix(rows: Int, cols: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<rows {
            for j in 0..<cols {
                c[i * ldc + j] = combine(0, beta: beta, old: c[i * ldc + j])
            }
        }
    }

    static func dot(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        var sum: Float = 0
        for i in 0..<count { sum += a[i] * b[i] }
        return sum
    }

    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }

    static func addBias(rows: Int, cols: Int, bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, ldx: Int) {
        for r in 0..<rows {
            for j in 0..<cols { x[r * ldx + j] += bias[j] }
        }
    }

    static func layerNorm(rows: Int, cols: Int, x: UnsafePointer<Float>, ldx: Int, gamma: UnsafePointer<Float>,
                          beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>, ldo: Int) {
        guard cols > 0 else { return }
        for r in 0..<rows {
            let row = x + r * ldx
            var mean: Float = 0
            for j in 0..<cols { mean += row[j] }
            mean /= Float(cols)
            var variance: Float = 0
            for j in 0..<cols { variance += (row[j] - mean) * (row[j] - mean) }
            variance /= Float(cols)
            let inverseDeviation = 1 / (variance + eps).squareRoot()
            for j in 0..<cols {
                out[r * ldo + j] = (row[j] - mean) * inverseDeviation * gamma[j] + beta[j]
            }
        }
    }

    static func softmaxRows(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, ldx: Int) {
        guard cols > 0 else { return }
        for r in 0..<rows {
            let row = x + r * ldx
            var maximum = row[0]
            for j in 0..<cols { maximum = Swift.max(maximum, row[j]) }
            var sum: Float = 0
            for j in 0..<cols {
                row[j] = expf(row[j] - maximum)
                sum += row[j]
            }
            for j in 0..<cols { row[j] /= sum }
        }
    }

    /// Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    static func gelu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752440)) }
    }

    static func relu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] = x[i] > 0 ? x[i] : 0 }
    }

    static func sigmoid(count: Int, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] = 1 / (1 + expf(-x[i])) }
    }

    static func tanh(count: Int, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] = tanhf(x[i]) }
    }

    static func swish(count: Int, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) }
    }

    static func scale(count: Int, alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<count { x[i] *= alpha }
    }

    static func add(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// alpha·sum + beta·old, where beta = 0 ignores `old` entirely (BLAS semantics).
    static func combine(_ scaledSum: Float, beta: Float, old: Float) -> Float {
        beta == 0 ? scaledSum : scaledSum + beta * old
    }
}

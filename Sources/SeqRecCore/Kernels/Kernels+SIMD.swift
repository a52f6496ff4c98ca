// SIMD kernels: first version forwards to the reference loops so the API compiles for everyone;
// the vectorised bodies replace these forwards next.
enum SIMDKernels {
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ReferenceKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                              b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        ReferenceKernels.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
    }
    static func dot(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        ReferenceKernels.dot(count: count, a, b)
    }
    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        ReferenceKernels.axpy(count: count, alpha: alpha, x: x, y: y)
    }
    static func addBias(rows: Int, cols: Int, bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, ldx: Int) {
        ReferenceKernels.addBias(rows: rows, cols: cols, bias: bias, x: x, ldx: ldx)
    }
    static func layerNorm(rows: Int, cols: Int, x: UnsafePointer<Float>, ldx: Int, gamma: UnsafePointer<Float>,
                          beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>, ldo: Int) {
        ReferenceKernels.layerNorm(rows: rows, cols: cols, x: x, ldx: ldx, gamma: gamma, beta: beta, eps: eps,
                                   out: out, ldo: ldo)
    }
    static func softmaxRows(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, ldx: Int) {
        ReferenceKernels.softmaxRows(rows: rows, cols: cols, x: x, ldx: ldx)
    }
    static func gelu(count: Int, _ x: UnsafeMutablePointer<Float>) { ReferenceKernels.gelu(count: count, x) }
    static func relu(count: Int, _ x: UnsafeMutablePointer<Float>) { ReferenceKernels.relu(count: count, x) }
    static func sigmoid(count: Int, _ x: UnsafeMutablePointer<Float>) { ReferenceKernels.sigmoid(count: count, x) }
    static func tanh(count: Int, _ x: UnsafeMutablePointer<Float>) { ReferenceKernels.tanh(count: count, x) }
    static func swish(count: Int, _ x: UnsafeMutablePointer<Float>) { ReferenceKernels.swish(count: count, x) }
    static func scale(count: Int, alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        ReferenceKernels.scale(count: count, alpha: alpha, x)
    }
    static func add(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        ReferenceKernels.add(count: count, x, into: y)
    }
}

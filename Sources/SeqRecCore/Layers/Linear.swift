// Linear map in PyTorch layout, run on its transposed copy.
//   R rows of input, I input width, O output width
//   weight [O, I] (row-major) packed at load to weightᵀ [I, O]; bias [O] or none
//   out[R, O] = x[R, I] · weightᵀ + bias

/// `Lin(x) = x·Wᵀ + b` over a block of rows. A view into `PackedWeights` and the model file.
struct Linear {
    let transposedWeight: UnsafePointer<Float>  // [inputWidth, outputWidth]
    let bias: UnsafePointer<Float>?
    let inputWidth: Int
    let outputWidth: Int

    func callAsFunction(rows: Int, _ x: UnsafePointer<Float>, ldx: Int,
                        into out: UnsafeMutablePointer<Float>, ldo: Int, kernels: Kernels) {
        guard rows > 0 else { return }
        if rows == 1 {
            kernels.gemv(trans: true, m: inputWidth, n: outputWidth, alpha: 1, a: transposedWeight,
                         lda: outputWidth, x: x, beta: 0, y: out)
        } else {
            kernels.gemm(transA: false, transB: false, m: rows, n: outputWidth, k: inputWidth, alpha: 1,
                         a: x, lda: ldx, b: transposedWeight, ldb: outputWidth, beta: 0, c: out, ldc: ldo)
        }
        if let bias { kernels.addBias(rows: rows, cols: outputWidth, bias: bias, x: out, ldx: ldo) }
    }
}

/// LayerNorm parameters (γ, β, ε); ε sits inside the square root, variance is biased.
struct LayerNormLayer {
    let gamma: UnsafePointer<Float>
    let beta: UnsafePointer<Float>
    let width: Int
    let eps: Float

    func callAsFunction(rows: Int, _ x: UnsafePointer<Float>, ldx: Int,
                        into out: UnsafeMutablePointer<Float>, ldo: Int, kernels: Kernels) {
        kernels.layerNorm(rows: rows, cols: width, x: x, ldx: ldx, gamma: gamma, beta: beta, eps: eps,
                          out: out, ldo: ldo)
    }
}

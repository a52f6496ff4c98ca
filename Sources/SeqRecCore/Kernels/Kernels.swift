// Kernels: the single entry point the layers and models call. Each function checks its shapes once
// (preconditions survive -O), asks the `KernelSelection` which backend runs it, and forwards.
//
// Shape legend: C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C; GEMV: A is m×n; `rows × cols` matrices.
// Every matrix is row-major with row stride `ld*` in floats (ld ≥ the stored row length). Every function
// writes into caller memory and never allocates.

/// A value holding the kernel selection; cheap to copy, safe to share between threads.
package struct Kernels: Sendable {
    package let selection: KernelSelection
    /// The native-kernel level, resolved once from the selection and the CPU (never above the CPU's).
    package let native: InstructionSet

    package init(_ selection: KernelSelection) {
        self.selection = selection
        native = selection.nativeLevel(detected: InstructionSet.detected)
    }

    /// C[m×n] = alpha·op(A)·op(B) + beta·C, op(A) is m×k, op(B) is k×n (transA: A stored k×m; transB: B
    /// stored n×k). beta = 0 overwrites C.
    package func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        Self.checkSize(m); Self.checkSize(n); Self.checkSize(k)
        Self.checkSize(lda); Self.checkSize(ldb); Self.checkSize(ldc)
        precondition(lda >= (transA ? m : k), "gemm: lda \(lda) is less than the stored row length of A")
        precondition(ldb >= (transB ? k : n), "gemm: ldb \(ldb) is less than the stored row length of B")
        precondition(ldc >= n, "gemm: ldc \(ldc) is less than n \(n)")
        switch selection.gemmBackend(transA: transA, transB: transB, m: m, n: n, k: k, native: native) {
        case .blas:
            BLASKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .simd where KernelSelection.simdProduct(transA: transA, transB: transB, native: native) >= .avx2:
            NativeKernels.gemm(native, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                               c: c, ldc: ldc)
        case .simd:
            SIMDKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .naive:
            ReferenceKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a,
                                  lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// trans=false: y[m] = alpha·A·x + beta·y with A m×n (x has n entries);
    /// trans=true: y[n] = alpha·Aᵀ·x + beta·y (x has m entries). beta = 0 overwrites y.
    package func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        Self.checkSize(m); Self.checkSize(n); Self.checkSize(lda)
        precondition(lda >= n, "gemv: lda \(lda) is less than n \(n)")
        switch selection.gemvBackend(trans: trans, m: m, n: n) {
        case .blas: BLASKernels.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
        case .simd where trans && KernelSelection.simdProduct(transA: false, transB: false, native: native) >= .avx2:
            // y[1×n] = alpha·x[1×m]·A[m×n] + beta·y: the one-row plain product.
            NativeKernels.gemm(native, m: 1, n: n, k: m, alpha: alpha, a: x, lda: Swift.max(1, m), b: a, ldb: lda,
                               beta: beta, c: y, ldc: Swift.max(1, n))
        case .simd: SIMDKernels.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
        case .naive:
            ReferenceKernels.gemv(trans: trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
        }
    }

    /// Σ a[i]·b[i] over `count` entries.
    package func dot(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        Self.checkSize(count)
        switch selection.vectorBackend(count: count) {
        case .blas: return BLASKernels.dot(count: count, a, b)
        case .simd: return SIMDKernels.dot(count: count, a, b)
        case .naive: return ReferenceKernels.dot(count: count, a, b)
        }
    }

    /// y[count] += alpha·x[count]
    package func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        switch selection.vectorBackend(count: count) {
        case .blas: BLASKernels.axpy(count: count, alpha: alpha, x: x, y: y)
        case .simd: SIMDKernels.axpy(count: count, alpha: alpha, x: x, y: y)
        case .naive: ReferenceKernels.axpy(count: count, alpha: alpha, x: x, y: y)
        }
    }

    /// x[r, :] += bias for every row; x is rows × cols, bias has cols entries.
    package func addBias(rows: Int, cols: Int, bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, ldx: Int) {
        Self.checkSize(rows); Self.checkSize(cols)
        precondition(ldx >= cols, "addBias: ldx \(ldx) is less than cols \(cols)")
        switch selection.elementwiseBackend {
        case .blas, .simd: SIMDKernels.addBias(rows: rows, cols: cols, bias: bias, x: x, ldx: ldx)
        case .naive: ReferenceKernels.addBias(rows: rows, cols: cols, bias: bias, x: x, ldx: ldx)
        }
    }

    /// out = LN(x) row-wise over `cols`: (x − mean)/√(biased variance + eps)·gamma + beta.
    /// x and out are rows × cols; gamma and beta have cols entries; out may equal x (same ld).
    package func layerNorm(rows: Int, cols: Int, x: UnsafePointer<Float>, ldx: Int, gamma: UnsafePointer<Float>,
                           beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>, ldo: Int) {
        Self.checkSize(rows); Self.checkSize(cols)
        precondition(ldx >= cols && ldo >= cols, "layerNorm: ldx \(ldx) or ldo \(ldo) is less than cols \(cols)")
        switch selection.elementwiseBackend {
        case .blas, .simd:
            SIMDKernels.layerNorm(rows: rows, cols: cols, x: x, ldx: ldx, gamma: gamma, beta: beta, eps: eps,
                                  out: out, ldo: ldo)
        case .naive:
            ReferenceKernels.layerNorm(rows: rows, cols: cols, x: x, ldx: ldx, gamma: gamma, beta: beta, eps: eps,
                                       out: out, ldo: ldo)
        }
    }

    /// In place, for each of `rows` rows: softmax over the first `cols` entries (max subtracted first).
    package func softmaxRows(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, ldx: Int) {
        Self.checkSize(rows); Self.checkSize(cols)
        precondition(ldx >= cols, "softmaxRows: ldx \(ldx) is less than cols \(cols)")
        switch selection.elementwiseBackend {
        case .blas, .simd: SIMDKernels.softmaxRows(rows: rows, cols: cols, x: x, ldx: ldx)
        case .naive: ReferenceKernels.softmaxRows(rows: rows, cols: cols, x: x, ldx: ldx)
        }
    }

    /// In place: x·Φ(x), the exact erf form.
    package func gelu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        if useReference { ReferenceKernels.gelu(count: count, x) } else { SIMDKernels.gelu(count: count, x) }
    }

    /// In place: max(x, 0).
    package func relu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        if useReference { ReferenceKernels.relu(count: count, x) } else { SIMDKernels.relu(count: count, x) }
    }

    /// In place: 1/(1 + e^−x).
    package func sigmoid(count: Int, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        if useReference { ReferenceKernels.sigmoid(count: count, x) } else { SIMDKernels.sigmoid(count: count, x) }
    }

    /// In place: tanh(x).
    package func tanh(count: Int, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        if useReference { ReferenceKernels.tanh(count: count, x) } else { SIMDKernels.tanh(count: count, x) }
    }

    /// In place: x·σ(x).
    package func swish(count: Int, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        if useReference { ReferenceKernels.swish(count: count, x) } else { SIMDKernels.swish(count: count, x) }
    }

    /// In place: x *= alpha.
    package func scale(count: Int, alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        switch selection.vectorBackend(count: count) {
        case .blas: BLASKernels.scale(count: count, alpha: alpha, x)
        case .simd: SIMDKernels.scale(count: count, alpha: alpha, x)
        case .naive: ReferenceKernels.scale(count: count, alpha: alpha, x)
        }
    }

    /// y[count] += x[count]
    package func add(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        Self.checkSize(count)
        switch selection.vectorBackend(count: count) {
        case .blas: BLASKernels.axpy(count: count, alpha: 1, x: x, y: y)
        case .simd: SIMDKernels.add(count: count, x, into: y)
        case .naive: ReferenceKernels.add(count: count, x, into: y)
        }
    }

    /// Whether `fusedGRUStep` runs (see `KernelSelection.recurrentStep`); else callers compose the step.
    package var hasFusedGRUStep: Bool { KernelSelection.recurrentStep(native: native) != nil }

    /// One GRU step for `rows` rows through the fused native kernel (only when `hasFusedGRUStep`):
    /// row i's 3D input projections (input bias included, not changed) per `inputs`, h [rows × D]
    /// updated, `scratch` holds ≥ rows·D floats. `panelsDescending` walks W_hh's panels last to first: the
    /// same result; a recurrence that alternates it reads the panels the previous step left in L1 first.
    package func fusedGRUStep(rows: Int, weights: GRURecurrentWeights, hiddenBias: UnsafePointer<Float>?,
                              inputs: GRUStepInputs, hidden: UnsafeMutablePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, panelsDescending: Bool = false) {
        guard let level = KernelSelection.recurrentStep(native: native) else {
            preconditionFailure("fusedGRUStep called under \(selection), which composes the step")
        }
        Self.checkSize(rows)
        if case .block(_, let ldgi) = inputs {
            Self.checkSize(ldgi)
            precondition(ldgi >= 3 * weights.hiddenWidth, "fusedGRUStep: ldgi \(ldgi) is less than 3·D")
        }
        NativeKernels.gruStep(level, rows: rows, hiddenWidth: weights.hiddenWidth, packed: weights.packed,
                              hiddenBias: hiddenBias, inputs: inputs, hidden: hidden, scratch: scratch,
                              panelsDescending: panelsDescending)
    }

    private var useReference: Bool { selection.elementwiseBackend == .naive }

    /// Sizes and strides must be non-negative and fit the 32-bit integers cblas takes.
    private static func checkSize(_ size: Int) {
        precondition(size >= 0 && size <= Int(Int32.max),
                     "kernel size or stride \(size) is negative or exceeds Int32.max")
    }
}

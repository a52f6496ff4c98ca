// Scaled dot-product attention of one session, all heads.
//   m  keys (tokens of the session), q query rows (the last q of the m tokens)
//   h  heads, dh head width, d = h·dh; head a owns columns [a·dh, (a+1)·dh)
//   Q [q, d] (ldq), K [m, d] (ldk), V [m, d] (ldv) → out [q, d] (ldo)
//   scratch: q·(m+1) floats (one head's score block, plus an optional pad column)

/// Where the 1/√dh scale is applied: RecBole divides the product, PyTorch MHA scales the query first.
enum AttentionScaling {
    case afterProduct
    case queryFirst
}

/// The P identical left-padding keys of a pmixer window, folded into one key (MODELS.md §6.8).
struct PadKey {
    let key: UnsafePointer<Float>      // [d]
    let value: UnsafePointer<Float>    // [d]
    let logCount: Float                // ln P
}

struct Attention {
    let heads: Int
    let headWidth: Int
    let causal: Bool
    let scaling: AttentionScaling

    /// Attends the last `queryCount` of `keyCount` tokens. `query` is scaled in place when the scaling is `.queryFirst`.
    func callAsFunction(query: UnsafeMutablePointer<Float>, ldq: Int, queryCount: Int,
                        keys: UnsafePointer<Float>, ldk: Int, values: UnsafePointer<Float>, ldv: Int,
                        keyCount: Int, padKey: PadKey?,
                        scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, ldo: Int,
                        kernels: Kernels) {
        let width = heads * headWidth
        let root = Float(headWidth).squareRoot(), scale = 1 / root
        if scaling == .queryFirst {
            for row in 0..<queryCount { kernels.scale(count: width, alpha: scale, query + row * ldq) }
        }
        let padColumns = padKey == nil ? 0 : 1
        let lds = keyCount + padColumns
        let firstQuery = keyCount - queryCount
        for head in 0..<heads {
            let column = head * headWidth
            kernels.gemm(transA: false, transB: true, m: queryCount, n: keyCount, k: headWidth, alpha: 1,
                         a: query + column, lda: ldq, b: keys + column, ldb: ldk,
                         beta: 0, c: scratch + padColumns, ldc: lds)
            for row in 0..<queryCount {
                let scores = scratch + row * lds
                if scaling == .afterProduct {
                    // RecBole divides by √dh rather than multiplying by its inverse.
                    for j in padColumns..<lds { scores[j] /= root }
                }
                if let padKey {
                    scores[0] = kernels.dot(count: headWidth, query + row * ldq + column, padKey.key + column)
                        + padKey.logCount
                }
                let visible = causal ? firstQuery + row + 1 : keyCount
                kernels.softmaxRows(rows: 1, cols: padColumns + visible, x: scores, ldx: lds)
                if visible < keyCount {
                    (scores + padColumns + visible).update(repeating: 0, count: keyCount - visible)
                }
            }
            kernels.gemm(transA: false, transB: false, m: queryCount, n: headWidth, k: keyCount, alpha: 1,
                         a: scratch + padColumns, lda: lds, b: values + column, ldb: ldv,
                         beta: 0, c: out + column, ldc: ldo)
            if let padKey {
                for row in 0..<queryCount {
                    kernels.axpy(count: headWidth, alpha: scratch[row * lds], x: padKey.value + column,
                                 y: out + row * ldo + column)
                }
            }
        }
    }
}

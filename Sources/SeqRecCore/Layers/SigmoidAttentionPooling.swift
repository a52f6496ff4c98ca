// Additive attention without a softmax, as NARM, STAMP and SR-GNN read a session out
// (MODELS-next.md §3.3 steps 4–5, §4.3 steps 4–5, §6.3 steps 4–5).
//   n rows of one session, A attention width, V value width
//   keys [n, A] (already projected, ldk), query [A] (the session's projected query, biases included),
//   weights [A] (the bias-free 1-output scoring Linear), values [n, V] (ldv) → out [V]
//   scratch: A floats

/// `α_j = σ(keys_j + query) · weights` (raw, signed, not normalised) and `out = Σ_j α_j · values_j`.
struct SigmoidAttentionPooling {
    let weights: UnsafePointer<Float>
    let width: Int

    /// Overwrites `out` with the pooled values of `rows` rows.
    func callAsFunction(rows: Int, keys: UnsafePointer<Float>, ldk: Int, query: UnsafePointer<Float>,
                        values: UnsafePointer<Float>, ldv: Int, valueWidth: Int,
                        scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, kernels: Kernels) {
        out.update(repeating: 0, count: valueWidth)
        for row in 0..<rows {
            let alpha = weight(of: keys + row * ldk, query: query, scratch: scratch, kernels: kernels)
            kernels.axpy(count: valueWidth, alpha: alpha, x: values + row * ldv, y: out)
        }
    }

    /// `σ(key + query) · weights` for one key row.
    func weight(of key: UnsafePointer<Float>, query: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                kernels: Kernels) -> Float {
        scratch.update(from: key, count: width)
        kernels.add(count: width, query, into: scratch)
        kernels.sigmoid(count: width, scratch)
        return kernels.dot(count: width, scratch, weights)
    }
}

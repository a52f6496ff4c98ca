// One post-LN BERT layer as RecBole's TransformerEncoder builds it (MODELS.md §2.4–2.5).
//   R packed token rows of all sessions in a batch, H hidden, I inner (FFN) width
//   x [R, H] → x [R, H] (full pass) or → y [B, H] (readout rows only, last layer)

struct RecBoleTransformerLayer {
    let query, key, value, dense: Linear
    let attentionNorm: LayerNormLayer
    let dense1, dense2: Linear
    let feedForwardNorm: LayerNormLayer
    let attention: Attention
    let activation: Activation

    var hidden: Int { query.outputWidth }
    var inner: Int { dense1.outputWidth }

    /// Scratch for a batch of `rows` packed tokens whose longest session has `maxTokens` tokens.
    struct Scratch {
        let q, k, v, context, sum, inner, scores: UnsafeMutablePointer<Float>
    }

    static func reserve(_ layout: inout WorkspaceLayout, rows: Int, maxTokens: Int, hidden: Int, inner: Int) -> [Int] {
        [rows * hidden, rows * hidden, rows * hidden, rows * hidden, rows * hidden, rows * inner,
         maxTokens * (maxTokens + 1)].map { layout.reserve($0) }
    }

    static func scratch(_ workspace: Workspace, _ offsets: [Int]) -> Scratch {
        Scratch(q: workspace.region(offsets[0]), k: workspace.region(offsets[1]), v: workspace.region(offsets[2]),
                context: workspace.region(offsets[3]), sum: workspace.region(offsets[4]),
                inner: workspace.region(offsets[5]), scores: workspace.region(offsets[6]))
    }

    /// Every row attends; `spans` lists (first row, token count) per session. x is updated in place.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, spans: UnsafePointer<Int>, sessions: Int,
                 scratch s: Scratch, kernels: Kernels) {
        let h = hidden
        query(rows: rows, x, ldx: h, into: s.q, ldo: h, kernels: kernels)
        key(rows: rows, x, ldx: h, into: s.k, ldo: h, kernels: kernels)
        value(rows: rows, x, ldx: h, into: s.v, ldo: h, kernels: kernels)
        for session in 0..<sessions {
            let start = spans[2 * session], count = spans[2 * session + 1]
            attention(query: s.q + start * h, ldq: h, queryCount: count, keys: s.k + start * h, ldk: h,
                      values: s.v + start * h, ldv: h, keyCount: count, padKey: nil,
                      scratch: s.scores, into: s.context + start * h, ldo: h, kernels: kernels)
        }
        outputAndFeedForward(rows: rows, x, scratch: s, kernels: kernels)
    }

    /// Only each session's last row attends (the readout row); writes those rows to `y` [sessions, H].
    func forwardLastRows(_ x: UnsafePointer<Float>, rows: Int, spans: UnsafePointer<Int>, sessions: Int,
                         into y: UnsafeMutablePointer<Float>, scratch s: Scratch, kernels: Kernels) {
        let h = hidden
        key(rows: rows, x, ldx: h, into: s.k, ldo: h, kernels: kernels)
        value(rows: rows, x, ldx: h, into: s.v, ldo: h, kernels: kernels)
        for session in 0..<sessions {
            let last = spans[2 * session] + spans[2 * session + 1] - 1
            (y + session * h).update(from: x + last * h, count: h)
        }
        query(rows: sessions, y, ldx: h, into: s.q, ldo: h, kernels: kernels)
        for session in 0..<sessions {
            let start = spans[2 * session], count = spans[2 * session + 1]
            attention(query: s.q + session * h, ldq: h, queryCount: 1, keys: s.k + start * h, ldk: h,
                      values: s.v + start * h, ldv: h, keyCount: count, padKey: nil,
                      scratch: s.scores, into: s.context + session * h, ldo: h, kernels: kernels)
        }
        outputAndFeedForward(rows: sessions, y, scratch: s, kernels: kernels)
    }

    /// One new token per session (causal attention): x [sessions, H] holds the new tokens; session s's
    /// earlier keys and values are the first `known(s)` rows of `cached(s)`. The new token's key and value
    /// are appended there, it attends over all of them, and x becomes the layer's output for it.
    func forwardAppended(_ x: UnsafeMutablePointer<Float>, sessions: Int, layer: Int,
                         cached: (Int) -> TransformerStateCache.Entry, known: (Int) -> Int,
                         scratch s: Scratch, kernels: Kernels) {
        let h = hidden
        query(rows: sessions, x, ldx: h, into: s.q, ldo: h, kernels: kernels)
        key(rows: sessions, x, ldx: h, into: s.k, ldo: h, kernels: kernels)
        value(rows: sessions, x, ldx: h, into: s.v, ldo: h, kernels: kernels)
        for session in 0..<sessions {
            let entry = cached(session), n = known(session)
            // safe: n < maxTokens rows are stored per layer, so row n exists.
            (entry.keys(layer) + n * h).update(from: s.k + session * h, count: h)
            (entry.values(layer) + n * h).update(from: s.v + session * h, count: h)
            attention(query: s.q + session * h, ldq: h, queryCount: 1, keys: entry.keys(layer), ldk: h,
                      values: entry.values(layer), ldv: h, keyCount: n + 1, padKey: nil,
                      scratch: s.scores, into: s.context + session * h, ldo: h, kernels: kernels)
        }
        outputAndFeedForward(rows: sessions, x, scratch: s, kernels: kernels)
    }

    /// x ← LN(dense(context) + x); x ← LN(dense2(act(dense1(x))) + x), row by row.
    private func outputAndFeedForward(rows: Int, _ x: UnsafeMutablePointer<Float>, scratch s: Scratch,
                                      kernels: Kernels) {
        let h = hidden
        dense(rows: rows, s.context, ldx: h, into: s.sum, ldo: h, kernels: kernels)
        kernels.add(count: rows * h, x, into: s.sum)
        attentionNorm(rows: rows, s.sum, ldx: h, into: x, ldo: h, kernels: kernels)
        dense1(rows: rows, x, ldx: h, into: s.inner, ldo: inner, kernels: kernels)
        activation.apply(count: rows * inner, s.inner, kernels: kernels)
        dense2(rows: rows, s.inner, ldx: inner, into: s.sum, ldo: h, kernels: kernels)
        kernels.add(count: rows * h, x, into: s.sum)
        feedForwardNorm(rows: rows, s.sum, ldx: h, into: x, ldo: h, kernels: kernels)
    }
}

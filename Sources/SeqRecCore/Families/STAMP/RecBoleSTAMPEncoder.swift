// RecBole 1.2.x `STAMP` (recbole/model/sequential_recommender/stamp.py), MODELS-next.md §4.
// A sigmoid attention over the raw embeddings of all L slots of the right-padded window (PAD slots
// hold E[0], a trained non-zero row, and take part), then h_s ⊙ h_t. The L − m PAD slots are folded
// into one term (§4.5): they share one embedding and so one attention weight.
// Scores: dot products with the item table (row 0 = PAD is never returned).

final class RecBoleSTAMPEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleSTAMP.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let contextKey, targetQuery, meanQuery: Linear     // w1, w2, w3 (no bias)
    let attentionBias: UnsafePointer<Float>            // b_a
    let pooling: SigmoidAttentionPooling               // w0
    let sessionMLP, targetMLP: Linear                  // mlp_a, mlp_b
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    /// E[0]·w1ᵀ, the key of every PAD slot.
    private let padKey: UnsafePointer<Float>
    private let derived = DerivedWeights()
    private let slotRows, slotKeys, targets, means, queries, attended, hidden, poolScratch, spans: Int

    var family: ModelFamily { .recboleSTAMP }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let d = config.embeddingSize
        let items = try binder.tensor("item_embedding.weight")
        self.items = items
        let w1 = try binder.tensor("w1.weight")
        contextKey = binder.linear(weight: w1, bias: nil, input: d, output: d)
        targetQuery = try binder.linear("w2")
        meanQuery = try binder.linear("w3")
        attentionBias = try binder.tensor("b_a")
        pooling = SigmoidAttentionPooling(weights: try binder.tensor("w0.weight"), width: d)
        sessionMLP = try binder.linear("mlp_a")
        targetMLP = try binder.linear("mlp_b")
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: d, firstItem: 1)
        padKey = derived.make(count: d) { out in
            for i in 0..<d {
                var sum: Float = 0
                for j in 0..<d { sum += w1[i * d + j] * items[j] }
                out[i] = sum
            }
        }
        var layout = WorkspaceLayout()
        let rows = maxBatch * config.maxLength
        slotRows = layout.reserve(rows * d)
        slotKeys = layout.reserve(rows * d)
        targets = layout.reserve(maxBatch * d)
        means = layout.reserve(maxBatch * d)
        queries = layout.reserve(maxBatch * d)
        attended = layout.reserve(maxBatch * d)
        hidden = layout.reserve(maxBatch * d)
        poolScratch = layout.reserve(d)
        spans = layout.reserveInts(2 * maxBatch)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.embeddingSize, count = sessions.count, maxLength = configuration.maxLength
        let m = workspace.region(slotRows), xt = workspace.region(targets), ms = workspace.region(means)
        let span = workspace.intRegion(spans)
        var rows = 0
        for (b, session) in sessions.enumerated() {
            let window = recentItems(session.items, window: maxLength), mean = ms + b * d
            mean.update(repeating: 0, count: d)
            for (j, item) in window.enumerated() {
                let row = m + (rows + j) * d
                row.update(from: items + Int(item) * d, count: d)
                kernels.add(count: d, row, into: mean)
            }
            // m_s = (Σ real rows + (L − m)·E[0]) / m
            kernels.axpy(count: d, alpha: Float(maxLength - window.count), x: items, y: mean)
            kernels.scale(count: d, alpha: 1 / Float(window.count), mean)
            (xt + b * d).update(from: m + (rows + window.count - 1) * d, count: d)
            span[2 * b] = rows
            span[2 * b + 1] = window.count
            rows += window.count
        }
        // q = x_t·w2ᵀ + m_s·w3ᵀ + b_a per session; keys M_j·w1ᵀ for every real slot.
        let q = workspace.region(queries), keys = workspace.region(slotKeys), scratch = workspace.region(hidden)
        targetQuery(rows: count, xt, ldx: d, into: q, ldo: d, kernels: kernels)
        meanQuery(rows: count, ms, ldx: d, into: scratch, ldo: d, kernels: kernels)
        kernels.add(count: count * d, scratch, into: q)
        kernels.addBias(rows: count, cols: d, bias: attentionBias, x: q, ldx: d)
        contextKey(rows: rows, m, ldx: d, into: keys, ldo: d, kernels: kernels)
        let ma = workspace.region(attended), poolRow = workspace.region(poolScratch)
        for b in 0..<count {
            let start = span[2 * b], real = span[2 * b + 1], out = ma + b * d
            pooling(rows: real, keys: keys + start * d, ldk: d, query: q + b * d, values: m + start * d, ldv: d,
                    valueWidth: d, scratch: poolRow, into: out, kernels: kernels)
            let pads = maxLength - real
            if pads > 0 {
                let alpha = pooling.weight(of: padKey, query: q + b * d, scratch: poolRow, kernels: kernels)
                kernels.axpy(count: d, alpha: Float(pads) * alpha, x: items, y: out)
            }
            kernels.add(count: d, ms + b * d, into: out)
        }
        // u = tanh(mlp_a(m_a)) ⊙ tanh(mlp_b(x_t))
        sessionMLP(rows: count, ma, ldx: d, into: scratch, ldo: d, kernels: kernels)
        kernels.tanh(count: count * d, scratch)
        targetMLP(rows: count, xt, ldx: d, into: readout, ldo: d, kernels: kernels)
        kernels.tanh(count: count * d, readout)
        for i in 0..<(count * d) { readout[i] *= scratch[i] }
    }
}

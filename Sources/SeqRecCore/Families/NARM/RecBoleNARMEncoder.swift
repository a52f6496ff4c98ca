// RecBole 1.2.x `NARM` (recbole/model/sequential_recommender/narm.py), MODELS-next.md §3.
// A bias-free GRU stack over the last L items from a zero state; a sigmoid attention from the last
// state pools every step's top state (c_local); `b` maps [c_local, h_t] back to the item width.
// Scores: dot products with the item table (row 0 = PAD is never returned).

final class RecBoleNARMEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleNARM.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let gru: [GRULayer]
    let attentionKey, attentionQuery, output: Linear     // a_1, a_2, b
    let pooling: SigmoidAttentionPooling                  // v_t
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let stepRows, projected, states, gh, topStates, keys, queries, joined, poolScratch: Int
    private let order, stepOffsets, rowPointers: Int

    var family: ModelFamily { .recboleNARM }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let e = config.embeddingSize, h = config.hiddenSize
        items = try binder.tensor("item_embedding.weight")
        gru = try (0..<config.layers).map { k in
            try binder.gruLayer(inputWeights: "gru.weight_ih_l\(k)", hiddenWeights: "gru.weight_hh_l\(k)",
                                inputBias: nil, hiddenBias: nil)
        }
        attentionKey = try binder.linear("a_1")
        attentionQuery = try binder.linear("a_2")
        pooling = SigmoidAttentionPooling(weights: try binder.tensor("v_t.weight"), width: h)
        output = try binder.linear("b")
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: e, firstItem: 1)
        var layout = WorkspaceLayout()
        let rows = maxBatch * config.maxLength
        stepRows = layout.reserve(rows * Swift.max(e, h))
        projected = layout.reserve(rows * 3 * h)
        states = layout.reserve(maxBatch * h)
        gh = layout.reserve(maxBatch * 3 * h)
        topStates = layout.reserve(rows * h)
        keys = layout.reserve(rows * h)
        queries = layout.reserve(maxBatch * h)
        joined = layout.reserve(maxBatch * 2 * h)
        poolScratch = layout.reserve(h)
        order = layout.reserveInts(3 * maxBatch)
        stepOffsets = layout.reserveInts(config.maxLength + 1)
        rowPointers = layout.reserveInts(maxBatch)
        workspaceLayout = layout
    }

    /// The GRU runs time-major: sessions sorted longest first, so those still stepping at t are a prefix
    /// and step t's rows of every layer are one contiguous block (offset[t] …). Each layer projects all
    /// its inputs in one product, then steps; its outputs are the next layer's inputs.
    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let e = configuration.embeddingSize, h = configuration.hiddenSize, count = sessions.count
        let start = sessions.startIndex, maxLength = configuration.maxLength
        let sorted = workspace.intRegion(order), length = sorted + count, firstRow = length + count
        for b in 0..<count {
            let n = Swift.min(sessions[start + b].items.count, maxLength)
            var slot = b
            // Insertion sort, longest first: batches are small.
            while slot > 0 && length[slot - 1] < n {
                sorted[slot] = sorted[slot - 1]
                length[slot] = length[slot - 1]
                slot -= 1
            }
            sorted[slot] = b
            length[slot] = n
        }
        let steps = length[0], offset = workspace.intRegion(stepOffsets)
        offset[0] = 0
        var active = count
        for t in 0..<steps {
            while active > 0 && length[active - 1] <= t { active -= 1 }
            offset[t + 1] = offset[t] + active
        }
        let rows = offset[steps]
        let x = workspace.region(stepRows), gi = workspace.region(projected), state = workspace.region(states)
        for t in 0..<steps {
            for r in 0..<(offset[t + 1] - offset[t]) {
                let items = sessions[start + sorted[r]].items
                let item = Int(items[items.count - length[r] + t])
                (x + (offset[t] + r) * e).update(from: self.items + item * e, count: e)
            }
        }
        // safe: the region holds maxBatch Ints, the same size and alignment as maxBatch pointers, and is
        // only ever used as pointers (the fused GRU step reads its input rows through them).
        let pointers = UnsafeMutableRawPointer(workspace.intRegion(rowPointers))
            .bindMemory(to: UnsafePointer<Float>?.self, capacity: Swift.max(1, count))
        var inputWidth = e
        for layer in gru {
            layer.input(rows: rows, x, ldx: inputWidth, into: gi, ldo: 3 * h, kernels: kernels)
            state.update(repeating: 0, count: count * h)
            for t in 0..<steps {
                let active = offset[t + 1] - offset[t]
                layer.step(rows: active, projected: gi + offset[t] * 3 * h, hidden: state, gh: workspace.region(gh),
                           rowPointers: pointers, kernels: kernels)
                (x + offset[t] * h).update(from: state, count: active * h)
            }
            inputWidth = h
        }

        // Session-major top states g_j; z[b] = [c_local | h_t].
        let g = workspace.region(topStates), z = workspace.region(joined)
        var next = 0
        for r in 0..<count {
            firstRow[r] = next
            for t in 0..<length[r] { (g + (next + t) * h).update(from: x + (offset[t] + r) * h, count: h) }
            next += length[r]
            (z + sorted[r] * 2 * h + h).update(from: g + (next - 1) * h, count: h)
        }
        let k = workspace.region(keys), q = workspace.region(queries), poolRow = workspace.region(poolScratch)
        attentionKey(rows: rows, g, ldx: h, into: k, ldo: h, kernels: kernels)
        attentionQuery(rows: count, z + h, ldx: 2 * h, into: q, ldo: h, kernels: kernels)
        for r in 0..<count {
            let b = sorted[r]
            pooling(rows: length[r], keys: k + firstRow[r] * h, ldk: h, query: q + b * h, values: g + firstRow[r] * h,
                    ldv: h, valueWidth: h, scratch: poolRow, into: z + b * 2 * h, kernels: kernels)
        }
        output(rows: count, z, ldx: 2 * h, into: readout, ldo: e, kernels: kernels)
    }
}

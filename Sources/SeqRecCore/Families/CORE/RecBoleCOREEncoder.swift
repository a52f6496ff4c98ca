// RecBole 1.2.x `CORE` (recbole/model/sequential_recommender/core.py), MODELS-next.md §5.
// The session vector is a weighted mean of the window's raw item embeddings: weights from a causal
// transformer (`dnn_type` trm) or uniform (`ave`), L2-normalised. Scores are cosines with the item
// table divided by the temperature: the table is normalised once at load and the readout carries
// 1/temperature (row 0 = PAD is never returned).

final class RecBoleCOREEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleCORE.Configuration

    /// The trm pooling network (`net.`): embedding stage, causal layers, one logit per row.
    private struct PoolingNetwork {
        let embedding: TransformerEmbedding
        let layers: [RecBoleTransformerLayer]
        let logitWeights: UnsafePointer<Float>   // net.fn.weight [1, d]
        let logitBias: Float                     // net.fn.bias [1]
        let regions: TransformerRegions
        let logits: Int
    }

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let network: PoolingNetwork?
    private let derived = DerivedWeights()

    var family: ModelFamily { .recboleCORE }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let d = config.embeddingSize, rows = config.itemRows
        items = try binder.tensor("item_embedding.weight")
        var layout = WorkspaceLayout()
        if config.pooling == .trm {
            let embedding = TransformerEmbedding(
                items: items, positions: try binder.tensor("net.position_embedding.weight"),
                norm: try binder.layerNorm("net.LayerNorm", eps: config.layerNormEps), width: d)
            let layers = try RecBoleCORE.encoderKeys.bind(binder, layers: config.layers, width: d, heads: config.heads,
                                                          eps: config.layerNormEps, activation: config.activation,
                                                          causal: true)
            network = PoolingNetwork(
                embedding: embedding, layers: layers, logitWeights: try binder.tensor("net.fn.weight"),
                logitBias: try binder.tensor("net.fn.bias").pointee,
                regions: TransformerRegions(&layout, maxBatch: maxBatch, maxTokens: config.maxLength, hidden: d,
                                            inner: config.innerSize),
                logits: layout.reserve(maxBatch * config.maxLength))
        } else {
            network = nil
        }
        // Ê_i = E_i / max(‖E_i‖, 1e-12) for every row, PAD included (full_sort_predict, §5.5).
        let table = items
        let normalised = derived.make(count: rows * d) { out in
            for row in 0..<rows {
                normalise(table + row * d, count: d, into: out.baseAddress! + row * d)
            }
        }
        scoring = ScoringTable(table: normalised, bias: nil, rows: rows, width: d, firstItem: 1)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.embeddingSize, window = configuration.maxLength
        if let network {
            pool(sessions, network: network, workspace: workspace, into: readout, kernels: kernels)
        } else {
            for (b, session) in sessions.enumerated() {
                // α_j = 1/m in float32 for every real slot, then Σ α_j·E[t_j].
                let items = recentItems(session.items, window: window), u = readout + b * d
                let alpha = 1 / Float(items.count)
                u.update(repeating: 0, count: d)
                for item in items { kernels.axpy(count: d, alpha: alpha, x: self.items + Int(item) * d, y: u) }
            }
        }
        // u = normalize(v) / temperature: the scores are then (u·Ê_i) / temperature.
        let inverseTemperature = 1 / configuration.temperature
        for b in 0..<sessions.count {
            let u = readout + b * d
            normalise(u, count: d, into: u)
            kernels.scale(count: d, alpha: inverseTemperature, u)
        }
    }

    /// trm (§5.3): α = softmax over the real slots of fn(transformer rows); v = Σ α_j·E[t_j] (raw embeddings).
    private func pool(_ sessions: ArraySlice<SessionQuery>, network: PoolingNetwork, workspace: Workspace,
                      into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.embeddingSize, window = configuration.maxLength
        let x = workspace.region(network.regions.tokens), spans = workspace.intRegion(network.regions.spans)
        var rows = 0
        for (b, session) in sessions.enumerated() {
            let items = recentItems(session.items, window: window)
            for (position, item) in items.enumerated() {
                network.embedding.embed(item: Int(item), position: position, into: x + (rows + position) * d,
                                        kernels: kernels)
            }
            spans[2 * b] = rows
            spans[2 * b + 1] = items.count
            rows += items.count
        }
        let scratch = RecBoleTransformerLayer.scratch(workspace, network.regions.layer)
        for layer in network.layers {
            layer.forward(x, rows: rows, spans: spans, sessions: sessions.count, scratch: scratch, kernels: kernels)
        }
        let logits = workspace.region(network.logits)
        for row in 0..<rows {
            logits[row] = kernels.dot(count: d, x + row * d, network.logitWeights) + network.logitBias
        }
        for (b, session) in sessions.enumerated() {
            let start = spans[2 * b], count = spans[2 * b + 1], u = readout + b * d
            kernels.softmaxRows(rows: 1, cols: count, x: logits + start, ldx: count)
            u.update(repeating: 0, count: d)
            for (j, item) in recentItems(session.items, window: window).enumerated() {
                kernels.axpy(count: d, alpha: logits[start + j], x: items + Int(item) * d, y: u)
            }
        }
    }
}

/// `v / max(‖v‖, 1e-12)` (PyTorch `F.normalize`); `out` may equal `v`.
private func normalise(_ v: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
    var sum: Double = 0
    for j in 0..<count { sum += Double(v[j]) * Double(v[j]) }
    let norm = Swift.max(Float(sum.squareRoot()), 1e-12)
    for j in 0..<count { out[j] = v[j] / norm }
}

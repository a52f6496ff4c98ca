// The shared body of RecBole's SASRec and BERT4Rec: embedding stage plus post-LN layers over the
// packed tokens of a batch (MODELS.md §3.4 and §4.4 steps 1–3).
//   B sessions, R = Σ tokens packed row after row, H hidden
//   tokens [R, H] in the workspace → each session's last row after the last layer → out [B, H]

struct RecBoleTransformerStack {
    let embedding: TransformerEmbedding
    let layers: [RecBoleTransformerLayer]
    let hidden: Int
    private let regions: TransformerRegions

    /// `layers` must not be empty; windows hold at most `maxTokens` tokens.
    init(embedding: TransformerEmbedding, layers: [RecBoleTransformerLayer], maxBatch: Int, maxTokens: Int,
         layout: inout WorkspaceLayout) {
        precondition(!layers.isEmpty, "a transformer stack has at least one layer")
        self.embedding = embedding
        self.layers = layers
        hidden = embedding.width
        regions = TransformerRegions(&layout, maxBatch: maxBatch, maxTokens: maxTokens, hidden: embedding.width,
                                     inner: layers[0].inner)
    }

    /// Embeds session `b`'s tokens (`items`, then `mask` when given) at positions 0, 1, … after the
    /// `rows` rows already packed; returns the new row count.
    func pack(session b: Int, items: ArraySlice<Int32>, mask: Int?, after rows: Int, workspace: Workspace,
              kernels: Kernels) -> Int {
        let x = workspace.region(regions.tokens), spans = workspace.intRegion(regions.spans)
        var position = 0
        for item in items {
            embedding.embed(item: Int(item), position: position, into: x + (rows + position) * hidden, kernels: kernels)
            position += 1
        }
        if let mask {
            embedding.embed(item: mask, position: position, into: x + (rows + position) * hidden, kernels: kernels)
            position += 1
        }
        spans[2 * b] = rows
        spans[2 * b + 1] = position
        return rows + position
    }

    /// Runs every layer over the `rows` packed tokens of `sessions` sessions; only the last layer's
    /// readout rows (each session's last token) are computed, into `out` [sessions, H]. `keep` sees every
    /// layer's keys and values of all rows [rows, H] (session b's at rows `span(b)`).
    func run(sessions: Int, rows: Int, workspace: Workspace, into out: UnsafeMutablePointer<Float>, kernels: Kernels,
             keep: (_ layer: Int, _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>) -> Void = { _, _, _ in }) {
        let x = workspace.region(regions.tokens), spans = workspace.intRegion(regions.spans)
        let scratch = RecBoleTransformerLayer.scratch(workspace, regions.layer)
        for (index, layer) in layers.dropLast().enumerated() {
            layer.forward(x, rows: rows, spans: spans, sessions: sessions, scratch: scratch, kernels: kernels)
            keep(index, scratch.k, scratch.v)
        }
        // safe: init requires at least one layer.
        layers[layers.count - 1].forwardLastRows(x, rows: rows, spans: spans, sessions: sessions, into: out,
                                                 scratch: scratch, kernels: kernels)
        keep(layers.count - 1, scratch.k, scratch.v)
    }

    /// Session b's packed rows: (first row, token count).
    func span(_ b: Int, workspace: Workspace) -> (start: Int, count: Int) {
        let spans = workspace.intRegion(regions.spans)
        return (spans[2 * b], spans[2 * b + 1])
    }

    /// One new token per session through every layer, against cached keys and values (see
    /// `RecBoleTransformerLayer.forwardAppended`); x [sessions, H] holds the embedded tokens and ends as
    /// their readouts.
    func runAppended(_ x: UnsafeMutablePointer<Float>, sessions: Int, cached: (Int) -> TransformerStateCache.Entry,
                     known: (Int) -> Int, workspace: Workspace, kernels: Kernels) {
        let scratch = RecBoleTransformerLayer.scratch(workspace, regions.layer)
        for (index, layer) in layers.enumerated() {
            layer.forwardAppended(x, sessions: sessions, layer: index, cached: cached, known: known,
                                  scratch: scratch, kernels: kernels)
        }
    }
}

/// `X0[j] = LN(E[item] + Pos[j])` (RecBole's embedding stage, no scaling).
struct TransformerEmbedding {
    let items: UnsafePointer<Float>
    let positions: UnsafePointer<Float>
    let norm: LayerNormLayer
    let width: Int

    func embed(item: Int, position: Int, into row: UnsafeMutablePointer<Float>, kernels: Kernels) {
        row.update(from: items + item * width, count: width)
        kernels.add(count: width, positions + position * width, into: row)
        norm(rows: 1, row, ldx: width, into: row, ldo: width, kernels: kernels)
    }
}

/// Workspace regions shared by the RecBole transformer families.
struct TransformerRegions {
    let tokens: Int
    let spans: Int
    let layer: [Int]

    init(_ layout: inout WorkspaceLayout, maxBatch: Int, maxTokens: Int, hidden: Int, inner: Int) {
        let rows = maxBatch * maxTokens
        tokens = layout.reserve(rows * hidden)
        spans = layout.reserveInts(2 * maxBatch)
        layer = RecBoleTransformerLayer.reserve(&layout, rows: rows, maxTokens: maxTokens, hidden: hidden,
                                                inner: inner)
    }
}

// RecBole 1.2.x `SRGNN` (recbole/model/sequential_recommender/srgnn.py), MODELS-next.md §6.
// The last L items form a session graph; `step` gated graph steps update its nodes; each slot reads
// its node, and a sigmoid attention from the newest item's node pools the slots. Scores are dot
// products with the item table (row 0 = PAD is never returned).

final class RecBoleSRGNNEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = RecBoleSRGNN.Configuration

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let graph: SessionGraphPropagation
    let linearOne, linearTwo, linearTransform: Linear
    let pooling: SigmoidAttentionPooling
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let slotStates, slotKeys, queries, joined, poolScratch: Int

    var family: ModelFamily { .recboleSRGNN }
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        let d = config.embeddingSize
        items = try binder.tensor("item_embedding.weight")
        linearOne = try binder.linear("linear_one")
        linearTwo = try binder.linear("linear_two")
        pooling = SigmoidAttentionPooling(weights: try binder.tensor("linear_three.weight"), width: d)
        linearTransform = try binder.linear("linear_transform")
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: d, firstItem: 1)
        var layout = WorkspaceLayout()
        let rows = maxBatch * config.maxLength
        graph = SessionGraphPropagation(cell: try binder.gatedGraphCell(width: d, messageBiases: true),
                                        steps: config.steps, window: config.maxLength, width: d,
                                        maxBatch: maxBatch, layout: &layout)
        slotStates = layout.reserve(rows * d)
        slotKeys = layout.reserve(rows * d)
        queries = layout.reserve(maxBatch * d)
        joined = layout.reserve(maxBatch * 2 * d)
        poolScratch = layout.reserve(d)
        workspaceLayout = layout
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.embeddingSize, count = sessions.count
        let (graphs, h) = graph.run(sessions, items: items, workspace: workspace, kernels: kernels)

        // Slot j reads its node; [a | h_t] per session, h_t = the newest item's node.
        let slots = workspace.region(slotStates), z = workspace.region(joined)
        for slot in 0..<graphs.slotCount { (slots + slot * d).update(from: h + graphs.slotNodes[slot] * d, count: d) }
        for b in 0..<count { (z + b * 2 * d + d).update(from: h + graphs.lastNode(b) * d, count: d) }
        let q = workspace.region(queries), keys = workspace.region(slotKeys)
        linearOne(rows: count, z + d, ldx: 2 * d, into: q, ldo: d, kernels: kernels)
        linearTwo(rows: graphs.slotCount, slots, ldx: d, into: keys, ldo: d, kernels: kernels)
        let poolRow = workspace.region(poolScratch)
        for b in 0..<count {
            let span = graphs.slots(b)
            pooling(rows: span.count, keys: keys + span.start * d, ldk: d, query: q + b * d,
                    values: slots + span.start * d, ldv: d, valueWidth: d, scratch: poolRow,
                    into: z + b * 2 * d, kernels: kernels)
        }
        linearTransform(rows: count, z, ldx: 2 * d, into: readout, ldo: d, kernels: kernels)
    }
}

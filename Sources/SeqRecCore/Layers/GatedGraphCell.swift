// One step of the gated graph network of SR-GNN and GC-SAN (MODELS-next.md §2.3), over every node
// of a batch of session graphs at once.
//   U node rows, d width; states h [U, d] updated in place
//   scratch: p, q [U, d]; x [U, 2d]; gi, gh [U, 3d]; gate row blocks are r | z | n

struct GatedGraphCell {
    let edgeIn, edgeOut: Linear        // linear_edge_in / linear_edge_out [d, d] with bias
    let input: Linear                  // w_ih [3d, 2d], b_ih [3d]
    let hidden: Linear                 // w_hh [3d, d], b_hh [3d]
    /// SR-GNN's b_iah / b_ioh, added to every node's aggregated in/out message (GC-SAN has none).
    let inBias, outBias: UnsafePointer<Float>?
    let width: Int

    struct Scratch {
        let p, q, x, gi, gh: UnsafeMutablePointer<Float>
    }

    static func reserve(_ layout: inout WorkspaceLayout, nodes: Int, width d: Int) -> [Int] {
        [nodes * d, nodes * d, nodes * 2 * d, nodes * 3 * d, nodes * 3 * d].map { layout.reserve($0) }
    }

    static func scratch(_ workspace: Workspace, _ offsets: [Int]) -> Scratch {
        Scratch(p: workspace.region(offsets[0]), q: workspace.region(offsets[1]), x: workspace.region(offsets[2]),
                gi: workspace.region(offsets[3]), gh: workspace.region(offsets[4]))
    }

    /// h_v ← (1 − z) ⊙ h_v + z ⊙ c for every node: z weights the new candidate, the reverse of nn.GRU.
    func step(_ h: UnsafeMutablePointer<Float>, graphs: SessionGraphs, scratch s: Scratch, kernels: Kernels) {
        let d = width, nodes = graphs.nodeCount, gates = 3 * d
        guard nodes > 0 else { return }
        edgeIn(rows: nodes, h, ldx: d, into: s.p, ldo: d, kernels: kernels)
        edgeOut(rows: nodes, h, ldx: d, into: s.q, ldo: d, kernels: kernels)
        // x_v = [Σ_u A_in[v,u]·p_u | Σ_w A_out[v,w]·q_w], A normalised by the target's in-degree and
        // the source's out-degree (upstream rounds each 1/degree to float32, as Float(1/Double) does).
        s.x.update(repeating: 0, count: nodes * 2 * d)
        for edge in 0..<graphs.edgeCount {
            let from = graphs.edgeFrom[edge], to = graphs.edgeTo[edge]
            kernels.axpy(count: d, alpha: Float(1 / Double(graphs.inDegree[to])), x: s.p + from * d,
                         y: s.x + to * 2 * d)
            kernels.axpy(count: d, alpha: Float(1 / Double(graphs.outDegree[from])), x: s.q + to * d,
                         y: s.x + from * 2 * d + d)
        }
        if let inBias { kernels.addBias(rows: nodes, cols: d, bias: inBias, x: s.x, ldx: 2 * d) }
        if let outBias { kernels.addBias(rows: nodes, cols: d, bias: outBias, x: s.x + d, ldx: 2 * d) }
        input(rows: nodes, s.x, ldx: 2 * d, into: s.gi, ldo: gates, kernels: kernels)
        hidden(rows: nodes, h, ldx: d, into: s.gh, ldo: gates, kernels: kernels)
        GRUGates.apply(rows: nodes, width: d, gi: s.gi, gh: s.gh, hidden: h, update: .takesCandidate, kernels: kernels)
    }
}

extension WeightBinder {
    /// The cell under `gnn.` with width d; `messageBiases` binds SR-GNN's `gnn.b_iah` / `gnn.b_ioh`.
    func gatedGraphCell(width d: Int, messageBiases: Bool) throws -> GatedGraphCell {
        GatedGraphCell(
            edgeIn: try linear("gnn.linear_edge_in"), edgeOut: try linear("gnn.linear_edge_out"),
            input: linear(weight: try tensor("gnn.w_ih"), bias: try tensor("gnn.b_ih"), input: 2 * d, output: 3 * d),
            hidden: linear(weight: try tensor("gnn.w_hh"), bias: try tensor("gnn.b_hh"), input: d, output: 3 * d),
            inBias: messageBiases ? try tensor("gnn.b_iah") : nil,
            outBias: messageBiases ? try tensor("gnn.b_ioh") : nil,
            width: d)
    }
}

extension TensorTable {
    /// The `gnn.` tensors of a cell of width d (SR-GNN: `messageBiases`), in upstream's order.
    mutating func addGatedGraphCell(width d: Int, messageBiases: Bool) {
        add("gnn.w_ih", 3 * d, 2 * d)
        add("gnn.w_hh", 3 * d, d)
        add("gnn.b_ih", 3 * d)
        add("gnn.b_hh", 3 * d)
        if messageBiases {
            add("gnn.b_iah", d)
            add("gnn.b_ioh", d)
        }
        add("gnn.linear_edge_in.weight", d, d)
        add("gnn.linear_edge_in.bias", d)
        add("gnn.linear_edge_out.weight", d, d)
        add("gnn.linear_edge_out.bias", d)
    }
}

// The front end SR-GNN and GC-SAN share (MODELS-next.md §2, §6, §7): build each session's item graph,
// embed every node from the item table, then run the gated graph steps on the node states in place.
// Everything lives in the context's workspace: nothing is allocated per request.

struct SessionGraphPropagation {
    let cell: GatedGraphCell
    let steps: Int
    let window: Int
    let width: Int
    private let graphRegions: SessionGraphRegions
    private let cellScratch: [Int]
    private let nodeStates: Int

    /// Reserves scratch for batches of up to `maxBatch` sessions of at most `window` items.
    init(cell: GatedGraphCell, steps: Int, window: Int, width: Int, maxBatch: Int, layout: inout WorkspaceLayout) {
        self.cell = cell
        self.steps = steps
        self.window = window
        self.width = width
        let rows = maxBatch * window
        graphRegions = SessionGraphRegions(&layout, maxBatch: maxBatch, window: window)
        cellScratch = GatedGraphCell.reserve(&layout, nodes: rows, width: width)
        nodeStates = layout.reserve(rows * width)
    }

    /// The batch's graphs and the propagated node states (node n at row n, `width` floats each).
    func run(_ sessions: ArraySlice<SessionQuery>, items: UnsafePointer<Float>, workspace: Workspace,
             kernels: Kernels) -> (graphs: SessionGraphs, states: UnsafeMutablePointer<Float>) {
        let d = width
        var graphs = SessionGraphs(graphRegions, workspace: workspace)
        for session in sessions { graphs.append(window: recentItems(session.items, window: window)) }
        let h = workspace.region(nodeStates)
        for node in 0..<graphs.nodeCount { (h + node * d).update(from: items + graphs.nodeItems[node] * d, count: d) }
        let scratch = GatedGraphCell.scratch(workspace, cellScratch)
        for _ in 0..<steps { cell.step(h, graphs: graphs, scratch: scratch, kernels: kernels) }
        return (graphs, h)
    }
}

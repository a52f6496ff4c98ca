// The item graphs of a batch of sessions (MODELS-next.md §2.2), built in workspace integers: no
// allocation per request. Nodes of all sessions are packed into one block of rows, so each graph
// step is one product over every node of the batch.
//   B sessions, W window (≤ W slots, nodes and edges per session), U = Σ distinct items
//   per slot: its node row; per node: item id, in/out degree; per session: first node, first slot, first edge

/// Where the graphs of a batch live in the workspace.
struct SessionGraphRegions {
    let nodeItems, slotNodes, edgeFrom, edgeTo, inDegree, outDegree, sessions: Int

    init(_ layout: inout WorkspaceLayout, maxBatch: Int, window: Int) {
        let rows = maxBatch * window
        nodeItems = layout.reserveInts(rows)
        slotNodes = layout.reserveInts(rows)
        edgeFrom = layout.reserveInts(rows)
        edgeTo = layout.reserveInts(rows)
        inDegree = layout.reserveInts(rows)
        outDegree = layout.reserveInts(rows)
        sessions = layout.reserveInts(3 * (maxBatch + 1))
    }
}

/// A view of one batch's graphs. Nodes are each session's distinct window items in order of first
/// appearance (upstream sorts them by id and adds inert PAD nodes; neither changes any node's state).
/// Edge u → v exists once however often the transition occurs; a consecutive repeat is a self-loop.
struct SessionGraphs {
    let nodeItems, slotNodes, edgeFrom, edgeTo, inDegree, outDegree: UnsafeMutablePointer<Int>
    /// [first node, first slot, first edge] of session b at 3b; entry B closes the last session.
    let sessions: UnsafeMutablePointer<Int>
    private(set) var count = 0

    init(_ regions: SessionGraphRegions, workspace: Workspace) {
        nodeItems = workspace.intRegion(regions.nodeItems)
        slotNodes = workspace.intRegion(regions.slotNodes)
        edgeFrom = workspace.intRegion(regions.edgeFrom)
        edgeTo = workspace.intRegion(regions.edgeTo)
        inDegree = workspace.intRegion(regions.inDegree)
        outDegree = workspace.intRegion(regions.outDegree)
        sessions = workspace.intRegion(regions.sessions)
        sessions[0] = 0
        sessions[1] = 0
        sessions[2] = 0
    }

    var nodeCount: Int { sessions[3 * count] }
    var slotCount: Int { sessions[3 * count + 1] }
    var edgeCount: Int { sessions[3 * count + 2] }

    /// Session b's slots: (first slot row, slot count).
    func slots(_ b: Int) -> (start: Int, count: Int) {
        (sessions[3 * b + 1], sessions[3 * b + 4] - sessions[3 * b + 1])
    }

    /// The node row of session b's newest item.
    func lastNode(_ b: Int) -> Int { slotNodes[sessions[3 * b + 4] - 1] }

    /// Adds the graph of one window (oldest first, already truncated to the model's window).
    mutating func append(window items: ArraySlice<Int32>) {
        let firstNode = sessions[3 * count], firstSlot = sessions[3 * count + 1], firstEdge = sessions[3 * count + 2]
        var nodes = firstNode, slot = firstSlot, edges = firstEdge
        for item in items {
            let id = Int(item)
            var node = firstNode
            // Linear search: a window holds at most W (50 by default) distinct items.
            while node < nodes && nodeItems[node] != id { node += 1 }
            if node == nodes {
                nodeItems[node] = id
                inDegree[node] = 0
                outDegree[node] = 0
                nodes += 1
            }
            if slot > firstSlot {
                let from = slotNodes[slot - 1]
                var edge = firstEdge
                while edge < edges && !(edgeFrom[edge] == from && edgeTo[edge] == node) { edge += 1 }
                if edge == edges {
                    edgeFrom[edge] = from
                    edgeTo[edge] = node
                    outDegree[from] += 1
                    inDegree[node] += 1
                    edges += 1
                }
            }
            slotNodes[slot] = node
            slot += 1
        }
        count += 1
        sessions[3 * count] = nodes
        sessions[3 * count + 1] = slot
        sessions[3 * count + 2] = edges
    }
}

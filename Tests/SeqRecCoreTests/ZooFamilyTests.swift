import Foundation
import Testing
@testable import SeqRecCore

/// The session graph of SR-GNN and GC-SAN (MODELS-next.md §2.2), built in workspace integers, and the
/// converter's answers to zoo configs that contradict their weights or misname a key.
@Suite("Session-based zoo: graphs and conversion")
struct ZooFamilyTests {
    /// Graphs of `windows`, one session each, in one batch.
    private func graphs(_ windows: [[Int32]], window: Int = 50) -> (SessionGraphs, Workspace) {
        var layout = WorkspaceLayout()
        let regions = SessionGraphRegions(&layout, maxBatch: windows.count, window: window)
        let workspace = Workspace(layout)
        var graphs = SessionGraphs(regions, workspace: workspace)
        for items in windows { graphs.append(window: items[...]) }
        return (graphs, workspace)
    }

    /// Session b's graph as item-level facts: edges (from item, to item) and each item's degrees.
    private func describe(_ graphs: SessionGraphs, _ b: Int) -> (edges: Set<[Int]>, inDegree: [Int: Int], outDegree: [Int: Int]) {
        var edges = Set<[Int]>(), inDegree: [Int: Int] = [:], outDegree: [Int: Int] = [:]
        let first = graphs.sessions[3 * b], end = graphs.sessions[3 * b + 3]
        for node in first..<end {
            inDegree[graphs.nodeItems[node]] = graphs.inDegree[node]
            outDegree[graphs.nodeItems[node]] = graphs.outDegree[node]
        }
        for edge in graphs.sessions[3 * b + 2]..<graphs.sessions[3 * b + 5] {
            #expect((first..<end).contains(graphs.edgeFrom[edge]) && (first..<end).contains(graphs.edgeTo[edge]),
                    "edge \(edge) leaves session \(b)'s nodes")
            edges.insert([graphs.nodeItems[graphs.edgeFrom[edge]], graphs.nodeItems[graphs.edgeTo[edge]]])
        }
        return (edges, inDegree, outDegree)
    }

    @Test("§2.2's example (1, 2, 3, 2, 4): four nodes, four edges, degrees counted once per neighbour")
    func specificationExample() {
        let (graphs, workspace) = graphs([[1, 2, 3, 2, 4]])
        let graph = describe(graphs, 0)
        #expect(graphs.nodeCount == 4 && graphs.slotCount == 5 && graphs.edgeCount == 4)
        #expect(graph.edges == [[1, 2], [2, 3], [3, 2], [2, 4]])
        #expect(graph.inDegree == [1: 0, 2: 2, 3: 1, 4: 1])
        #expect(graph.outDegree == [1: 1, 2: 2, 3: 1, 4: 0])
        // Slots read their item's node: both occurrences of item 2 share one node.
        #expect(graphs.slotNodes[1] == graphs.slotNodes[3])
        #expect(graphs.nodeItems[graphs.lastNode(0)] == 4)
        withExtendedLifetime(workspace) {}
    }

    @Test("a consecutive repeat is one self-loop; a repeated transition is one edge")
    func repeatsAreSets() {
        let (graphs, workspace) = graphs([[7, 7, 7], [5, 6, 5, 6, 5], [9]])
        let loop = describe(graphs, 0), cycle = describe(graphs, 1), single = describe(graphs, 2)
        #expect(loop.edges == [[7, 7]] && loop.inDegree == [7: 1] && loop.outDegree == [7: 1])
        #expect(cycle.edges == [[5, 6], [6, 5]] && cycle.inDegree == [5: 1, 6: 1] && cycle.outDegree == [5: 1, 6: 1])
        #expect(single.edges.isEmpty && single.inDegree == [9: 0] && single.outDegree == [9: 0])
        #expect(graphs.slots(1) == (start: 3, count: 5) && graphs.slots(2) == (start: 8, count: 1))
        #expect(graphs.nodeCount == 1 + 2 + 1 && graphs.edgeCount == 1 + 2 + 0)
        withExtendedLifetime(workspace) {}
    }

    @Test("a window of W distinct items fills the regions reserved for it exactly")
    func fullWindows() {
        let windows = (0..<3).map { b in (0..<50).map { Int32(1 + b * 50 + $0) } }
        let (graphs, workspace) = graphs(windows, window: 50)
        #expect(graphs.nodeCount == 150 && graphs.slotCount == 150 && graphs.edgeCount == 147)
        withExtendedLifetime(workspace) {}
    }

    // MARK: Conversion

    /// A copy of shared fixture `name` with its config.json's hyperparameters edited.
    private func editedFixture(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        let source = GoldenFixture.root.appendingPathComponent(name)
        let directory = try FormatTestSupport.temporaryDirectory()
        for file in ["weights.safetensors", "vocab.tsv"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file),
                                             to: directory.appendingPathComponent(file))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
            as! [String: Any]
        var hyperparameters = config["hyperparameters"] as! [String: Any]
        edit(&hyperparameters)
        config["hyperparameters"] = hyperparameters
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        return directory.path
    }

    private func expectRefused(_ folder: String, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        let output = URL(fileURLWithPath: folder).appendingPathComponent("out.seqrec").path
        do {
            try FixtureImporter.convert(folder: folder, output: output)
            Issue.record("conversion succeeded", sourceLocation: sourceLocation)
        } catch {
            let text = "\(error)"
            #expect(error is FormatError && !text.contains("\n"), "not a one-line FormatError: \(text)",
                    sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(text.contains(fragment), "'\(fragment)' missing from: \(text)", sourceLocation: sourceLocation)
            }
            #expect(!FileManager.default.fileExists(atPath: output), "output written despite the error",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("CORE: the weights decide between trm and ave; a config that says otherwise is refused")
    func coreVariantMustMatchWeights() throws {
        expectRefused(try editedFixture("recbole-core-ml100k") { $0["dnn_type"] = "ave" }, "dnn_type", "'ave'",
                      "trm model")
        expectRefused(try editedFixture("recbole-core-ave-ml100k") { $0["dnn_type"] = "trm" }, "dnn_type", "'trm'",
                      "ave model")
        expectRefused(try editedFixture("recbole-core-ml100k") { $0["dnn_type"] = "avg" }, "dnn_type", "trm, ave")
        expectRefused(try editedFixture("recbole-core-ml100k") { $0["temperature"] = 0 }, "temperature")
    }

    @Test("hyperparameters the weights cannot tell are required, and misspelt keys are named",
          arguments: [("recbole-gcsan-ml100k", "weight"), ("recbole-srgnn-ml100k", "step"),
                      ("recbole-stamp-ml100k", "MAX_ITEM_LIST_LENGTH"), ("recbole-narm-ml100k", "MAX_ITEM_LIST_LENGTH"),
                      ("recbole-lightsans-ml100k", "n_heads"), ("recbole-core-ml100k", "temperature")])
    func requiredKeys(fixture: String, key: String) throws {
        expectRefused(try editedFixture(fixture) { $0[key] = nil }, key)
        let misspelt = try editedFixture(fixture) { values in
            values["x" + key] = values[key]
            values[key] = nil
        }
        expectRefused(misspelt, "x" + key, key)
    }

    @Test("a width that contradicts the weights is refused, naming the tensor",
          arguments: [("recbole-narm-ml100k", "hidden_size"), ("recbole-stamp-ml100k", "embedding_size"),
                      ("recbole-srgnn-ml100k", "embedding_size"), ("recbole-gcsan-ml100k", "inner_size"),
                      ("recbole-lightsans-ml100k", "k_interests")])
    func widthsMustMatchWeights(fixture: String, key: String) throws {
        expectRefused(try editedFixture(fixture) { $0[key] = 32 }, "tensor '", "shape")
    }
}

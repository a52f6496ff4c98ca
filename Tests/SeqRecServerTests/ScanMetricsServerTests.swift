// The reduced-table scan counters on /metrics (docs/OPERATIONS.md §4, "Reduced-table scans"): requests to a
// model with an int8 scan table move seqrec_scan_reduced_sessions_total and the rows re-scored; the
// fp32-only model reports none; the candidate-mode request (no full scan) moves nothing.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecOperations
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Scan metrics")
struct ScanMetricsServerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func requestsMoveTheScanCounters() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scanmetrics-\(getpid()).seqrec").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FixtureImporter.convert(folder: Self.root.appendingPathComponent("Tests/Fixtures/recbole-sasrec-ml100k").path,
                                    output: path)
        try ScanTableConversion.add([.int8], path: path)
        let recommender = try Recommender(path: path, name: "int8", maxBatch: 8)
        let fp32 = try Recommender(path: path, name: "fp32", maxBatch: 8, scanTable: .fp32)
        #expect(recommender.reducedScanTable == "int8" && fp32.reducedScanTable == nil)
        let server = try TestServer(backends: [RecommenderBackend(recommender), RecommenderBackend(fp32)]) { $0.workers = 2 }
        defer { server.stop() }
        let runtime = OperationsRuntime(options: OperationsOptions(), environment: [:], build: BuildInfo(version: "test", kernels: "auto"))
        _ = try server.server.attach(runtime)
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        for length in 1...3 {
            _ = try await connection.recommend(RecommendRequest(session: .internal(Array([7, 9, 11].prefix(length))), k: 5))
            _ = try await connection.recommend(RecommendRequest(session: .internal([7]), k: 5, modelName: "fp32"))
        }
        _ = try await connection.recommend(RecommendRequest(session: .internal([7]), k: 2, candidates: .internal([1, 2, 3])))
        let text = OperationsMetrics.render(snapshot: runtime.registry.snapshot(), gauges: ServerGauges(),
                                            models: server.server.modelMetrics, build: BuildInfo(version: "t", kernels: "auto"),
                                            process: nil)
        #expect(text.contains("seqrec_scan_reduced_sessions_total{model=\"int8\",version=\"1\",table=\"int8\"} 3"), "\(text)")
        #expect(text.contains("seqrec_scan_fp32_fallbacks_total{model=\"int8\",version=\"1\",table=\"int8\"} 0"))
        let rescored = text.split(separator: "\n").first { $0.hasPrefix("seqrec_scan_rescored_rows_total{model=\"int8\"") }
        let rows = try #require(rescored.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) })
        #expect(rows >= 3 * 5)   // at least k rows per session are re-scored in fp32
        #expect(!text.contains("seqrec_scan_reduced_sessions_total{model=\"fp32\""))
    }
}

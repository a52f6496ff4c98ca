// Issue 14's done-when for one process: with --workers 2 and the default state-cache budget, 2,000
// sessions growing to 20 clicks each, interleaved over 8 connections, resume ≥ 90 % of the resumable
// requests, for SASRec and GRU4Rec; sampled answers equal a full pass's. And /metrics shows the cache.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecOperations
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

@Suite("State cache behind the server", .serialized)
struct StateCacheServerTests {

    /// The fixture converted to a temporary model file (removed by the caller).
    static func model(_ fixture: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("statecache-\(getpid())-\(fixture).seqrec").path
        try FixtureImporter.convert(folder: PackagePaths.fixture(fixture), output: path)
        return path
    }

    /// Session `s`'s click `t` (ids 1...itemCount): a SplitMix64 hash of both, so no two sessions are
    /// the same sequence (a linear formula repeats every itemCount sessions).
    static func item(session: Int, click: Int, itemCount: Int) -> UInt32 {
        var z = UInt64(session) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(click) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(1 + (z ^ (z >> 31)) % UInt64(itemCount))
    }

    /// Requests whose window an earlier request of another session already had (hits that are no
    /// resume): 2,000 sessions start with fewer distinct items than that.
    static func repeatedWindows(sessions: Int, clicks: Int, itemCount: Int) -> Int {
        (0..<clicks).map { click in
            sessions - Set((0..<sessions).map { session in (0...click).map { Self.item(session: session, click: $0, itemCount: itemCount) } }).count
        }.reduce(0, +)
    }

    @Test(arguments: ["recbole-sasrec-ml100k", "recbole-gru4rec-ml100k"])
    func twoThousandInterleavedSessionsResumeOnTwoWorkers(fixture: String) async throws {
        let path = try Self.model(fixture)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let defaults = ServerConfiguration()
        let recommender = try Recommender(path: path, maxBatch: defaults.maxBatch, stateCache: defaults.stateCacheSettings)
        let reference = try Recommender(path: path, maxBatch: 1, stateCache: .off)
        let server = try TestServer(backends: [RecommenderBackend(recommender)]) { $0.workers = 2 }
        defer { server.stop() }
        let sessions = 2_000, clicks = 20, connections = 8
        let itemCount = recommender.info.itemCount
        let mismatches = try await withThrowingTaskGroup(of: [String].self) { group in
            for lane in 0..<connections {
                group.addTask {
                    let connection = try await SeqRecConnection(port: server.port)
                    defer { connection.close() }
                    let context = reference.makeContext()
                    var mismatches: [String] = []
                    // Round by round, every session of this connection gets its next click: between two
                    // clicks of one session, all 2,000 sessions click once.
                    for click in 0..<clicks {
                        for session in stride(from: lane, to: sessions, by: connections) {
                            let items = (0...click).map { Self.item(session: session, click: $0, itemCount: itemCount) }
                            let response = try await connection.recommend(RecommendRequest(session: .internal(items), k: 10),
                                                                          timeout: .seconds(30))
                            guard (session + click) % 97 == 0 else { continue }
                            let expected = try context.recommend(SessionQuery(items: items.map { Int32($0) }, k: 10))
                            let scale = expected.scores.map(abs).max() ?? 1
                            let close = zip(response.scores, expected.scores).allSatisfy { abs($0 - $1) <= 1e-4 * scale }
                            if response.items != .internal(expected.items.map { UInt32($0) }) || !close {
                                mismatches.append("session \(session) click \(click)")
                            }
                        }
                    }
                    return mismatches
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        #expect(mismatches.isEmpty, "answers differing from a full pass: \(mismatches.prefix(5))")
        let statistics = server.server.statistics
        let resumable = sessions * (clicks - 1)
        // A window equal to an earlier one of another session is a hit that is not a resume; at most
        // this many hits are such.
        let repeats = Self.repeatedWindows(sessions: sessions, clicks: clicks, itemCount: itemCount)
        #expect(statistics.stateCacheLookups == sessions * clicks)
        #expect((statistics.stateCacheHits - repeats) * 10 >= resumable * 9,
                "\(fixture): \(statistics.stateCacheHits) hits (\(repeats) repeated windows) of \(resumable) resumable")
        let usage = try #require(recommender.stateCacheUsage)
        print("state cache [\(fixture), workers 2]: \(statistics.stateCacheHits) hits (\(repeats) repeated windows) "
            + "of \(resumable) resumable requests; "
            + "\(usage.entries) entries, \(usage.liveBytes) bytes, \(usage.evictions) evictions")
    }

    /// /metrics carries the cache's counters and gauges (hits, misses, evictions, bytes) per model.
    @Test func metricsShowTheCache() async throws {
        let path = try Self.model("recbole-gru4rec-ml100k")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 8, stateCache: StateCacheSettings(megabytes: 1))
        let server = try TestServer(backends: [RecommenderBackend(recommender)]) { $0.workers = 2 }
        defer { server.stop() }
        let runtime = OperationsRuntime(options: OperationsOptions(), environment: [:], build: BuildInfo(version: "test", kernels: "auto"))
        _ = try server.server.attach(runtime)
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        for length in 1...3 {
            _ = try await connection.recommend(RecommendRequest(session: .internal(Array([7, 9, 11].prefix(length))), k: 5))
        }
        let text = OperationsMetrics.render(snapshot: runtime.registry.snapshot(), gauges: ServerGauges(),
                                            models: server.server.modelMetrics, build: BuildInfo(version: "t", kernels: "auto"),
                                            process: nil)
        let name = recommender.info.name
        for line in ["seqrec_state_cache_lookups_total{model=\"\(name)\",version=\"1\"} 3",
                     "seqrec_state_cache_hits_total{model=\"\(name)\",version=\"1\"} 2",
                     "seqrec_state_cache_misses_total{model=\"\(name)\",version=\"1\"} 1",
                     "seqrec_state_cache_evictions_total{model=\"\(name)\",version=\"1\"} 0",
                     "seqrec_state_cache_entries{model=\"\(name)\",version=\"1\"} 3",
                     "seqrec_state_cache_budget_bytes{model=\"\(name)\",version=\"1\"} 1048576"] {
            #expect(text.contains(line), "missing \(line)")
        }
        #expect(text.contains("seqrec_state_cache_bytes{model=\"\(name)\",version=\"1\"} \(recommender.stateCacheUsage?.liveBytes ?? -1)"))
    }
}

// The Swift client library and the Python stdlib client against a real in-process server.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Clients end to end", .serialized)
struct ClientTests {
    @Test func poolRetriesRequestsTheServerDidNotProcess() async throws {
        let backend = FakeBackend(batchDelayMicroseconds: 20_000)
        let server = try TestServer(backends: [backend]) {
            $0.workers = 1
            $0.maxBatch = 1
            $0.maxQueue = 1
            $0.maxDelayMicroseconds = 0
        }
        defer { server.stop() }
        let client = SeqRecClient(port: server.port, connections: 2, maxAttempts: 200)
        defer { client.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let response = try await client.recommend(RecommendRequest(session: .internal([UInt32(index)]), k: 2),
                                                              timeout: .seconds(5))
                    #expect(response.items == .internal([UInt32(index + 1), UInt32(index + 2)]))
                }
            }
            try await group.waitForAll()
        }
        // Some attempts were refused (queue of one) and retried; each request ran exactly once.
        #expect(server.server.statistics.rejectedOverload > 0)
        #expect(backend.executedQueries.load(ordering: .relaxed) == 8)
    }

    @Test func deadlineFailsTheCallAndTheConnectionStaysUsable() async throws {
        let server = try TestServer(backends: [FakeBackend(batchDelayMicroseconds: 400_000)]) { $0.workers = 1 }
        defer { server.stop() }
        let connection = try SeqRecConnection(port: server.port)
        defer { connection.close() }
        do {
            _ = try await connection.recommend(RecommendRequest(session: .internal([1]), k: 1), timeout: .milliseconds(30))
            Issue.record("a 30 ms deadline was met by a 400 ms model")
        } catch let error as SeqRecError {
            // The model was already running, so the server answers late with a result; the client
            // gave up on its own (a success here would mean it waited for the model).
            #expect(error.kind == .deadlineExceeded)
        }
        let response = try await connection.recommend(RecommendRequest(session: .internal([5]), k: 1), timeout: .seconds(5))
        #expect(response.items == .internal([6]))
    }

    @Test func serverErrorsKeepTheirStatus() async throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = SeqRecClient(port: server.port)
        defer { client.close() }
        do {
            _ = try await client.recommend(RecommendRequest(session: .internal([1]), modelName: "missing"))
            Issue.record("unknown model accepted")
        } catch let error as SeqRecError {
            #expect(error.status == .notFound)
            #expect(!error.notProcessed)
        }
        #expect(try await client.health() == .serving)
        #expect(try await client.models().map(\.name) == ["fake"])
    }

    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)

    /// The Python client's own suite (golden frames shared with GoldenFrameTests, decoders, CLI), so CI
    /// runs it with the Swift tests.
    @Test(.enabled(if: python != nil, "needs python3 (present on CI)"))
    func pythonClientUnitTests() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.python))
        process.arguments = ["-m", "unittest", "test_seqrec_client"]
        process.currentDirectoryURL = URL(fileURLWithPath: DefaultModel.packageRoot + "/Clients/python")
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let report = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(report)")
        #expect(report.contains("OK"), "\(report)")
    }

    @Test(.enabled(if: python != nil, "needs python3 (present on CI)"))
    func pythonClientEndToEnd() throws {
        let python = try #require(Self.python)
        let recommender = DefaultModel.recommender
        let server = try TestServer(backends: [RecommenderBackend(recommender)])
        defer { server.stop() }
        let session = DefaultModel.session(7)
        let vocabulary = try #require(recommender.vocabulary)
        let script = """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            from seqrec_client import Client, SeqRecError, probe_health
            port = int(sys.argv[2])
            session = [int(x) for x in sys.argv[3].split(",")]
            tokens = sys.argv[4].split(",")
            out = {"probe": probe_health("127.0.0.1", port)}
            with Client("127.0.0.1", port, timeout=10) as client:
                result = client.recommend(session, k=10, deadline_ms=5000)
                out["items"], out["scores"], out["model"] = result.items, result.scores, result.model
                out["external"] = client.recommend(tokens, k=3, external=True).items
                try:
                    client.recommend(session, k=5, model="no-such-model")
                except SeqRecError as error:
                    out["unknown_model"] = error.status_name
                out["health"] = client.health()
                out["models"] = [[m.name, m.n_items, m.first_item] for m in client.models()]
                out["again"] = client.recommend(session, k=1).items
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, DefaultModel.packageRoot + "/Clients/python", String(server.port),
                             session.map(String.init).joined(separator: ","),
                             session.prefix(3).map { vocabulary.token(of: Int($0)) ?? "" }.joined(separator: ",")]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "python client failed: \(stderr)")
        let json = try JSONSerialization.jsonObject(with: output.fileHandleForReading.readDataToEndOfFile()) as? [String: Any]
        let answer = try #require(json)
        let expected = try DefaultModel.expected(session, k: 10)
        #expect(answer["probe"] as? Bool == true)
        #expect((answer["items"] as? [Int])?.map(Int32.init) == expected.items)
        let scores = (answer["scores"] as? [Double]) ?? []
        #expect(scores.count == 10)
        for (got, want) in zip(scores, expected.scores) { #expect(abs(Float(got) - want) <= 1e-4 * max(1, abs(want))) }
        #expect(answer["model"] as? String == recommender.info.name)
        let external = try DefaultModel.expected(Array(session.prefix(3)), k: 3).items.map { vocabulary.token(of: Int($0)) ?? "" }
        #expect(answer["external"] as? [String] == external)
        #expect(answer["unknown_model"] as? String == "NOT_FOUND")
        #expect(answer["health"] as? String == "SERVING")
        #expect((answer["models"] as? [[Any]])?.first?[1] as? Int == recommender.info.itemCount)
        #expect((answer["models"] as? [[Any]])?.first?[2] as? Int == recommender.info.firstItem)
        #expect((answer["again"] as? [Int])?.first.map(Int32.init) == expected.items.first)
    }
}

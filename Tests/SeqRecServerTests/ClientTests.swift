// The Swift client library and the Python stdlib client against a real in-process server.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

/// Opens `count` connections to a local server, one after the other.
func openConnections(_ count: Int, port: UInt16) async throws -> [SeqRecConnection] {
    var connections: [SeqRecConnection] = []
    for _ in 0..<count { connections.append(try await SeqRecConnection(port: port)) }
    return connections
}

/// Polls `condition` every 5 ms for up to `seconds` (for effects another thread or process produces).
func waitUntil(seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

@Suite("Clients end to end", .serialized)
struct ClientTests {
    @Test func clientRetriesRequestsTheServerDidNotProcess() async throws {
        let backend = FakeBackend(batchDelayMicroseconds: 20_000)
        let server = try TestServer(backends: [backend]) {
            $0.workers = 1
            $0.maxBatch = 1
            $0.maxQueue = 1
            $0.maxDelayMicroseconds = 0
        }
        defer { server.stop() }
        // Attempts and the retry budget large enough that only the 20 s timeout ends a call: on a loaded machine
        // the 20 ms batches run late, and 8 callers racing for a queue of one needed more than 200 attempts
        // (or 1,000 budget tokens) between them, which failed the test for a reason it does not test.
        var configuration = SeqRecClient.Configuration()
        configuration.maxAttempts = 100_000
        configuration.retryBudget = RetryBudget(ratio: 0.1, reserve: 1_000_000)
        let client = try SeqRecClient(endpoints: [.init(port: server.port)], configuration: configuration)
        defer { client.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let response = try await client.recommend(RecommendRequest(session: .internal([UInt32(index)]), k: 2),
                                                              timeout: .seconds(20))
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
        let connection = try await SeqRecConnection(port: server.port)
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

    @Test func cancellingTheTaskCancelsTheRequestAtTheServer() async throws {
        let backend = FakeBackend()
        backend.holdBatches.store(true, ordering: .releasing)
        let server = try TestServer(backends: [backend]) {
            $0.workers = 1
            $0.maxBatch = 1
            $0.maxDelayMicroseconds = 0
        }
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        // The first request occupies the only worker (held); the second waits in the server's queue.
        let running = Task { try await connection.recommend(RecommendRequest(session: .internal([1]), k: 1)) }
        #expect(await waitUntil { server.server.statistics.acceptedRequests == 1 })
        let queued = Task { try await connection.recommend(RecommendRequest(session: .internal([2]), k: 1)) }
        #expect(await waitUntil { server.server.statistics.acceptedRequests == 2 })
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        // The server answers the CANCELled request (CANCELLED) while the worker is still held: only a
        // CANCEL on the wire can free its id this early.
        #expect(await waitUntil { connection.inFlightCount == 1 }, "the server never answered the cancelled request")
        backend.holdBatches.store(false, ordering: .releasing)
        #expect(try await running.value.items == .internal([2]))
        #expect(backend.executedQueries.load(ordering: .relaxed) == 1, "the cancelled request ran")
    }

    @Test func manyConcurrentCallsShareOneConnection() async throws {
        let server = try TestServer(backends: [FakeBackend(itemCount: 5_000)]) { $0.maxInflightPerConnection = 64 }
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        #expect(connection.limits.maxInFlightPerConnection == 64)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<2_000 {
                group.addTask {
                    let response = try await connection.recommend(
                        RecommendRequest(session: .internal([UInt32(index)]), k: 3), timeout: .seconds(30))
                    #expect(response.items == .internal([UInt32(index + 1), UInt32(index + 2), UInt32(index + 3)]))
                }
            }
            try await group.waitForAll()
        }
        #expect(connection.inFlightCount == 0)
        #expect(server.server.statistics.rejectedOverload == 0, "the client sent past the server's in-flight limit")
    }

    @Test func theIOThreadEndsWithTheConnection() async throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        /// Whether kernel thread `id` of this process runs under `name` (a reused id has another name).
        func isRunning(_ thread: (name: String, id: Int32)) -> Bool {
            let comm = try? String(contentsOfFile: "/proc/self/task/\(thread.id)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == thread.name
        }

        let closed = try await SeqRecConnection(port: server.port)
        _ = try await closed.health()
        let closedThread = try #require(closed.ioThread)
        #expect(isRunning(closedThread))
        closed.close()
        #expect(await waitUntil { !isRunning(closedThread) }, "close() left the I/O thread running")

        // Without close(): dropping the last reference ends the thread too.
        var dropped: SeqRecConnection? = try await SeqRecConnection(port: server.port)
        _ = try await dropped?.health()
        let droppedThread = try #require(dropped?.ioThread)
        #expect(isRunning(droppedThread))
        dropped = nil
        #expect(await waitUntil { !isRunning(droppedThread) }, "a dropped connection leaked its I/O thread")

        // A client's pooled connections end with close() as well.
        let client = try SeqRecClient(port: server.port, connections: 2)
        _ = try await client.health()
        let pooled = client.connectionThreads
        #expect(!pooled.isEmpty && pooled.allSatisfy(isRunning))
        client.close()
        #expect(await waitUntil { !pooled.contains(where: isRunning) }, "client.close() left I/O threads running")
    }

    @Test func validationErrorsAreTheClientsAndServerErrorsKeepTheirStatus() async throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try SeqRecClient(port: server.port)
        defer { client.close() }
        // Found by the client: nothing is sent.
        let before = server.server.statistics.acceptedRequests
        for request in [RecommendRequest(session: .internal([1]), k: 0), RecommendRequest(session: .internal([]), k: 1, fallback: false),
                        RecommendRequest(session: .internal([1]), k: 1, deny: .external(["x"]))] {
            do {
                _ = try await client.recommend(request)
                Issue.record("invalid request accepted: \(request)")
            } catch let error as SeqRecError {
                #expect(error.kind == .invalidRequest)
                #expect(!error.isServerError)
            }
        }
        #expect(server.server.statistics.acceptedRequests == before)
        for (host, port) in [("example.com", server.port), ("127.0.0.1", UInt16(0)), ("10.0.0.300", server.port)] {
            await #expect { try await SeqRecConnection(host: host, port: port) } throws: {
                ($0 as? SeqRecError)?.kind == .invalidRequest
            }
            #expect { try SeqRecClient(host: host, port: port) } throws: { ($0 as? SeqRecError)?.kind == .invalidRequest }
        }
        #expect { try SeqRecClient(endpoints: []) } throws: { ($0 as? SeqRecError)?.kind == .invalidRequest }
        #expect { try SeqRecClient(port: server.port, connections: 0) } throws: { ($0 as? SeqRecError)?.kind == .invalidRequest }
        #expect { try SeqRecClient(port: server.port, maxAttempts: 0) } throws: { ($0 as? SeqRecError)?.kind == .invalidRequest }
        // Found by the server: its status and message.
        do {
            _ = try await client.recommend(RecommendRequest(session: .internal([1]), modelName: "missing"))
            Issue.record("unknown model accepted")
        } catch let error as SeqRecError {
            #expect(error.status == .notFound)
            #expect(error.isServerError)
            #expect(!error.notProcessed)
        }
        do {
            _ = try await client.recommend(RecommendRequest(session: .internal([100_000]), k: 1))
            Issue.record("item outside the catalogue accepted")
        } catch let error as SeqRecError {
            #expect(error.status == .invalidArgument)
        }
        #expect(try await client.health() == .serving)
        #expect(try await client.models().map(\.name) == ["fake"])
    }

    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)

    /// Runs one unittest module of Clients/python (unittest reports on stderr).
    static func pythonClientSuite(_ module: String) throws -> ProcessRun {
        try runProcess(try #require(python), ["-m", "unittest", module],
                       directory: PackagePaths.root.appendingPathComponent("Clients/python"))
    }

    /// The Python client's own suite (golden frames shared with GoldenFrameTests, decoders, CLI), so CI
    /// runs it with the Swift tests.
    @Test(.enabled(if: python != nil, "needs python3 (present on CI)"))
    func pythonClientUnitTests() throws {
        let run = try Self.pythonClientSuite("test_seqrec_client")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("OK"), "\(run.stderr)")
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
        let run = try runProcess(python, ["-c", script, DefaultModel.packageRoot + "/Clients/python", String(server.port),
                                          session.map(String.init).joined(separator: ","),
                                          session.prefix(3).map { vocabulary.token(of: Int($0)) ?? "" }.joined(separator: ",")])
        #expect(run.status == 0, "python client failed: \(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
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

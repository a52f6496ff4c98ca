// SeqRecClient across several real servers on loopback (issue 14, item 2): session affinity by
// rendezvous hashing, failover on connect failure, GOAWAY/stop and NOT_PROCESSED, per-endpoint health.
// Each replica serves a fake model with its own name, so an answer says which replica served it.
import Foundation
import SeqRecProtocol
import Testing
@testable import SeqRecClient
@testable import SeqRecServer

@Suite("Client failover across replicas", .serialized)
struct ClientFailoverTests {
    static func replicas(_ count: Int, configure: (inout ServerConfiguration) -> Void = { _ in }) throws
        -> (servers: [TestServer], backends: [FakeBackend])
    {
        let backends = (0..<count).map { FakeBackend(name: "replica-\($0)") }
        let servers = try backends.map { try TestServer(backends: [$0], configure) }
        return (servers, backends)
    }

    static func request(_ item: UInt32) -> RecommendRequest { RecommendRequest(session: .internal([item]), k: 1) }

    /// A loopback port nothing listens on (a server's, after it stopped).
    static func deadPort() throws -> UInt16 {
        let server = try TestServer(backends: [FakeBackend()])
        let port = server.port
        server.stop()
        return port
    }

    /// A session key whose first choice among `endpoints` is `index`.
    static func key(preferring index: Int, among endpoints: [SeqRecClient.Endpoint]) -> String {
        (0...).lazy.map { "session-\($0)" }.first { Rendezvous.order(key: $0, endpoints: endpoints.map(\.description)).first == index }!
    }

    @Test func aSessionKeyStaysOnOneReplicaAndKeysSpreadOverAll() async throws {
        let (servers, _) = try Self.replicas(3)
        defer { servers.forEach { $0.stop() } }
        let client = try SeqRecClient(endpoints: servers.map { .init(port: $0.port) })
        defer { client.close() }
        var servedBy: [String: Set<String>] = [:]
        for session in 0..<60 {
            for click in 0..<4 {
                let response = try await client.recommend(Self.request(UInt32(click)), sessionKey: "session-\(session)")
                servedBy["session-\(session)", default: []].insert(response.modelName)
            }
        }
        #expect(servedBy.values.allSatisfy { $0.count == 1 }, "a session's clicks reached several replicas")
        let sessionsPerReplica = Dictionary(grouping: servedBy.values.compactMap(\.first), by: { $0 }).mapValues(\.count)
        // 60 keys over 3 replicas: about 20 each (fewer than 8 has probability < 0.1 %).
        #expect(sessionsPerReplica.count == 3 && sessionsPerReplica.values.allSatisfy { $0 >= 8 }, "\(sessionsPerReplica)")
    }

    @Test func aReplicaThatStopsCostsNoFailedCall() async throws {
        let (servers, backends) = try Self.replicas(3)
        defer { [servers[0], servers[2]].forEach { $0.stop() } }  // a second stop() would wait for a second exit
        let endpoints = servers.map { SeqRecClient.Endpoint(port: $0.port) }
        var configuration = SeqRecClient.Configuration()
        configuration.initialBackoff = .seconds(30)  // once down, it stays down for the whole test
        configuration.maximumBackoff = .seconds(60)
        let client = try SeqRecClient(endpoints: endpoints, configuration: configuration)
        defer { client.close() }
        let keys = (0..<30).map { "session-\($0)" }
        for key in keys { _ = try await client.recommend(Self.request(1), sessionKey: key) }
        let before = backends[1].executedQueries.load(ordering: .relaxed)
        #expect(before > 0)
        // Drain and stop replica 1 while its connections are open: GOAWAY, then connection refused.
        #expect(servers[1].stop())
        for key in keys {
            for click in 0..<3 {
                let response = try await client.recommend(Self.request(UInt32(click)), sessionKey: key, timeout: .seconds(10))
                #expect(response.modelName != "replica-1")
            }
        }
        #expect(backends[1].executedQueries.load(ordering: .relaxed) == before)
        #expect(!client.healthyEndpoints.contains(endpoints[1]), "the stopped replica is not marked down")
        #expect(client.healthyEndpoints.contains(endpoints[0]) && client.healthyEndpoints.contains(endpoints[2]))
    }

    @Test func anUnreachableReplicaIsSkippedAndBackedOff() async throws {
        let (servers, _) = try Self.replicas(1)
        defer { servers.forEach { $0.stop() } }
        let endpoints = [SeqRecClient.Endpoint(port: try Self.deadPort()), SeqRecClient.Endpoint(port: servers[0].port)]
        var configuration = SeqRecClient.Configuration()
        configuration.initialBackoff = .seconds(30)
        configuration.maximumBackoff = .seconds(60)
        let client = try SeqRecClient(endpoints: endpoints, configuration: configuration)
        defer { client.close() }
        let key = Self.key(preferring: 0, among: endpoints)
        #expect(try await client.recommend(Self.request(1), sessionKey: key).modelName == "replica-0")
        #expect(client.healthyEndpoints == [endpoints[1]])
        // While backed off, the dead replica is not even tried: the call goes straight to the live one.
        var noRetries = configuration
        noRetries.retryBudget = RetryBudget(ratio: 0, reserve: 0)
        let strict = try SeqRecClient(endpoints: endpoints, configuration: noRetries)
        defer { strict.close() }
        await #expect(throws: SeqRecError.self, "without a retry budget the dead first choice fails the call") {
            try await strict.recommend(Self.request(1), sessionKey: key)
        }
        #expect(try await strict.recommend(Self.request(1), sessionKey: key).modelName == "replica-0",
                "the backed-off replica was tried first again")
    }

    @Test func notProcessedGoesToTheNextReplica() async throws {
        let (servers, backends) = try Self.replicas(2) {
            $0.workers = 1
            $0.maxBatch = 1
            $0.maxQueue = 1
            $0.maxDelayMicroseconds = 0
        }
        defer {
            backends.forEach { $0.holdBatches.store(false, ordering: .releasing) }
            servers.forEach { $0.stop() }
        }
        let endpoints = servers.map { SeqRecClient.Endpoint(port: $0.port) }
        // Fill replica 0 until it refuses a request: its only worker holds one, the rest wait in its queue.
        backends[0].holdBatches.store(true, ordering: .releasing)
        let filler = try await SeqRecConnection(port: servers[0].port)
        defer { filler.close() }
        var filling: [Task<RecommendResponse, any Error>] = []
        let statistics = { servers[0].server.statistics }
        while statistics().rejectedOverload == 0, filling.count < 64 {
            let accepted = statistics().acceptedRequests
            filling.append(Task { try await filler.recommend(Self.request(1), timeout: .seconds(30)) })
            #expect(await waitUntil { statistics().acceptedRequests > accepted || statistics().rejectedOverload > 0 })
        }
        #expect(statistics().rejectedOverload == 1)

        let client = try SeqRecClient(endpoints: endpoints)
        defer { client.close() }
        let key = Self.key(preferring: 0, among: endpoints)
        let response = try await client.recommend(Self.request(5), sessionKey: key, timeout: .seconds(5))
        #expect(response.modelName == "replica-1")
        #expect(statistics().rejectedOverload >= 2, "replica 0 was never asked")
        #expect(client.healthyEndpoints == endpoints, "an overloaded replica is not a dead one")
        backends[0].holdBatches.store(false, ordering: .releasing)
        // Everything replica 0 accepted is answered; only the request that found it full failed.
        var answered = 0
        for task in filling where (try? await task.value) != nil { answered += 1 }
        #expect(answered == filling.count - 1)
    }
}

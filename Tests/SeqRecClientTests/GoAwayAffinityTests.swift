// Issue 14 (scaleout): a request that crosses a maximum-age GOAWAY OK (the server refuses it
// UNAVAILABLE + NOT_PROCESSED because it arrived after the GOAWAY) goes again to the SAME replica on a
// new connection, so the session keeps its state cache, and it costs no attempt. In memory: each
// connect gets an InMemoryTransport whose "server" the test scripts.
import SeqRecProtocol
import Synchronization
import Testing
@testable import SeqRecClient

@Suite struct GoAwayAffinityTests {
    /// Answers every RECOMMEND the client writes on `transport` with `reply(frame)`.
    private func serve(_ transport: InMemoryTransport, _ reply: @escaping @Sendable (Frame) -> [UInt8]) {
        Task {
            var frames = transport.makeFrameIterator()
            while let frame = await frames.next() {
                if frame.header.type == .recommend { transport.deliver(reply(frame)) }
            }
        }
    }

    @Test func aRequestCrossingAMaximumAgeGoAwayStaysOnItsReplica() async throws {
        let clock = ManualClock()
        let connects = ConnectLog()
        let firstToReplicaOne = Atomic<Bool>(true)
        var configuration = SeqRecClient.Configuration()
        configuration.connectionsPerEndpoint = 1
        configuration.maxAttempts = 1  // the crossing must not need an attempt of its own
        let endpoints: [SeqRecClient.Endpoint] = [.init(port: 1), .init(port: 2)]
        let client = try SeqRecClient(endpoints: endpoints, configuration: configuration, clock: clock.function) { endpoint in
            connects.record(endpoint.port)
            let transport = InMemoryTransport()
            let ages = endpoint.port == 1 && firstToReplicaOne.exchange(false, ordering: .relaxed)
            serve(transport) { frame in
                let id = frame.header.requestID
                guard !ages else {
                    // The connection reached its age just before the request arrived.
                    return GoAway(status: .ok, message: "connection reached its maximum age").frameBytes(requestID: 0)
                        + errorFrame(id: id, .unavailable, "server is shutting down; retry on a new connection", notProcessed: true)
                }
                return responseFrame(id: id, items: [UInt32(endpoint.port)])
            }
            return try await SeqRecConnection.inMemory(transport, clock: clock)
        }
        defer { client.close() }
        let key = (0...).lazy.map { "k\($0)" }.first { Rendezvous.order(key: $0, endpoints: endpoints.map(\.description))[0] == 0 }!
        let response = try await client.recommend(RecommendRequest(session: .internal([7]), k: 1), sessionKey: key)
        #expect(response.items == .internal([1]), "the session moved to another replica")
        #expect(connects.ports == [1, 1])
        #expect(client.healthyEndpoints == endpoints)
    }

    @Test func overloadOnAUsableConnectionStillMovesOn() async throws {
        let clock = ManualClock()
        let connects = ConnectLog()
        var configuration = SeqRecClient.Configuration()
        configuration.connectionsPerEndpoint = 1
        let endpoints: [SeqRecClient.Endpoint] = [.init(port: 1), .init(port: 2)]
        let client = try SeqRecClient(endpoints: endpoints, configuration: configuration, clock: clock.function) { endpoint in
            connects.record(endpoint.port)
            let transport = InMemoryTransport()
            serve(transport) { frame in
                endpoint.port == 1
                    ? errorFrame(id: frame.header.requestID, .resourceExhausted, "queue full", notProcessed: true)
                    : responseFrame(id: frame.header.requestID, items: [2])
            }
            return try await SeqRecConnection.inMemory(transport, clock: clock)
        }
        defer { client.close() }
        let key = (0...).lazy.map { "k\($0)" }.first { Rendezvous.order(key: $0, endpoints: endpoints.map(\.description))[0] == 0 }!
        let response = try await client.recommend(RecommendRequest(session: .internal([7]), k: 1), sessionKey: key)
        #expect(response.items == .internal([2]))
        #expect(connects.ports == [1, 2])
    }
}

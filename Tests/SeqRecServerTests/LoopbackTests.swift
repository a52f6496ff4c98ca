// Normal traffic over real loopback sockets: health probe bytes, handshake, round trips,
// pipelining with out-of-order completion, many connections.
import Foundation
import SeqRecClient
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Server loopback", .serialized)
struct LoopbackTests {
    @Test func healthProbeIsAnsweredWithTheConstantBytesBeforeHello() throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.send(HealthProbe.request)
        #expect(try client.readBytes(HealthProbe.servingResponse.count) == HealthProbe.servingResponse)
        // The spec's literal bytes, so a load balancer configured from docs/PROTOCOL.md matches.
        #expect(HealthProbe.servingResponse == [0, 0, 0, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    }

    @Test func handshakeAnnouncesTheConfiguredLimits() throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.maxInflightPerConnection = 17 }
        defer { server.stop() }
        let ack = try RawClient(port: server.port).handshake()
        #expect(ack.version == 1)
        #expect(ack.limits.maxInFlightPerConnection == 17)
        #expect(ack.limits.maxFrameLength == 4 * 1_024 * 1_024)
    }

    @Test func recommendReturnsTheModelsAnswer() throws {
        let server = try TestServer(backends: [FakeBackend(itemCount: 50)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([3, 48], k: 4, id: 9, includeEmbedding: true))
        let frame = try #require(try client.nextFrame())
        #expect(frame.header.type == .recommendResponse)
        #expect(frame.header.requestID == 9)
        let response = try frame.decode(RecommendResponse.self)
        #expect(response.modelName == "fake")
        #expect(response.modelVersion == 1)
        #expect(response.items == .internal([49, 0, 1, 2]))
        #expect(response.scores == [4, 3, 2, 1])
        #expect(response.embedding == [48, 48, 48, 48])
    }

    @Test func externalIDsRoundTripThroughTheVocabulary() async throws {
        let server = try TestServer(backends: [FakeBackend(itemCount: 50)])
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        let response = try await connection.recommend(
            RecommendRequest(session: .external(["item-7", "nope"]), k: 2, skipUnknown: true))
        #expect(response.items == .external(["item-8", "item-9"]))
    }

    @Test func thousandPipelinedRequestsOnOneConnectionCompleteOutOfOrder() throws {
        // Odd ids go to a slow model, even ids to a fast one: fast answers overtake slow ones.
        let slow = FakeBackend(name: "slow", batchDelayMicroseconds: 3_000)
        let fast = FakeBackend(name: "fast")
        let server = try TestServer(backends: [slow, fast]) {
            $0.maxInflightPerConnection = 1_000
            $0.maxBatch = 16
        }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        var bytes: [UInt8] = []
        for id in UInt32(1)...1_000 {
            bytes += recommendFrame([id % 100], k: 3, id: id, model: id % 2 == 1 ? "slow" : "fast")
        }
        try client.send(bytes)
        var order: [UInt32] = []
        var seen = Set<UInt32>()
        for _ in 0..<1_000 {
            let frame = try #require(try client.nextFrame())
            #expect(frame.header.type == .recommendResponse)
            let id = frame.header.requestID
            let response = try frame.decode(RecommendResponse.self)
            let expected = FakeBackend.expectedItems(session: [Int32(id % 100)], k: 3, itemCount: 100).map { UInt32($0) }
            #expect(response.items == .internal(expected))
            #expect(response.modelName == (id % 2 == 1 ? "slow" : "fast"))
            #expect(seen.insert(id).inserted, "request \(id) answered twice")
            order.append(id)
        }
        #expect(seen.count == 1_000)
        #expect(order != order.sorted(), "answers came back in request order")
        // Dynamic batching: concurrent requests for one model shared model calls.
        #expect(slow.largestBatch.load(ordering: .relaxed) > 1)
        #expect(slow.executedBatches.load(ordering: .relaxed) < 500)
    }

    @Test func sixtyFourConcurrentConnections() async throws {
        let backend = FakeBackend(itemCount: 1_000)
        let server = try TestServer(backends: [backend])
        defer { server.stop() }
        let connections = try await openConnections(64, port: server.port)
        defer { connections.forEach { $0.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        let last = UInt32(index * 10 + round)
                        let response = try await connection.recommend(RecommendRequest(session: .internal([last]), k: 5))
                        let expected = FakeBackend.expectedItems(session: [Int32(last)], k: 5, itemCount: 1_000)
                        #expect(response.items == .internal(expected.map { UInt32($0) }))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(server.server.statistics.answeredRequests == 640)
    }

    @Test func pingIsAnsweredAndModelsAreListed() async throws {
        let server = try TestServer(backends: [FakeBackend(name: "a"), FakeBackend(name: "b", itemCount: 7)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(Ping(payload: 0xfeed).frameBytes(requestID: 0))
        let pong = try #require(try client.nextFrame())
        #expect(try pong.decode(Pong.self).payload == 0xfeed)

        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        let models = try await connection.models()
        #expect(models.map(\.name) == ["a", "b"])
        #expect(models.map(\.isDefault) == [true, false])
        #expect(models[1].itemCount == 7)
        #expect(try await connection.health(service: "b") == .serving)
        #expect(try await connection.health(service: "zzz") == .serviceUnknown)
    }
}

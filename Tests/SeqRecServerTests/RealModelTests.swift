// The server with the shipped default model (Models/): answers over the wire equal the in-process
// engine's, for internal and external ids, under pipelining and many connections.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

/// The default model of the repository, loaded once for the suite.
enum DefaultModel {
    static let packageRoot = PackagePaths.root.path

    static let recommender: Recommender = {
        let sources = try! ServerConfiguration().resolvedModels(
            fileExists: { FileManager.default.fileExists(atPath: packageRoot + "/" + $0) },
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: packageRoot + "/" + $0)) ?? [] })
        return try! Recommender(path: packageRoot + "/" + sources[0].path, maxBatch: 64)
    }()

    /// Deterministic sessions of valid input ids (ids 1...itemCount for RecBole models).
    static func session(_ seed: Int, length: Int = 5) -> [Int32] {
        var state = UInt64(truncatingIfNeeded: seed) &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<length).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32(1 + Int(state >> 33) % recommender.info.itemCount)
        }
    }

    static func expected(_ session: [Int32], k: Int) throws -> Recommendation {
        try recommender.makeContext().recommend(SessionQuery(items: session, k: k))
    }
}

@Suite("Server with the default model", .serialized)
struct RealModelTests {
    private func expectSame(_ response: RecommendResponse, _ expected: Recommendation) {
        #expect(response.items == .internal(expected.items.map { UInt32($0) }))
        #expect(response.scores.count == expected.scores.count)
        for (got, want) in zip(response.scores, expected.scores) {
            #expect(abs(got - want) <= 1e-4 * max(1, abs(want)))
        }
    }

    @Test func answersEqualTheInProcessEngine() async throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)])
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        for seed in 0..<5 {
            let session = DefaultModel.session(seed)
            let response = try await connection.recommend(
                RecommendRequest(session: .internal(session.map { UInt32($0) }), k: 10), timeout: .seconds(5))
            #expect(response.modelName == DefaultModel.recommender.info.name)
            expectSame(response, try DefaultModel.expected(session, k: 10))
        }
        let models = try await connection.models()
        #expect(models.count == 1)
        #expect(models[0].family == DefaultModel.recommender.info.family)
        #expect(Int(models[0].itemCount) == DefaultModel.recommender.info.itemCount)
        #expect(Int(models[0].firstItemID) == DefaultModel.recommender.info.firstItem)
    }

    /// A click stream on one worker: the session's second request resumes from the first one's state, and
    /// the server counts it; the answer is still the engine's.
    @Test func aGrowingSessionIsResumedAndCounted() async throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)]) { $0.workers = 1 }
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        let session = DefaultModel.session(7, length: 4)
        for length in [3, 4] {
            let prefix = Array(session.prefix(length))
            let response = try await connection.recommend(
                RecommendRequest(session: .internal(prefix.map { UInt32($0) }), k: 10), timeout: .seconds(5))
            expectSame(response, try DefaultModel.expected(prefix, k: 10))
        }
        let statistics = server.server.statistics
        #expect(statistics.stateCacheLookups == 2)
        #expect(statistics.stateCacheHits == 1)
    }

    @Test func externalTokensRoundTrip() async throws {
        let recommender = DefaultModel.recommender
        let vocabulary = try #require(recommender.vocabulary)
        let server = try TestServer(backends: [RecommenderBackend(recommender)])
        defer { server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        let session = DefaultModel.session(42, length: 3)
        let tokens = session.map { vocabulary.token(of: Int($0)) ?? "" }
        let response = try await connection.recommend(
            RecommendRequest(session: .external(tokens + ["no-such-item"]), k: 5, skipUnknown: true), timeout: .seconds(5))
        let expected = try DefaultModel.expected(session, k: 5)
        #expect(response.items == .external(expected.items.map { vocabulary.token(of: Int($0)) ?? "" }))
        // Unknown tokens without SKIP_UNKNOWN fail only that request.
        await #expect(throws: SeqRecError.self) {
            try await connection.recommend(RecommendRequest(session: .external(["no-such-item"]), k: 5))
        }
    }

    @Test func thousandPipelinedRequestsOnOneConnection() throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)]) {
            $0.maxInflightPerConnection = 1_000
            $0.maxQueue = 1_000
            $0.maxTimeoutMicroseconds = 60_000_000
        }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        var bytes: [UInt8] = []
        for id in UInt32(1)...1_000 {
            bytes += recommendFrame(DefaultModel.session(Int(id) % 50).map { UInt32($0) }, k: 10, id: id,
                                    timeoutMicroseconds: 60_000_000)
        }
        try client.send(bytes)
        var expected: [Int: Recommendation] = [:]
        var seen = Set<UInt32>()
        for _ in 0..<1_000 {
            let frame = try #require(try client.nextFrame(timeoutMilliseconds: 30_000))
            #expect(frame.header.type == .recommendResponse)
            let id = frame.header.requestID
            #expect(seen.insert(id).inserted)
            let seed = Int(id) % 50
            if expected[seed] == nil { expected[seed] = try DefaultModel.expected(DefaultModel.session(seed), k: 10) }
            expectSame(try frame.decode(RecommendResponse.self), expected[seed]!)
        }
        #expect(seen.count == 1_000)
        let statistics = server.server.statistics
        #expect(statistics.batches < 1_000, "pipelined requests were never batched")
    }

    @Test func sixtyFourConcurrentConnections() async throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)])
        defer { server.stop() }
        let connections = try await openConnections(64, port: server.port)
        defer { connections.forEach { $0.close() } }
        let expected = try (0..<8).map { try DefaultModel.expected(DefaultModel.session($0), k: 10) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    for round in 0..<4 {
                        let seed = (index + round) % 8
                        let session = DefaultModel.session(seed).map { UInt32($0) }
                        let response = try await connection.recommend(RecommendRequest(session: .internal(session), k: 10),
                                                                       timeout: .seconds(30))
                        self.expectSame(response, expected[seed])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(server.server.statistics.answeredRequests == 256)
    }
}

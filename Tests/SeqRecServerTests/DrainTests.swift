// SIGTERM drain: health turns NOT_SERVING, GOAWAY goes out, every accepted request is answered,
// later requests are refused as NOT_PROCESSED, and the server exits within its grace period.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecPosix
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

@Suite("Server drain", .serialized)
struct DrainTests {
    @Test func drainLosesNoAcceptedRequest() async throws {
        // Batches are held until the GOAWAY has been seen, so every request is in flight at the drain
        // whatever the load of the machine running the test.
        let backend = FakeBackend(batchDelayMicroseconds: 10_000)
        backend.holdBatches.store(true, ordering: .releasing)
        let server = try TestServer(backends: [backend]) {
            $0.workers = 1
            $0.maxBatch = 4
            $0.drainDelayMilliseconds = 1_500
            $0.drainGraceMilliseconds = 10_000
            $0.defaultTimeoutMicroseconds = 10_000_000
        }
        let connections = try await openConnections(4, port: server.port)
        defer { connections.forEach { $0.close() } }
        // A raw connection with one request in flight, to send another after the GOAWAY.
        let raw = try RawClient(port: server.port)
        try raw.handshake()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                for round in 0..<10 {
                    group.addTask {
                        let last = UInt32(index * 10 + round)
                        let response = try await connection.recommend(RecommendRequest(session: .internal([last]), k: 3),
                                                                       timeout: .seconds(10))
                        let expected = FakeBackend.expectedItems(session: [Int32(last)], k: 3, itemCount: 100)
                        #expect(response.items == .internal(expected.map { UInt32($0) }))
                    }
                }
            }
            while server.server.statistics.acceptedRequests < 40 { try await Task.sleep(for: .milliseconds(5)) }
            try raw.send(recommendFrame([7], id: 1, timeoutMicroseconds: 10_000_000))
            while server.server.statistics.acceptedRequests < 41 { try await Task.sleep(for: .milliseconds(5)) }

            let atDrain = server.server.statistics
            server.server.drain()
            #expect(atDrain.acceptedRequests == 41 && atDrain.answeredRequests == 0)
            // During the drain delay: health says NOT_SERVING, new connections still work.
            let probe = try RawClient(port: server.port)
            try probe.send(HealthProbe.request)
            #expect(try probe.readBytes(17) == HealthResponse(status: .notServing).frameBytes(requestID: 1))

            // Then GOAWAY; a request sent after it is refused, the one before it is answered.
            let goAway = try #require(try raw.nextFrame(timeoutMilliseconds: 5_000))
            #expect(goAway.header.type == .goAway)
            #expect(try goAway.decode(GoAway.self).status == .unavailable)
            try raw.send(recommendFrame([8], id: 2))
            let refused = try #require(try raw.nextFrame(timeoutMilliseconds: 10_000))
            backend.holdBatches.store(false, ordering: .releasing)
            var answers: [UInt32: Frame] = [refused.header.requestID: refused]
            while let frame = try raw.nextFrame(timeoutMilliseconds: 10_000) { answers[frame.header.requestID] = frame }
            #expect(answers[1]?.header.type == .recommendResponse)
            #expect(answers[2]?.header.type == .error)
            #expect(answers[2]?.header.flags.contains(.notProcessed) == true)
            #expect(try answers[2]?.decode(ErrorBody.self).status == .unavailable)

            try await group.waitForAll()
        }
        #expect(server.waitForExit(within: 10))
        let statistics = server.server.statistics
        #expect(statistics.answeredRequests == 41)
        #expect(statistics.abandonedAtStop == 0)
        // The listener is closed: new connections are refused.
        #expect(throws: SystemError("connect to 127.0.0.1:\(server.port)", code: ECONNREFUSED)) { try RawClient(port: server.port) }
    }

    @Test func graceLimitBoundsTheExit() throws {
        let server = try TestServer(backends: [FakeBackend(batchDelayMicroseconds: 8_000_000)]) {
            $0.workers = 1
            $0.drainGraceMilliseconds = 200
        }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([1], id: 1, timeoutMicroseconds: 10_000_000))
        while server.server.statistics.acceptedRequests < 1 { Thread.sleep(forTimeInterval: 0.005) }
        let start = Date()
        server.server.drain()
        // The running batch takes 8 s; the exit must not wait for it.
        #expect(server.waitForExit(within: 5))
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(server.server.statistics.abandonedAtStop == 1)
    }

    /// SIGTERM handling belongs to the executable (issue 10.3): `seqrec serve` drains on SIGTERM and
    /// exits 0 with its summary line, while the library leaves every signal disposition alone.
    @Test func sigtermDrainsTheServeCommandAndTheLibraryLeavesSignalsAlone() throws {
        let server = try TestServer(backends: [FakeBackend()])
        var action = sigaction()
        sigaction(SIGTERM, nil, &action)
        #expect(action.__sigaction_handler.sa_handler == nil, "the library changed SIGTERM's disposition")
        #expect(server.stop())

        let model = FileManager.default.temporaryDirectory.appendingPathComponent("sigterm-\(getpid()).seqrec").path
        try FixtureImporter.convert(folder: PackagePaths.fixture("recbole-sasrec-ml100k"), output: model)
        defer { try? FileManager.default.removeItem(atPath: model) }
        let serve = try ServeProcess(["--model", model, "--port", "0", "--admin-port", "0", "--drain-delay-ms", "0", "--workers", "1"])
        defer { serve.stop() }
        #expect(serve.waitForStdout(containing: "ready on"))
        serve.signal(SIGTERM)
        serve.waitUntilExit()
        #expect(serve.process.terminationStatus == 0)
        #expect(serve.stdout.contains("signal 15: draining"))
        #expect(serve.stdout.contains("seqrec serve: stopped; 0 requests answered"))
    }
}

// Deadlines, overload and cancellation: requests that cannot or need not run are answered
// without running the model, and say so (NOT_PROCESSED).
import Foundation
import SeqRecClient
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Server load shedding", .serialized)
struct LoadSheddingTests {
    /// A server with one worker that runs batches of one as soon as it is free (plus `configure`),
    /// and a client past the handshake. Stop the server when done.
    private func oneWorker(_ backend: FakeBackend, _ configure: (inout ServerConfiguration) -> Void = { _ in })
        throws -> (TestServer, RawClient) {
        let server = try TestServer(backends: [backend]) {
            $0.workers = 1
            $0.maxBatch = 1
            $0.maxDelayMicroseconds = 0
            configure(&$0)
        }
        let client = try RawClient(port: server.port)
        try client.handshake()
        return (server, client)
    }

    private func answers(_ client: RawClient, count: Int) throws -> [UInt32: Frame] {
        var frames: [UInt32: Frame] = [:]
        for _ in 0..<count {
            let frame = try #require(try client.nextFrame(timeoutMilliseconds: 10_000))
            frames[frame.header.requestID] = frame
        }
        return frames
    }

    @Test func requestThatExpiresInTheQueueIsNotRun() throws {
        // One worker, batches of one, 300 ms per batch: request 2 waits behind request 1.
        let backend = FakeBackend(batchDelayMicroseconds: 300_000)
        let (server, client) = try oneWorker(backend)
        defer { server.stop() }
        try client.send(recommendFrame([1], id: 1, timeoutMicroseconds: 5_000_000))
        Thread.sleep(forTimeInterval: 0.05)  // request 1 is running
        try client.send(recommendFrame([2], id: 2, timeoutMicroseconds: 20_000))
        let frames = try answers(client, count: 2)
        #expect(frames[1]?.header.type == .recommendResponse)
        let expired = try #require(frames[2])
        #expect(expired.header.type == .error)
        #expect(expired.header.flags.contains(.notProcessed))
        #expect(try expired.decode(ErrorBody.self).status == .deadlineExceeded)
        #expect(backend.executedQueries.load(ordering: .relaxed) == 1)
        #expect(server.server.statistics.expiredInQueue == 1)
    }

    @Test func fullQueueRejectsEarlyWithResourceExhausted() throws {
        let backend = FakeBackend(batchDelayMicroseconds: 100_000)
        let (server, client) = try oneWorker(backend) { $0.maxQueue = 2 }
        defer { server.stop() }
        var bytes: [UInt8] = []
        for id in UInt32(1)...10 { bytes += recommendFrame([id], id: id, timeoutMicroseconds: 5_000_000) }
        let start = Date()
        try client.send(bytes)
        let frames = try answers(client, count: 10)
        var answered = 0
        var rejected = 0
        for frame in frames.values {
            if frame.header.type == .recommendResponse {
                answered += 1
                continue
            }
            #expect(frame.header.flags.contains(.notProcessed))
            #expect(try frame.decode(ErrorBody.self).status == .resourceExhausted)
            rejected += 1
        }
        #expect(answered + rejected == 10)
        // At most one running plus two queued can be accepted from one burst.
        #expect(answered <= 3 && answered >= 1)
        #expect(rejected >= 7)
        #expect(backend.executedQueries.load(ordering: .relaxed) == answered)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func inFlightLimitPerConnectionRejectsTheExcess() throws {
        let (server, client) = try oneWorker(FakeBackend(batchDelayMicroseconds: 200_000)) {
            $0.maxInflightPerConnection = 2
            $0.maxBatch = 64
        }
        defer { server.stop() }
        try client.send(recommendFrame([1], id: 1) + recommendFrame([2], id: 2) + recommendFrame([3], id: 3))
        let frames = try answers(client, count: 3)
        #expect(frames[3]?.header.type == .error)
        #expect(frames[3]?.header.flags.contains(.notProcessed) == true)
        #expect(try frames[3]?.decode(ErrorBody.self).status == .resourceExhausted)
        #expect(frames[1]?.header.type == .recommendResponse)
        #expect(frames[2]?.header.type == .recommendResponse)
    }

    @Test func cancelAnswersAQueuedRequestAtOnce() throws {
        let backend = FakeBackend(batchDelayMicroseconds: 300_000)
        let (server, client) = try oneWorker(backend)
        defer { server.stop() }
        try client.send(recommendFrame([1], id: 1))
        Thread.sleep(forTimeInterval: 0.05)
        try client.send(recommendFrame([2], id: 2) + Cancel().frameBytes(requestID: 2) + Cancel().frameBytes(requestID: 99))
        let first = try #require(try client.nextFrame())
        #expect(first.header.requestID == 2)
        #expect(try first.decode(ErrorBody.self).status == .cancelled)
        #expect(try client.nextFrame()?.header.requestID == 1)
        #expect(backend.executedQueries.load(ordering: .relaxed) == 1)
    }

    @Test func batchesWaitAtMostTheMaxDelay() throws {
        let backend = FakeBackend()
        let (server, client) = try oneWorker(backend) {
            $0.maxBatch = 8
            $0.maxDelayMicroseconds = 200_000
        }
        defer { server.stop() }
        // Three requests in one burst share one model call, released by the delay, not by size.
        let start = Date()
        try client.send(recommendFrame([1], id: 1) + recommendFrame([2], id: 2) + recommendFrame([3], id: 3))
        _ = try answers(client, count: 3)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.15)
        #expect(backend.executedBatches.load(ordering: .relaxed) == 1)
        #expect(backend.largestBatch.load(ordering: .relaxed) == 3)
    }
}

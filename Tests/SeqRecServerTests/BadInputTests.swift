// Every class of bad input over real loopback sockets: framing violations end the connection
// (GOAWAY, close); a bad request body, an unknown model or a bad id fail only that request.
import Foundation
import SeqRecClient
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

@Suite("Server bad input", .serialized)
struct BadInputTests {
    /// Reads until the server closes; returns the GOAWAY it sent first (nil if it sent none).
    private func goAwayThenClose(_ client: RawClient) throws -> GoAway? {
        var goAway: GoAway?
        while let frame = try client.nextFrame() {
            if frame.header.type == .goAway { goAway = try frame.decode(GoAway.self) }
        }
        return goAway
    }

    @Test(arguments: [Array("GET / HTTP/1.1\r\n".utf8), [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]] as [[UInt8]])
    func badPrefaceIsClosedWithoutAnAnswer(bytes: [UInt8]) throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.send(bytes)
        #expect(try client.readAllBytes() == [])
    }

    @Test(arguments: [0, 11, 4 * 1_024 * 1_024 + 1, 0xFFFF_FFFF] as [UInt32])
    func frameLengthOutOfRangeIsFatal(length: UInt32) throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        // Only the 4 length bytes: the server must decide before any body arrives or is allocated.
        try client.send(Array(rawFrame(length: length, type: 3, requestID: 1).prefix(4)))
        let goAway = try #require(try goAwayThenClose(client))
        #expect(goAway.status == .internal)
        #expect(goAway.message.contains("frame length \(length)"))
    }

    @Test func unknownFrameTypeIsFatalUnimplemented() throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(rawFrame(length: 12, type: 99, requestID: 1))
        #expect(try goAwayThenClose(client)?.status == .unimplemented)
    }

    @Test(arguments: [(UInt8(0x80), UInt16(0)), (0x01, 0), (0x02, 0), (0, 1)])
    func reservedBitsAreFatal(flags: UInt8, reserved: UInt16) throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        let good = recommendFrame([1], id: 5)
        var bad = rawFrame(length: UInt32(good.count - 4), type: 3, flags: flags, reserved: reserved, requestID: 5)
        bad += good[16...]
        try client.send(bad)
        let status = try goAwayThenClose(client)?.status
        #expect(status == .internal || status == .unimplemented)
    }

    @Test func requestBeforeHelloIsFatal() throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.send(ConnectionPreface.bytes + recommendFrame([1], id: 1))
        #expect(try goAwayThenClose(client)?.status == .internal)
    }

    @Test func duplicateInFlightRequestIDIsFatal() throws {
        let server = try TestServer(backends: [FakeBackend(batchDelayMicroseconds: 300_000)]) { $0.workers = 1 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([1], id: 42) + recommendFrame([2], id: 42))
        let goAway = try #require(try goAwayThenClose(client))
        #expect(goAway.status == .internal)
        #expect(goAway.message.contains("42"))
    }

    @Test func badPayloadFailsOnlyThatRequest() throws {
        let server = try TestServer(backends: [FakeBackend()])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        // A well-framed RECOMMEND whose body claims a session of 2^32-1 items but carries 4 bytes.
        let body: [UInt8] = [0, 0, 5, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1]
        try client.send(rawFrame(length: UInt32(12 + body.count), type: 3, requestID: 7) + body)
        let failure = try #require(try client.nextFrame())
        #expect(failure.header.type == .error)
        #expect(failure.header.requestID == 7)
        #expect(try failure.decode(ErrorBody.self).status == .invalidArgument)
        // Trailing garbage after a valid body: also INVALID_ARGUMENT.
        try client.send(rawFrame(length: UInt32(12 + 3), type: 3, requestID: 8) + [1, 2, 3])
        #expect(try client.nextFrame().map { try $0.decode(ErrorBody.self).status } == .invalidArgument)
        // The connection still works.
        try client.send(recommendFrame([4], k: 2, id: 9))
        let answer = try #require(try client.nextFrame())
        #expect(answer.header.type == .recommendResponse)
        #expect(answer.header.requestID == 9)
    }

    @Test func unknownModelVersionOrItemFailsOnlyThatRequest() throws {
        let server = try TestServer(backends: [FakeBackend(itemCount: 10, hasVocabulary: false)])
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([1], id: 1, model: "nope"))
        try client.send(RecommendRequest(session: .internal([1]), modelVersion: 2).frameBytes(requestID: 2))
        try client.send(recommendFrame([10], id: 3))
        try client.send(recommendFrame([1], k: 11, id: 4))
        try client.send(RecommendRequest(session: .external(["a"])).frameBytes(requestID: 5))
        try client.send(recommendFrame([9], k: 1, id: 6))
        var statuses: [UInt32: StatusCode] = [:]
        for _ in 0..<6 {
            let frame = try #require(try client.nextFrame())
            statuses[frame.header.requestID] = frame.header.type == .error ? try frame.decode(ErrorBody.self).status : .ok
        }
        #expect(statuses == [1: .notFound, 2: .notFound, 3: .invalidArgument, 4: .invalidArgument,
                             5: .invalidArgument, 6: .ok])
    }

    @Test func stalledFrameIsClosedAtTheFrameReadTimeout() throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.frameReadTimeoutMilliseconds = 200 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send([0, 0, 0])
        let start = Date()
        // Without the timeout the server would wait forever and readAllBytes would throw.
        #expect(try client.readAllBytes(timeoutMilliseconds: 8_000) == [])
        #expect(Date().timeIntervalSince(start) >= 0.15)
    }

    @Test func idleConnectionGetsGoAwayOKThenClose() throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.idleTimeoutMilliseconds = 300 }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([1], id: 1))
        #expect(try client.nextFrame()?.header.type == .recommendResponse)
        let start = Date()
        let goAway = try #require(try client.nextFrame(timeoutMilliseconds: 5_000))
        #expect(try goAway.decode(GoAway.self).status == .ok)
        #expect(goAway.header.aux == 1)
        #expect(Date().timeIntervalSince(start) >= 0.2)
        #expect(try client.nextFrame() == nil)
    }

    @Test func connectionsBeyondTheLimitAreClosedAtOnce() throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.maxConnections = 2 }
        defer { server.stop() }
        let first = try RawClient(port: server.port)
        let second = try RawClient(port: server.port)
        try first.handshake()
        try second.handshake()
        let third = try RawClient(port: server.port)
        try? third.send(ConnectionPreface.bytes)
        #expect(try third.readAllBytes() == [])
        // The established connections are unaffected.
        try first.send(recommendFrame([1], id: 1))
        #expect(try first.nextFrame()?.header.type == .recommendResponse)
    }

    @Test func helloWithoutTheServersAuthTokenGetsGoAwayUnauthenticated() throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.authToken = Array("s3cret".utf8) }
        defer { server.stop() }
        for token in ["", "s3cre", "s3cret!", "S3cret"] {
            let client = try RawClient(port: server.port)
            var bytes = ConnectionPreface.bytes
            Hello(authToken: Array(token.utf8)).encodeFrame(requestID: 0, into: &bytes)
            try client.send(bytes)
            let frame = try #require(try client.nextFrame(), "token '\(token)'")
            #expect(frame.header.type == .goAway)
            #expect(try frame.decode(GoAway.self).status == .unauthenticated, "token '\(token)'")
            #expect(try client.nextFrame() == nil)
        }
        // Health stays answerable before the handshake (load balancers hold no token); the right token works.
        let client = try RawClient(port: server.port)
        try client.send(HealthProbe.request)
        #expect(try client.readBytes(HealthProbe.servingResponse.count) == HealthProbe.servingResponse)
        var bytes: [UInt8] = []
        Hello(authToken: Array("s3cret".utf8)).encodeFrame(requestID: 0, into: &bytes)
        try client.send(bytes)
        #expect(try client.nextFrame()?.header.type == .helloAck)
        try client.send(recommendFrame([1], id: 1))
        #expect(try client.nextFrame()?.header.type == .recommendResponse)
    }

    @Test func modelNamesMustBeDistinctAndFitTheProtocol() {
        #expect(throws: ServerCommandError.self) {
            _ = try TestServer(backends: [FakeBackend(), FakeBackend()])
        }
        #expect(throws: ServerCommandError.self) {
            _ = try TestServer(backends: [FakeBackend(name: String(repeating: "m", count: 257))])
        }
    }

    @Test func slowReaderIsDisconnectedAtTheOutputCap() throws {
        let server = try TestServer(backends: [FakeBackend(embeddingWidth: 16_384)]) {
            $0.maxFrameLength = 64 * 1_024
            $0.maxOutputBytes = 256 * 1_024
        }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        var small: Int32 = 4_096
        // A small fixed receive window (no autotuning), so the kernel cannot absorb the answers for us.
        setsockopt(client.socket.descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try client.handshake()
        // 64 KiB answers that are not read: socket buffers fill, then the server's cap is passed.
        var frames: [UInt8] = []
        for id in UInt32(1)...90 { frames += recommendFrame([1], k: 1, id: id, includeEmbedding: true) }
        try client.send(frames)
        let deadline = Date().addingTimeInterval(60)
        while server.server.statistics.slowReadersDisconnected == 0, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(server.server.statistics.slowReadersDisconnected == 1)
        // Other clients are unaffected.
        let other = try RawClient(port: server.port)
        try other.handshake()
        try other.send(recommendFrame([1], k: 1, id: 1))
        #expect(try other.nextFrame()?.header.type == .recommendResponse)
    }
}

// The connection state machine and the server core in memory (EmbeddedServer): handshake, PING,
// connection-level bodies, the client's GOAWAY, CANCEL, duplicate ids, timers and the drain,
// byte for byte, with a fake clock and no sockets.
import SeqRecPosix
import SeqRecProtocol
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

@Suite struct ConnectionCoreTests {
    private func server(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> EmbeddedServer {
        try EmbeddedServer(backends: [FakeBackend()], configure)
    }

    private func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    /// A connection-level frame (request id 0) with an arbitrary body.
    private func frame(_ type: FrameType, body: [UInt8], requestID: UInt32 = 0) -> [UInt8] {
        rawFrame(length: UInt32(12 + body.count), type: type.rawValue, requestID: requestID) + body
    }

    /// The one GOAWAY the connection got, after which it is shut down (fatal) and closed at EOF.
    private func expectFatalGoAway(_ server: EmbeddedServer, _ token: ConnectionToken, status: StatusCode,
                                   mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.goAway], sourceLocation: sourceLocation)
        let goAway = try #require(try frames.first?.decode(GoAway.self), sourceLocation: sourceLocation)
        #expect(goAway.status == status, "\(goAway.message)", sourceLocation: sourceLocation)
        #expect(goAway.message.contains(text), "\(goAway.message)", sourceLocation: sourceLocation)
        #expect(server.wasShutDown(token), sourceLocation: sourceLocation)
        // Later bytes are not answered; the peer's EOF closes the connection.
        server.send(Ping(payload: 1).frameBytes(requestID: 0), on: token)
        #expect(try server.read(token).isEmpty, sourceLocation: sourceLocation)
        server.endOfStream(token)
        #expect(server.wasClosed(token), sourceLocation: sourceLocation)
    }

    @Test func handshakeThenPingIsAnsweredWithPong() throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(Ping(payload: 0x0102_0304_0506_0708).frameBytes(requestID: 0), on: token)
        let frames = try server.read(token)
        #expect(frames.count == 1)
        #expect(try frames[0].decode(Pong.self).payload == 0x0102_0304_0506_0708)
    }

    @Test func byteByByteDeliveryGivesTheSameAnswer() throws {
        let server = try server()
        let token = try #require(server.connect())
        for byte in ConnectionPreface.bytes + Hello().frameBytes(requestID: 0) + recommendFrame([3], k: 2, id: 9) {
            server.send([byte], on: token)
        }
        server.runDueBatches()
        let frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.helloAck, .recommendResponse])
        #expect(frames.last?.header.requestID == 9)
    }

    // issue 11.1: every malformed HELLO body gets GOAWAY INVALID_ARGUMENT naming the field (§9, §11).
    @Test(arguments: [
        ("min_version 0", [0, 0, 0, 1, 0, 0, 0, 0], "min_version"),
        ("max < min", [0, 2, 0, 1, 0, 0, 0, 0], "max_version"),
        ("65 capabilities", [0, 1, 0, 1, 0, 65] + [UInt8](repeating: 0, count: 65 * 6) + [0, 0], "capabilities"),
        ("capabilities past the body", [0, 1, 0, 1, 0, 3, 0, 1, 0, 0, 0, 1], "capabilit"),
        ("257-byte token", [0, 1, 0, 1, 0, 0, 1, 1] + [UInt8](repeating: 0x61, count: 257), "auth_token"),
        ("truncated", [0, 1, 0], "max_version"),
        ("trailing byte", [0, 1, 0, 1, 0, 0, 0, 0, 9], "trailing"),
    ] as [(String, [UInt8], String)])
    func malformedHelloIsInvalidArgument(_ name: String, body: [UInt8], field: String) throws {
        let server = try server()
        let token = try #require(server.connect())
        server.send(ConnectionPreface.bytes + frame(.hello, body: body), on: token)
        try expectFatalGoAway(server, token, status: .invalidArgument, mentioning: field)
    }

    // issue 11.1: a PING body that is not 8 bytes says so (it used to say "needs 4 bytes").
    @Test(arguments: [0, 7, 9])
    func malformedPingIsInvalidArgument(length: Int) throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(frame(.ping, body: [UInt8](repeating: 1, count: length)), on: token)
        try expectFatalGoAway(server, token, status: .invalidArgument, mentioning: "PING body is \(length) bytes, must be exactly 8")
    }

    // issue 11.2: a malformed client GOAWAY is answered with GOAWAY INVALID_ARGUMENT, not a silent close.
    @Test(arguments: [
        ("empty", [], "status"),
        ("1 byte", [0], "status"),
        ("string past the end", [0, 0, 0, 5, 0x61], "message"),
        ("trailing byte", [0, 0, 0, 0, 7], "trailing"),
        ("bad UTF-8", [0, 0, 0, 2, 0xC3, 0x28], "UTF-8"),
        ("unknown status", [0, 17, 0, 0], "status"),
    ] as [(String, [UInt8], String)])
    func malformedClientGoAwayIsAnswered(_ name: String, body: [UInt8], field: String) throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(frame(.goAway, body: body), on: token)
        try expectFatalGoAway(server, token, status: .invalidArgument, mentioning: field)
    }

    // issue 11.3: after the client's GOAWAY, what it sent before is answered, every later request is
    // answered UNAVAILABLE + NOT_PROCESSED, and the connection stays open until the client closes.
    @Test func requestsAfterTheClientsGoAwayAreAnsweredUnavailable() throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(recommendFrame([1], k: 2, id: 1) + GoAway(status: .ok).frameBytes(requestID: 0)
            + recommendFrame([2], k: 2, id: 2) + HealthRequest().frameBytes(requestID: 3), on: token)
        server.runDueBatches()
        var frames = try server.read(token)
        #expect(Set(frames.map(\.header.requestID)) == [1, 2, 3])
        let byID = Dictionary(uniqueKeysWithValues: frames.map { ($0.header.requestID, $0) })
        #expect(byID[1]?.header.type == .recommendResponse)
        for id: UInt32 in [2, 3] {
            let refused = try #require(byID[id])
            #expect(refused.header.type == .error)
            #expect(refused.header.flags.contains(.notProcessed))
            #expect(try refused.decode(ErrorBody.self).status == .unavailable)
        }
        #expect(!server.wasClosed(token))
        // Still answered later, while the connection is open.
        server.send(recommendFrame([3], id: 4), on: token)
        frames = try server.read(token)
        #expect(frames.map(\.header.requestID) == [4])
        server.endOfStream(token)
        #expect(server.wasClosed(token))
    }

    // issue 11.7: a CANCEL with a body is malformed (its body must be empty): GOAWAY INVALID_ARGUMENT.
    @Test func cancelWithABodyIsInvalidArgument() throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(frame(.cancel, body: [1, 2], requestID: 5), on: token)
        try expectFatalGoAway(server, token, status: .invalidArgument, mentioning: "trailing")
    }

    @Test func cancelAnswersAQueuedRequestAtOnceAndIgnoresUnknownIDs() throws {
        let server = try server { $0.maxDelayMicroseconds = 1_000_000 }
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1) + Cancel().frameBytes(requestID: 1) + Cancel().frameBytes(requestID: 77), on: token)
        let frames = try server.read(token)
        #expect(frames.count == 1)
        #expect(frames[0].header.requestID == 1)
        #expect(frames[0].header.flags.contains(.notProcessed))
        #expect(try frames[0].decode(ErrorBody.self).status == .cancelled)
        #expect(server.runDueBatches() == 0)
    }

    @Test func duplicateInFlightIDIsFatalInternal() throws {
        let server = try server()
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 42) + recommendFrame([2], id: 42), on: token)
        try expectFatalGoAway(server, token, status: .internal, mentioning: "42")
    }

    @Test func badPrefaceClosesWithoutAnswer() throws {
        let server = try server()
        let token = try #require(server.connect())
        server.send(Array("GET / HTTP/1.1\r\n".utf8), on: token)
        #expect(try server.read(token).isEmpty)
        #expect(server.wasClosed(token))
    }

    // issue 11.7, written down in §12: a frame that does not complete in time closes without GOAWAY.
    @Test func stalledFrameIsClosedAtTheFrameTimeout() throws {
        let server = try server { $0.frameReadTimeoutMilliseconds = 200 }
        let token = try server.handshaken()
        server.send([0, 0, 0], on: token)
        server.advance(milliseconds: 150)
        #expect(!server.wasClosed(token))
        server.advance(milliseconds: 60)
        #expect(server.wasClosed(token))
        #expect(try server.read(token).isEmpty)
    }

    @Test func idleConnectionGetsGoAwayOKThenClose() throws {
        let server = try server { $0.idleTimeoutMilliseconds = 300 }
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1), on: token)
        server.runDueBatches()
        #expect(try server.read(token).count == 1)
        server.advance(milliseconds: 299)
        #expect(try server.read(token).isEmpty)
        server.advance(milliseconds: 2)
        let frames = try server.read(token)
        #expect(try frames.first?.decode(GoAway.self).status == .ok)
        #expect(frames.first?.header.aux == 1)
        #expect(server.wasClosed(token))
    }

    // issue 11.7: a deadline that passes in the queue is DEADLINE_EXCEEDED + NOT_PROCESSED, model not run.
    @Test func requestExpiredInTheQueueIsNotRun() throws {
        let backend = FakeBackend()
        let server = try EmbeddedServer(backends: [backend])
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1, timeoutMicroseconds: 1_000), on: token)
        server.advance(milliseconds: 2)
        server.runDueBatches()
        let frames = try server.read(token)
        #expect(frames[0].header.flags.contains(.notProcessed))
        #expect(try frames[0].decode(ErrorBody.self).status == .deadlineExceeded)
        #expect(backend.executedQueries.load(ordering: .relaxed) == 0)
        #expect(server.core.statistics.expiredInQueue == 1)
    }

    // issue 11.7: retry_after_ms is the queued work at the recent model-call time, not always 1.
    @Test func queueFullAdvisesRetryAfterTheQueuedWork() throws {
        let server = try server {
            $0.maxQueue = 4
            $0.maxBatch = 2
            $0.maxDelayMicroseconds = 10_000_000
        }
        let token = try server.handshaken()
        // One batch of 2 runs (2 ms per call in the harness), then 4 fill the queue and the fifth is refused.
        server.send(recommendFrame([1], id: 1) + recommendFrame([2], id: 2), on: token)
        #expect(server.runDueBatches() == 1)
        #expect(try server.read(token).count == 2)
        var bytes: [UInt8] = []
        for id in UInt32(3)...7 { bytes += recommendFrame([id], id: id) }
        server.send(bytes, on: token)
        let frames = try server.read(token)
        #expect(frames.count == 1)
        #expect(frames[0].header.requestID == 7)
        #expect(try frames[0].decode(ErrorBody.self).status == .resourceExhausted)
        // 4 queued = 2 batches of 2 on 1 worker at 2 ms each: 4 ms.
        #expect(frames[0].header.aux == 4)
    }

    @Test func drainSequenceRefusesNewWorkAndAnswersTheRest() throws {
        let server = try server {
            $0.drainDelayMilliseconds = 1_000
            $0.drainGraceMilliseconds = 5_000
        }
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1), on: token)
        server.drain()
        // During the delay: NOT_SERVING, everything else still works, new connections too.
        let probe = try #require(server.connect())
        server.send(HealthProbe.request, on: probe)
        #expect(try server.read(probe).first.map { try $0.decode(HealthResponse.self).status } == .notServing)
        server.advance(milliseconds: 1_001)
        #expect(server.actions.contains(.closeListener))
        var frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.goAway])
        #expect(try frames[0].decode(GoAway.self).status == .unavailable)
        #expect(frames[0].header.aux == 1)
        server.send(recommendFrame([2], id: 2), on: token)
        server.runDueBatches()
        frames = try server.read(token)
        #expect(Set(frames.map(\.header.requestID)) == [1, 2])
        #expect(frames.first { $0.header.requestID == 2 }?.header.flags.contains(.notProcessed) == true)
        #expect(server.wasClosed(token))
        #expect(try server.read(probe).map(\.header.type) == [.goAway])
        #expect(server.wasClosed(probe))
        server.advance(milliseconds: 1)
        #expect(server.core.drainState == .finished(graceful: true))
        #expect(server.core.statistics.abandonedAtStop == 0)
    }

    @Test func graceLimitAbandonsWhatIsStillRunning() throws {
        let server = try server { $0.drainGraceMilliseconds = 200 }
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1), on: token)
        var batch: [Int] = []
        #expect(server.core.takeDueBatch(now: server.now, into: &batch) != nil)  // "running" from now on
        server.drain()
        server.advance(milliseconds: 1)
        #expect(server.core.drainState != .finished(graceful: true))
        server.advance(milliseconds: 200)
        #expect(server.core.drainState == .finished(graceful: false))
        #expect(server.core.statistics.abandonedAtStop == 1)
        #expect(server.wasClosed(token))
    }

    @Test func maxConnectionsRefusesTheExtraConnection() throws {
        let server = try server { $0.maxConnections = 2 }
        #expect(server.connect() != nil)
        #expect(server.connect() != nil)
        #expect(server.connect() == nil)
    }
}

@Suite struct HandshakeCoreTests {
    @Test(arguments: ["", "s3cre", "s3cret!", "S3cret"])
    func wrongAuthTokenGetsUnauthenticated(token: String) throws {
        let server = try EmbeddedServer(backends: [FakeBackend()]) { $0.authToken = Array("s3cret".utf8) }
        let connection = try #require(server.connect())
        server.send(ConnectionPreface.bytes + Hello(authToken: Array(token.utf8)).frameBytes(requestID: 0), on: connection)
        let frames = try server.read(connection)
        #expect(frames.map(\.header.type) == [.goAway])
        #expect(try frames.first?.decode(GoAway.self).status == .unauthenticated)
        #expect(server.wasShutDown(connection))
    }

    @Test func rightAuthTokenGetsHelloAck() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()]) { $0.authToken = Array("s3cret".utf8) }
        let connection = try #require(server.connect())
        server.send(ConnectionPreface.bytes + Hello(authToken: Array("s3cret".utf8)).frameBytes(requestID: 0), on: connection)
        #expect(try server.read(connection).map(\.header.type) == [.helloAck])
    }
}

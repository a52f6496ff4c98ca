// One client connection as a pure state machine (docs/PROTOCOL.md §3, §5, §10, §11): bytes in,
// frames decoded, connection-level frames (HELLO, PING, GOAWAY, CANCEL) answered here, request
// frames handed to the server core, bytes out into `output`. No sockets, no clock of its own:
// every call that depends on time takes `now`.
import SeqRecProtocol

/// What the HELLO answer depends on: fixed for the server's lifetime.
package struct HandshakePolicy: Sendable {
    package var limits: ProtocolLimits
    package var authToken: [UInt8]?
    package var serverID = "seqrec"

    package init(limits: ProtocolLimits, authToken: [UInt8]?) {
        self.limits = limits
        self.authToken = authToken
    }
}

package struct ConnectionMachine {
    package enum Phase: Equatable, Sendable {
        /// Reading and answering requests.
        case open
        /// We sent a graceful GOAWAY (drain, idle): new requests are refused, the rest finish, then close.
        case goingAway
        /// The client sent GOAWAY: what it sent before is answered; later requests are refused
        /// (UNAVAILABLE + NOT_PROCESSED) until it closes.
        case peerGoingAway
        /// The client finished sending (EOF): answer what is in flight, then close.
        case peerClosed
        /// A fatal GOAWAY is queued: write it, stop sending, discard input, close at EOF or `lingerUntil`.
        case closing(lingerUntil: UInt64)
    }

    /// What the core must do with a decoded frame.
    package enum Event: Equatable {
        /// RECOMMEND, HEALTH or MODEL_INFO with a fresh id, on a connection that accepts requests.
        case request(Frame)
        /// CANCEL of an in-flight request: `slot` is the request-pool slot it occupies.
        case cancel(requestID: UInt32, slot: Int)
    }

    package let policy: HandshakePolicy
    package private(set) var phase = Phase.open
    private var decoder: FrameDecoder
    /// Request id → request-pool slot of every RECOMMEND queued or running.
    package private(set) var inFlight: [UInt32: Int] = [:]
    /// The id of the last request accepted, reported in GOAWAY.
    package private(set) var lastRequestID: UInt32 = 0
    /// The protocol version HELLO negotiated (docs/PROTOCOL.md §3): it decides the RECOMMEND and
    /// RECOMMEND_RESPONSE layouts. 1 until the handshake.
    package private(set) var version: UInt16 = 1
    /// The protocol violation that closed the connection, if one did (counted and logged by the core).
    package private(set) var violation: ProtocolError?
    /// Time by which the frame now arriving must be complete; nil between frames.
    package private(set) var frameDeadline: UInt64?
    /// Time of the last complete frame (or of the accept).
    package private(set) var lastActivity: UInt64
    package var output = OutputBuffer(reservingCapacity: 4_096)
    /// Set once the transport has shut down our sending side (closing phase).
    package var sendingShutDown = false
    /// When the connection reaches its maximum age (`--max-connection-age-s`, jitter applied by the
    /// core) and gets GOAWAY OK; nil = no limit.
    package var maxAgeDeadline: UInt64?

    package init(policy: HandshakePolicy, now: UInt64, frameTimeoutNanoseconds: UInt64) {
        self.policy = policy
        decoder = FrameDecoder(role: .server, limits: policy.limits)
        inFlight.reserveCapacity(min(policy.limits.maxInFlightPerConnection, 1_024))
        lastActivity = now
        // A connection that sends nothing at all is timed out like a stalled frame.
        frameDeadline = now &+ frameTimeoutNanoseconds
    }

    package var isClosing: Bool { if case .closing = phase { true } else { false } }
    /// Whether the transport should keep reading the socket.
    package var wantsInput: Bool { phase != .peerClosed }
    /// Nothing in flight and nothing left to write.
    package var isIdle: Bool { inFlight.isEmpty && output.isEmpty }

    /// Whether the connection has finished and the transport should close it now.
    package func shouldClose(now: UInt64) -> Bool {
        switch phase {
        case .open, .peerGoingAway: false
        case .goingAway, .peerClosed: isIdle
        case .closing(let until): now >= until
        }
    }

    // MARK: input

    /// Bytes read from the socket. Ignored while closing (the peer is not listened to any more).
    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosing else { return }
        decoder.feed(bytes)
    }

    /// The next frame the core must handle, after answering every connection-level frame before
    /// it; nil when no complete frame is buffered or the connection stopped reading.
    package mutating func nextEvent(now: UInt64, frameTimeoutNanoseconds: UInt64) -> Event? {
        while phase != .peerClosed, !isClosing {
            let frame: Frame?
            do {
                frame = try decoder.next()
            } catch {
                fail(error, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
                return nil
            }
            guard let frame else {
                // Between frames no deadline runs; inside one, it runs from the frame's first byte.
                if !decoder.isInsideFrame {
                    frameDeadline = nil
                    decoder.releaseCapacityIfDrained(above: 256 * 1_024)
                } else if frameDeadline == nil {
                    frameDeadline = now &+ frameTimeoutNanoseconds
                }
                return nil
            }
            lastActivity = now
            frameDeadline = nil
            if let event = handle(frame, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds) { return event }
        }
        return nil
    }

    private mutating func handle(_ frame: Frame, now: UInt64, frameTimeoutNanoseconds: UInt64) -> Event? {
        let header = frame.header
        switch header.type {
        case .hello:
            answerHello(frame, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
        case .ping:
            do {
                let ping = try frame.decode(Ping.self, limits: policy.limits)
                output.append { Pong(answering: ping).encodeFrame(requestID: 0, into: &$0) }
            } catch {
                fail(error, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
            }
        case .goAway:
            do {
                _ = try frame.decode(GoAway.self, limits: policy.limits)
                // Fatal or graceful, the client sends no new requests: answer what it sent, refuse the rest.
                if phase == .open { phase = .peerGoingAway }
            } catch {
                fail(error, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
            }
        case .cancel:
            do {
                _ = try frame.decode(Cancel.self, limits: policy.limits)
            } catch {
                fail(error, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
                return nil
            }
            if let slot = inFlight[header.requestID] { return .cancel(requestID: header.requestID, slot: slot) }
        case .health, .modelInfo, .recommend:
            guard inFlight[header.requestID] == nil else {
                fail(.duplicateRequestID(header.requestID), now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
                return nil
            }
            switch phase {
            case .open:
                return .request(frame)
            case .goingAway:
                sendError(.unavailable, "server is shutting down; retry on a new connection", to: header.requestID,
                          notProcessed: true)
            case .peerGoingAway:
                sendError(.unavailable, "request sent after the client's GOAWAY; send it on a new connection",
                          to: header.requestID, notProcessed: true)
            case .peerClosed, .closing:
                break
            }
        case .helloAck, .recommendResponse, .error, .pong, .healthResponse, .modelList:
            // The decoder rejects server-to-client types; reaching here would be a decoder bug.
            fail(.unexpectedFrameType(header.type), now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
        }
        return nil
    }

    private mutating func answerHello(_ frame: Frame, now: UInt64, frameTimeoutNanoseconds: UInt64) {
        let hello: Hello
        do {
            hello = try frame.decode(Hello.self, limits: policy.limits)
        } catch {
            fail(error, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
            return
        }
        guard let version = hello.negotiatedVersion() else {
            sendFatalGoAway(.unimplemented, "no common protocol version: client \(hello.minVersion)...\(hello.maxVersion), "
                + "server \(ProtocolVersion.minimum)...\(ProtocolVersion.maximum)", now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
            return
        }
        if let expected = policy.authToken, !Self.tokensMatch(hello.authToken, expected) {
            sendFatalGoAway(.unauthenticated, "HELLO carried a wrong or no auth token; ask the operator for the server's token",
                            now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
            return
        }
        self.version = version
        let ack = HelloAck(version: version, limits: policy.limits, serverID: policy.serverID)
        output.append { ack.encodeFrame(requestID: 0, into: &$0) }
    }

    /// Compares every byte of the expected token whatever the sent one holds, so the time taken does
    /// not tell an attacker how long a prefix they guessed right.
    package static func tokensMatch(_ sent: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = sent.count == expected.count ? 0 : 1
        for index in expected.indices {
            difference |= (index < sent.count ? sent[index] : 0) ^ expected[index]
        }
        return difference == 0
    }

    /// The peer's end of stream.
    package mutating func peerFinishedSending() {
        switch phase {
        case .closing: break
        default:
            phase = .peerClosed
            frameDeadline = nil
        }
    }

    // MARK: requests

    /// A RECOMMEND accepted into request-pool slot `slot`.
    package mutating func accepted(_ requestID: UInt32, slot: Int) {
        inFlight[requestID] = slot
        lastRequestID = requestID
    }

    /// The slot of an in-flight request, removed from the in-flight set (answered, cancelled, dropped).
    @discardableResult
    package mutating func finish(_ requestID: UInt32) -> Int? {
        inFlight.removeValue(forKey: requestID)
    }

    package var inFlightSlots: Dictionary<UInt32, Int>.Values { inFlight.values }

    package mutating func sendError(_ status: StatusCode, _ message: String, to requestID: UInt32,
                                    notProcessed: Bool = false, retryAfterMilliseconds: UInt32 = 0) {
        let body = ErrorBody(status: status, message: Self.clip(message, policy.limits.maxMessageBytes))
        output.append {
            body.encodeFrame(requestID: requestID, aux: retryAfterMilliseconds, flags: notProcessed ? .notProcessed : [],
                             into: &$0)
        }
    }

    // MARK: leaving

    /// Graceful GOAWAY (drain: UNAVAILABLE; idle: OK) on an open connection: nothing new is accepted.
    package mutating func goAwayGracefully(_ status: StatusCode, _ message: String) {
        guard phase == .open || phase == .peerGoingAway else { return }
        let body = GoAway(status: status, message: Self.clip(message, policy.limits.maxMessageBytes))
        output.append { body.encodeFrame(requestID: 0, aux: lastRequestID, into: &$0) }
        phase = .goingAway
    }

    /// A protocol violation: GOAWAY naming it (none for a bad preface: the peer does not speak
    /// SeqRec), then close.
    package mutating func fail(_ error: ProtocolError, now: UInt64, frameTimeoutNanoseconds: UInt64) {
        if violation == nil, !isClosing { violation = error }
        if case .badPreface = error {
            phase = .closing(lingerUntil: now)
            return
        }
        sendFatalGoAway(error.status, error.description, now: now, frameTimeoutNanoseconds: frameTimeoutNanoseconds)
    }

    package mutating func sendFatalGoAway(_ status: StatusCode, _ message: String, now: UInt64, frameTimeoutNanoseconds: UInt64) {
        guard !isClosing else { return }
        let body = GoAway(status: status, message: Self.clip(message, policy.limits.maxMessageBytes))
        output.append { body.encodeFrame(requestID: 0, aux: lastRequestID, into: &$0) }
        // The peer gets a short while to read the GOAWAY before the socket is closed under it.
        phase = .closing(lingerUntil: now &+ min(frameTimeoutNanoseconds, 1_000_000_000))
        frameDeadline = nil
    }

    /// Time-driven transitions: the frame-read timeout (close, no GOAWAY: docs/PROTOCOL.md §12), the
    /// idle GOAWAY OK and the maximum-age GOAWAY OK. Returns true when the connection must be closed now.
    package mutating func tick(now: UInt64, idleNanoseconds: UInt64, idleMilliseconds: Int) -> Bool {
        if let deadline = frameDeadline, now >= deadline { return true }
        if phase == .open || phase == .peerGoingAway, frameDeadline == nil, isIdle, now &- lastActivity >= idleNanoseconds {
            goAwayGracefully(.ok, "idle for \(idleMilliseconds) ms")
        }
        // Old enough: graceful GOAWAY even when busy (what was sent is answered), so the client
        // reconnects, possibly elsewhere, and connections spread again after scaling.
        if let deadline = maxAgeDeadline, now >= deadline {
            maxAgeDeadline = nil
            goAwayGracefully(.ok, "connection reached its maximum age; reconnect for new requests")
        }
        return shouldClose(now: now)
    }

    private static func clip(_ message: String, _ limit: Int) -> String {
        var bytes = Array(message.utf8.prefix(limit))
        // Never cut a multi-byte character in half: drop continuation bytes at the cut.
        while let last = bytes.last, String(validating: bytes, as: UTF8.self) == nil, last & 0xC0 == 0x80 || last >= 0xC0 {
            bytes.removeLast()
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

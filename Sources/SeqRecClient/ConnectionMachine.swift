// One client connection as a state machine without I/O or clock (docs/PROTOCOL.md §3, §5, §10):
// handshake, request ids, the server's in-flight limit, deadlines, CANCEL, GOAWAY and failure. Its
// owner feeds it received bytes and the current time, writes the bytes each step returns in order,
// and resumes the waiters each step completes. Tests drive it byte by byte.
//
//   connecting ─connected▶ handshaking ─HELLO_ACK▶ open ─graceful GOAWAY▶ goingAway ─last answer▶ closed
//        └──────────────────────┴── failure, fatal GOAWAY, close ──────────┴──────────────────▶ closed
import SeqRecProtocol

/// How a call (or the handshake) ended, as the machine reports it to the waiter.
package enum CallOutcome: Sendable {
    /// The server's answer (for a call: its response or ERROR frame; for the handshake: HELLO_ACK).
    case frame(Frame)
    case failure(SeqRecError)
    /// The caller cancelled.
    case cancelled
}

package struct ConnectionMachine<Waiter: Sendable>: Sendable {
    package struct Completion: Sendable {
        package let waiter: Waiter
        package let outcome: CallOutcome
    }

    /// What the owner must do after a step: write `output` (in step order), then close the transport
    /// if asked, then resume the completions.
    package struct Step: Sendable {
        package var output: [UInt8] = []
        package var closeTransport = false
        package var completions: [Completion] = []
    }

    package enum Phase: Equatable, Sendable {
        case connecting
        case handshaking
        case open
        /// Graceful GOAWAY received: what was sent is still answered, nothing new is accepted.
        case goingAway
        case closed(SeqRecError)
    }

    /// A request the caller wants sent.
    package struct Request: Sendable {
        /// The whole frame with request id 0; the machine writes the id (and aux) in.
        package var frame: [UInt8]
        /// The server's time budget in nanoseconds (RECOMMEND's aux), nil for frames without one.
        package var serverBudget: UInt64?
        /// The caller is answered locally at this monotonic time if the server has not answered.
        package var localDeadline: UInt64

        package init(frame: [UInt8], serverBudget: UInt64?, localDeadline: UInt64) {
            self.frame = frame
            self.serverBudget = serverBudget
            self.localDeadline = localDeadline
        }
    }

    private enum Entry: Sendable {
        /// Not sent yet: the connection is at the server's in-flight limit.
        case queued(Request, serverDeadline: UInt64?, waiter: Waiter)
        case sent(localDeadline: UInt64, waiter: Waiter)
        /// Sent, and the caller was answered locally (deadline, cancellation); the id stays reserved
        /// until the server's own answer arrives, so a late answer never matches a newer request.
        case abandoned
    }

    package private(set) var phase: Phase = .connecting
    package private(set) var limits = ProtocolLimits.default
    package private(set) var serverID = ""
    /// The protocol version the server chose from HELLO's range (1 until the handshake).
    package private(set) var version: UInt16 = 1
    private var decoder = FrameDecoder(role: .client)
    private var entries: [UInt32: Entry] = [:]
    private var sendQueue: [UInt32] = []
    /// Entries sent and not answered by the server (`.sent` and `.abandoned`).
    private var sentCount = 0
    private var nextID: UInt32 = 1
    /// A lower bound of the local deadlines of waiting requests (.max: none), made exact by `expire`.
    private var earliestDeadline = UInt64.max
    private var handshakeWaiter: Waiter?
    private let handshakeDeadline: UInt64
    private let hello: Hello

    /// `waiter` is completed with the HELLO_ACK frame, or with the failure that ended the handshake.
    package init(hello: Hello, handshakeDeadline: UInt64, waiter: Waiter) {
        self.hello = hello
        self.handshakeDeadline = handshakeDeadline
        handshakeWaiter = waiter
    }

    /// New requests are accepted.
    package var isUsable: Bool { phase == .open }

    /// Requests sent or waiting to be sent, not yet answered by the server.
    package var inFlightCount: Int { sentCount + sendQueue.count }

    /// The earliest time `expire(now:)` may have something to do, nil when nothing waits. It may be
    /// early (answered requests are not subtracted until the next `expire`), never late.
    package var nextDeadline: UInt64? {
        switch phase {
        case .connecting, .handshaking: handshakeDeadline
        case .closed: nil
        case .open, .goingAway: earliestDeadline == .max ? nil : earliestDeadline
        }
    }

    // MARK: transport events

    /// The transport is connected: send the preface and HELLO.
    package mutating func connected() -> Step {
        guard phase == .connecting else { return Step() }
        phase = .handshaking
        var step = Step()
        step.output = ConnectionPreface.bytes
        hello.encodeFrame(requestID: 0, into: &step.output)
        return step
    }

    /// Bytes from the server.
    package mutating func receive(_ bytes: some Collection<UInt8>, now: UInt64) -> Step {
        var step = Step()
        if case .closed = phase { return step }
        decoder.feed(bytes)
        do {
            while case let frame? = try decoder.next() {
                try handle(frame, now: now, into: &step)
                if case .closed = phase { break }
            }
        } catch let error as ProtocolError {
            finish(SeqRecError(.protocolViolation, error.description), into: &step)
        } catch let error as SeqRecError {
            finish(error, into: &step)
        } catch {
            finish(SeqRecError(.protocolViolation, "\(error)"), into: &step)
        }
        return step
    }

    /// The connection ended (peer closed, I/O error, or `close()`): every waiter fails.
    package mutating func fail(_ error: SeqRecError) -> Step {
        var step = Step()
        finish(error, into: &step)
        return step
    }

    // MARK: caller events

    /// Registers a request: sends it now, or queues it while the server's in-flight limit is
    /// reached. Returns its id, or the error to throw without sending.
    package mutating func register(_ request: Request, now: UInt64, waiter: Waiter) -> (Result<UInt32, SeqRecError>, Step) {
        var step = Step()
        switch phase {
        case .open:
            break
        case .goingAway:
            return (.failure(Self.goingAwayError), step)
        case .closed(let error):
            return (.failure(SeqRecError(error.kind, error.message, notProcessed: true)), step)
        case .connecting, .handshaking:
            return (.failure(SeqRecError(.connection, "the handshake has not finished", notProcessed: true)), step)
        }
        while nextID == 0 || entries[nextID] != nil { nextID &+= 1 }
        let id = nextID
        nextID &+= 1
        entries[id] = .queued(request, serverDeadline: request.serverBudget.map { now &+ $0 }, waiter: waiter)
        sendQueue.append(id)
        earliestDeadline = min(earliestDeadline, request.localDeadline)
        pump(now: now, into: &step)
        return (.success(id), step)
    }

    /// The caller gave up on `id` (task cancellation): it is answered `.cancelled` at once, and a
    /// sent request is CANCELled at the server. Unknown or already answered ids are ignored.
    package mutating func cancel(_ id: UInt32) -> Step {
        var step = Step()
        switch entries[id] {
        case .queued(_, _, let waiter):
            entries[id] = nil
            sendQueue.removeAll { $0 == id }
            step.completions.append(Completion(waiter: waiter, outcome: .cancelled))
        case .sent(_, let waiter):
            entries[id] = .abandoned
            Cancel().encodeFrame(requestID: id, into: &step.output)
            step.completions.append(Completion(waiter: waiter, outcome: .cancelled))
        case .abandoned, nil:
            break
        }
        return step
    }

    /// Answers every request whose local deadline has passed with `deadlineExceeded` (sent ones are
    /// CANCELled at the server) and fails a handshake that took too long.
    package mutating func expire(now: UInt64) -> Step {
        var step = Step()
        switch phase {
        case .connecting, .handshaking:
            if now >= handshakeDeadline {
                finish(SeqRecError(.connection, "no connection and handshake before the connect timeout"), into: &step)
            }
            return step
        case .closed:
            return step
        case .open, .goingAway:
            break
        }
        guard earliestDeadline <= now else { return step }
        earliestDeadline = .max
        for (id, entry) in entries {
            switch entry {
            case .queued(let request, _, let waiter) where request.localDeadline <= now:
                entries[id] = nil
                sendQueue.removeAll { $0 == id }
                step.completions.append(Completion(waiter: waiter, outcome: .failure(SeqRecError(
                    .deadlineExceeded, "request \(id) waited for a free in-flight slot until its deadline",
                    notProcessed: true))))
            case .sent(let localDeadline, let waiter) where localDeadline <= now:
                entries[id] = .abandoned
                Cancel().encodeFrame(requestID: id, into: &step.output)
                step.completions.append(Completion(waiter: waiter, outcome: .failure(SeqRecError(
                    .deadlineExceeded, "no answer to request \(id) before its deadline"))))
            case .queued(let request, _, _):
                earliestDeadline = min(earliestDeadline, request.localDeadline)
            case .sent(let localDeadline, _):
                earliestDeadline = min(earliestDeadline, localDeadline)
            case .abandoned:
                continue
            }
        }
        return step
    }

    // MARK: frames

    private mutating func handle(_ frame: Frame, now: UInt64, into step: inout Step) throws {
        let type = frame.header.type
        switch phase {
        case .connecting:
            throw SeqRecError(.protocolViolation, "bytes before the connection was open")
        case .handshaking:
            try handleHandshake(frame, into: &step)
        case .open, .goingAway:
            switch type {
            case .goAway:
                try handleGoAway(try frame.decode(GoAway.self, limits: limits), into: &step)
            case .pong:
                break
            case .recommendResponse, .error, .healthResponse, .modelList:
                try handleAnswer(frame, now: now, into: &step)
            default:
                throw SeqRecError(.protocolViolation, "unexpected \(type) frame on an open connection")
            }
        case .closed:
            break
        }
    }

    private mutating func handleHandshake(_ frame: Frame, into step: inout Step) throws {
        switch frame.header.type {
        case .helloAck:
            let ack = try frame.decode(HelloAck.self)
            guard (hello.minVersion...hello.maxVersion).contains(ack.version) else {
                throw SeqRecError(.protocolViolation, "server chose version \(ack.version), this client offered "
                    + "\(hello.minVersion)...\(hello.maxVersion)")
            }
            version = ack.version
            limits = ack.limits
            serverID = ack.serverID
            phase = .open
            // The server sends nothing unasked after HELLO_ACK, so the buffer is normally empty and the
            // decoder can take the announced frame limit; otherwise the default limit stays in force.
            if decoder.bufferedByteCount == 0 { decoder = FrameDecoder(role: .client, limits: ack.limits) }
            if let waiter = handshakeWaiter {
                handshakeWaiter = nil
                step.completions.append(Completion(waiter: waiter, outcome: .frame(frame)))
            }
        case .goAway:
            let goAway = try frame.decode(GoAway.self)
            throw SeqRecError(.server(goAway.status), "server refused the handshake: \(goAway.message)",
                              notProcessed: true)
        default:
            throw SeqRecError(.protocolViolation, "expected HELLO_ACK, got \(frame.header.type)")
        }
    }

    private mutating func handleGoAway(_ goAway: GoAway, into step: inout Step) throws {
        guard goAway.isGraceful else {
            throw SeqRecError(.server(goAway.status), "server closed the connection: \(goAway.message)")
        }
        phase = .goingAway
        // Requests not sent yet never reach this server: they fail as not processed, for a retry elsewhere.
        for id in sendQueue {
            if case .queued(_, _, let waiter) = entries.removeValue(forKey: id) {
                step.completions.append(Completion(waiter: waiter, outcome: .failure(Self.goingAwayError)))
            }
        }
        sendQueue.removeAll()
        if sentCount == 0 { finish(Self.goingAwayError, into: &step) }
    }

    private mutating func handleAnswer(_ frame: Frame, now: UInt64, into step: inout Step) throws {
        let id = frame.header.requestID
        switch entries[id] {
        case .sent(_, let waiter):
            step.completions.append(Completion(waiter: waiter, outcome: .frame(frame)))
        case .abandoned:
            break
        case .queued, nil:
            throw SeqRecError(.protocolViolation, "\(frame.header.type) for request \(id), which is not in flight")
        }
        entries[id] = nil
        sentCount -= 1
        if phase == .goingAway {
            if sentCount == 0 { finish(Self.goingAwayError, into: &step) }
        } else {
            pump(now: now, into: &step)
        }
    }

    /// Sends queued requests while the server's in-flight limit allows.
    private mutating func pump(now: UInt64, into step: inout Step) {
        while sentCount < limits.maxInFlightPerConnection, !sendQueue.isEmpty {
            let id = sendQueue.removeFirst()
            guard case .queued(var request, let serverDeadline, let waiter) = entries[id] else { continue }
            var aux: UInt32 = 0
            if let serverDeadline {
                guard serverDeadline > now else {
                    entries[id] = nil
                    step.completions.append(Completion(waiter: waiter, outcome: .failure(SeqRecError(
                        .deadlineExceeded, "request \(id) waited for a free in-flight slot until its deadline",
                        notProcessed: true))))
                    continue
                }
                // The budget left, in µs (at least 1: 0 would mean the server's default).
                aux = UInt32(clamping: max(1, (serverDeadline - now) / 1_000))
            }
            Self.patch(&request.frame, requestID: id, aux: aux)
            step.output.append(contentsOf: request.frame)
            entries[id] = .sent(localDeadline: request.localDeadline, waiter: waiter)
            sentCount += 1
        }
    }

    /// Writes the request id (header bytes 8–11) and aux (12–15), big-endian.
    private static func patch(_ frame: inout [UInt8], requestID: UInt32, aux: UInt32) {
        for index in 0..<4 {
            let shift = UInt32(24 - 8 * index)
            frame[8 + index] = UInt8(truncatingIfNeeded: requestID >> shift)
            frame[12 + index] = UInt8(truncatingIfNeeded: aux >> shift)
        }
    }

    /// Closes the machine with `error`: every waiter fails. Requests never sent are marked not
    /// processed; sent ones keep the error as it is (they may have run).
    private mutating func finish(_ error: SeqRecError, into step: inout Step) {
        if case .closed = phase { return }
        phase = .closed(error)
        step.closeTransport = true
        if let waiter = handshakeWaiter {
            handshakeWaiter = nil
            step.completions.append(Completion(waiter: waiter, outcome: .failure(error)))
        }
        let unsent = SeqRecError(error.kind, error.message, notProcessed: true,
                                 retryAfterMilliseconds: error.retryAfterMilliseconds)
        for (_, entry) in entries {
            switch entry {
            case .queued(_, _, let waiter):
                step.completions.append(Completion(waiter: waiter, outcome: .failure(unsent)))
            case .sent(_, let waiter):
                step.completions.append(Completion(waiter: waiter, outcome: .failure(error)))
            case .abandoned:
                continue
            }
        }
        entries.removeAll()
        sendQueue.removeAll()
        sentCount = 0
        earliestDeadline = .max
    }

    private static var goingAwayError: SeqRecError {
        SeqRecError(.server(.unavailable), "server sent GOAWAY on this connection", notProcessed: true)
    }
}

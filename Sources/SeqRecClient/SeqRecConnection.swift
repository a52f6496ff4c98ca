// One pipelined connection to a SeqRec server: any number of tasks may call it at once; every
// request gets its own id, answers are matched by id in whatever order they arrive, and each
// call has a deadline (sent to the server and enforced locally). A reader thread owns the socket
// until the server closes it or `close()` is called: call `close()` when done.
import Foundation
import SeqRecProtocol
import Synchronization

public final class SeqRecConnection: @unchecked Sendable {
    /// The limits the server announced in HELLO_ACK.
    public let limits: ProtocolLimits
    public let serverID: String

    private struct Pending {
        /// Monotonic nanoseconds after which the caller gets `deadlineExceeded`.
        var deadline: UInt64
        /// Nil once the caller was answered locally (deadline); the id stays reserved until the
        /// server's own answer arrives, so a late answer can never match a newer request.
        var complete: (@Sendable (Result<Frame, SeqRecError>) -> Void)?
    }

    private struct State {
        var pending: [UInt32: Pending] = [:]
        var nextID: UInt32 = 1
        var failure: SeqRecError?
        var goingAway = false
        var earliestDeadline: UInt64 = .max
    }

    private let socket: ClientSocket
    private let state = Mutex(State())
    private let writer = Mutex(false)
    /// The client's deadline trails the server's by this much, so the server's answer (which says
    /// whether the model ran) usually arrives first.
    private static let localDeadlineSlack: UInt64 = 20_000_000
    private static let idlePollMilliseconds: Int32 = 50

    /// Connects, sends the preface and HELLO, and waits for HELLO_ACK.
    public init(host: String = "127.0.0.1", port: UInt16 = 7878, connectTimeout: Duration = .seconds(2),
                authToken: [UInt8] = []) throws(SeqRecError) {
        let timeout = Int32(clamping: Self.microseconds(connectTimeout) / 1_000)
        socket = try ClientSocket(host: host, port: port, timeoutMilliseconds: timeout)
        var hello = ConnectionPreface.bytes
        Hello(authToken: authToken).encodeFrame(requestID: 0, into: &hello)
        try socket.writeAll(hello)
        var decoder = FrameDecoder(role: .client)
        let ack = try Self.awaitHelloAck(socket, &decoder, timeoutMilliseconds: timeout)
        limits = ack.limits
        serverID = ack.serverID
        // The server sends nothing unasked after HELLO_ACK, so a fresh decoder with the announced
        // limits loses no bytes.
        guard decoder.bufferedByteCount == 0 else {
            throw SeqRecError(.protocolViolation, "unexpected bytes after HELLO_ACK")
        }
        decoder = FrameDecoder(role: .client, limits: ack.limits)
        let thread = Thread { [self, decoder] in readLoop(decoder) }
        thread.name = "seqrec-client-reader"
        thread.start()
    }

    private static func awaitHelloAck(_ socket: ClientSocket, _ decoder: inout FrameDecoder, timeoutMilliseconds: Int32)
        throws(SeqRecError) -> HelloAck
    {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 1)
        defer { buffer.deallocate() }
        let deadline = ClientSocket.monotonicNanoseconds() + UInt64(max(0, timeoutMilliseconds)) * 1_000_000
        while true {
            do {
                if let frame = try decoder.next() {
                    switch frame.header.type {
                    case .helloAck: return try frame.decode(HelloAck.self)
                    case .goAway:
                        let goAway = try frame.decode(GoAway.self)
                        throw SeqRecError(.server(goAway.status), "server refused the handshake: \(goAway.message)")
                    default:
                        throw SeqRecError(.protocolViolation, "expected HELLO_ACK, got \(frame.header.type)")
                    }
                }
            } catch let error as ProtocolError {
                throw SeqRecError(.protocolViolation, error.description)
            } catch let error as SeqRecError {
                throw error
            } catch {
                throw SeqRecError(.protocolViolation, "\(error)")
            }
            let now = ClientSocket.monotonicNanoseconds()
            guard now < deadline,
                  try socket.waitFor(Int16(POLLIN), timeoutMilliseconds: Int32((deadline - now) / 1_000_000) + 1) else {
                throw SeqRecError(.connection, "no HELLO_ACK within \(timeoutMilliseconds) ms")
            }
            let count = try socket.read(into: buffer)
            guard count > 0 else { throw SeqRecError(.connection, "server closed the connection during the handshake") }
            decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Whether new requests may be sent (not closed, no GOAWAY received).
    public var isUsable: Bool { state.withLock { $0.failure == nil && !$0.goingAway } }

    /// Requests sent and not yet answered by the server.
    public var inFlightCount: Int { state.withLock { $0.pending.count } }

    /// Closes the connection; calls still waiting fail with a connection error.
    public func close() {
        state.withLock { state in
            if state.failure == nil { state.failure = SeqRecError(.connection, "connection closed by the client") }
        }
        socket.shutdown()
    }

    // MARK: calls

    /// Top-k recommendations for one session. `timeout` nil = the server's default.
    public func recommend(_ request: RecommendRequest, timeout: Duration? = nil) async throws -> RecommendResponse {
        do {
            try request.validate(limits: limits)
        } catch {
            throw SeqRecError(.server(.invalidArgument), "request not sent: \(error)", notProcessed: true)
        }
        let budget = timeout.map { min(Self.microseconds($0), UInt64(limits.maxTimeoutMicroseconds)) }
            ?? UInt64(limits.defaultTimeoutMicroseconds)
        return try await call(request, aux: UInt32(clamping: max(1, budget)), budgetMicroseconds: budget) { [limits] frame in
            try frame.decode(RecommendResponse.self, limits: limits)
        }
    }

    /// The server's health (`service` "" = the whole server, else a model name).
    public func health(service: String = "") async throws -> HealthStatus {
        try await call(HealthRequest(service: service), aux: 0, budgetMicroseconds: UInt64(limits.maxTimeoutMicroseconds)) {
            try $0.decode(HealthResponse.self).status
        }
    }

    /// Descriptions of the loaded models ("" = all).
    public func models(named name: String = "") async throws -> [ModelDescription] {
        try await call(ModelInfoRequest(modelName: name), aux: 0, budgetMicroseconds: UInt64(limits.maxTimeoutMicroseconds)) {
            [limits] frame in try frame.decode(ModelListResponse.self, limits: limits).models
        }
    }

    private func call<Body: FrameBody, Answer: Sendable>(
        _ body: Body, aux: UInt32, budgetMicroseconds: UInt64,
        decode: @escaping @Sendable (Frame) throws -> Answer
    ) async throws -> Answer {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Answer, any Error>) in
            let complete: @Sendable (Result<Frame, SeqRecError>) -> Void = { result in
                continuation.resume(with: Self.answer(result, decode))
            }
            let deadline = ClientSocket.monotonicNanoseconds() &+ budgetMicroseconds &* 1_000 &+ Self.localDeadlineSlack
            let registered = state.withLock { state -> Result<UInt32, SeqRecError> in
                if let failure = state.failure { return .failure(failure) }
                if state.goingAway {
                    return .failure(SeqRecError(.server(.unavailable), "server sent GOAWAY on this connection", notProcessed: true))
                }
                guard state.pending.count < limits.maxInFlightPerConnection else {
                    return .failure(SeqRecError(.server(.resourceExhausted),
                        "\(limits.maxInFlightPerConnection) requests already in flight on this connection (server limit)",
                        notProcessed: true))
                }
                while state.nextID == 0 || state.pending[state.nextID] != nil { state.nextID &+= 1 }
                let id = state.nextID
                state.nextID &+= 1
                state.pending[id] = Pending(deadline: deadline, complete: complete)
                state.earliestDeadline = min(state.earliestDeadline, deadline)
                return .success(id)
            }
            switch registered {
            case .failure(let error):
                continuation.resume(throwing: error)
            case .success(let id):
                let bytes = body.frameBytes(requestID: id, aux: aux)
                do {
                    try writer.withLock { _ throws(SeqRecError) in try socket.writeAll(bytes) }
                } catch {
                    // The reader notices the broken socket and fails every pending call, this one included.
                    socket.shutdown()
                }
            }
        }
    }

    private static func answer<Answer>(_ result: Result<Frame, SeqRecError>, _ decode: (Frame) throws -> Answer)
        -> Result<Answer, any Error>
    {
        switch result {
        case .failure(let error):
            return .failure(error)
        case .success(let frame) where frame.header.type == .error:
            do {
                let body = try frame.decode(ErrorBody.self)
                return .failure(SeqRecError(.server(body.status), body.message,
                                            notProcessed: frame.header.flags.contains(.notProcessed),
                                            retryAfterMilliseconds: frame.header.aux))
            } catch {
                return .failure(SeqRecError(.protocolViolation, "bad ERROR body: \(error)"))
            }
        case .success(let frame):
            do {
                return .success(try decode(frame))
            } catch {
                return .failure(SeqRecError(.protocolViolation, "bad \(frame.header.type) body: \(error)"))
            }
        }
    }

    // MARK: reader thread

    private func readLoop(_ initial: FrameDecoder) {
        var decoder = initial
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1_024, alignment: 1)
        defer { buffer.deallocate() }
        var failure = SeqRecError(.connection, "server closed the connection")
        reading: while true {
            do {
                while let frame = try decoder.next() { try dispatch(frame) }
                let earliest = state.withLock { $0.earliestDeadline }
                let now = ClientSocket.monotonicNanoseconds()
                let wait = earliest <= now ? 0 : min(Self.idlePollMilliseconds, Int32(clamping: (earliest - now) / 1_000_000 + 1))
                if try socket.waitFor(Int16(POLLIN), timeoutMilliseconds: wait) {
                    let count = try socket.read(into: buffer)
                    if count == 0 { break reading }
                    decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                expireDeadlines()
            } catch let error as SeqRecError {
                failure = error
                break reading
            } catch let error as ProtocolError {
                failure = SeqRecError(.protocolViolation, error.description)
                break reading
            } catch {
                failure = SeqRecError(.connection, "\(error)")
                break reading
            }
        }
        failEverything(failure)
    }

    private func dispatch(_ frame: Frame) throws {
        let header = frame.header
        switch header.type {
        case .goAway:
            let goAway = try frame.decode(GoAway.self, limits: limits)
            if goAway.isGraceful {
                state.withLock { $0.goingAway = true }
            } else {
                throw SeqRecError(.server(goAway.status), "server closed the connection: \(goAway.message)")
            }
        case .pong:
            break
        default:
            let pending = state.withLock { $0.pending.removeValue(forKey: header.requestID) }
            pending?.complete?(.success(frame))
        }
    }

    /// Answers calls whose deadline passed and asks the server to drop them (CANCEL).
    private func expireDeadlines() {
        let now = ClientSocket.monotonicNanoseconds()
        var expired: [(UInt32, @Sendable (Result<Frame, SeqRecError>) -> Void)] = []
        state.withLock { state in
            guard state.earliestDeadline <= now else { return }
            var earliest = UInt64.max
            for (id, entry) in state.pending {
                guard let complete = entry.complete else { continue }
                if entry.deadline <= now {
                    expired.append((id, complete))
                    state.pending[id]?.complete = nil
                } else {
                    earliest = min(earliest, entry.deadline)
                }
            }
            state.earliestDeadline = earliest
        }
        for (id, complete) in expired {
            complete(.failure(SeqRecError(.deadlineExceeded, "no answer to request \(id) before its deadline")))
            try? writer.withLock { _ throws(SeqRecError) in try socket.writeAll(Cancel().frameBytes(requestID: id)) }
        }
    }

    private func failEverything(_ error: SeqRecError) {
        let waiting = state.withLock { state -> [@Sendable (Result<Frame, SeqRecError>) -> Void] in
            if state.failure == nil { state.failure = error }
            let waiting = state.pending.values.compactMap(\.complete)
            state.pending.removeAll()
            return waiting
        }
        socket.shutdown()
        for complete in waiting { complete(.failure(error)) }
    }

    private static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000_000)
    }
}

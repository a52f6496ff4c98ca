// The shared heart of one connection: the state machine behind a lock, its transport, and the async
// calls on top. Bytes are handed to the transport inside the lock, so frames leave in the order the
// machine produced them (a CANCEL never overtakes its request); waiters are resumed outside it.
import SeqRecProtocol
import Synchronization

package final class ConnectionCore: Sendable {
    package typealias Waiter = @Sendable (CallOutcome) -> Void
    package typealias Machine = ConnectionMachine<Waiter>

    private let machine: Mutex<Machine>
    package let transport: any ClientTransport
    /// Monotonic nanoseconds.
    package let clock: @Sendable () -> UInt64
    /// The deadline the transport is sleeping toward (`UInt64.max`: none); a new earlier one wakes it.
    private let armedDeadline = Atomic<UInt64>(.max)

    private init(machine: Machine, transport: any ClientTransport, clock: @escaping @Sendable () -> UInt64) {
        self.machine = Mutex(machine)
        self.transport = transport
        self.clock = clock
    }

    /// Starts `transport` and waits for HELLO_ACK (or the failure, or `connectTimeout`).
    /// Cancelling the task closes the transport.
    package static func open(
        transport: any ClientTransport, hello: Hello, connectTimeout: UInt64, clock: @escaping @Sendable () -> UInt64
    ) async throws -> ConnectionCore {
        if Task.isCancelled {
            transport.close()
            throw CancellationError()
        }
        let handshake = HandshakeResult()
        let core = ConnectionCore(
            machine: Machine(hello: hello, handshakeDeadline: clock() &+ connectTimeout, waiter: { handshake.complete($0) }),
            transport: transport, clock: clock)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                handshake.attach(continuation)
                transport.start(core)
            }
        } onCancel: {
            handshake.cancel()
            core.close()
        }
        return core
    }

    // MARK: transport → core

    package func transportConnected() {
        apply(machine.withLock { machine in transmit(machine.connected()) })
    }

    package func transportReceived(_ bytes: UnsafeRawBufferPointer) {
        let now = clock()
        apply(machine.withLock { machine in transmit(machine.receive(bytes, now: now)) })
    }

    /// Called once by the transport when it has stopped.
    package func transportClosed(_ error: SeqRecError) {
        apply(machine.withLock { machine in machine.fail(error) })
    }

    /// Expires what is due; the transport calls it when `nextDeadline` has passed.
    package func tick() {
        let now = clock()
        apply(machine.withLock { machine in transmit(machine.expire(now: now)) })
    }

    /// When the transport should call `tick()` next; it sleeps toward this time.
    package var nextDeadline: UInt64? {
        let deadline = machine.withLock { $0.nextDeadline }
        armedDeadline.store(deadline ?? .max, ordering: .relaxed)
        return deadline
    }

    // MARK: state

    package var limits: ProtocolLimits { machine.withLock { $0.limits } }
    package var serverID: String { machine.withLock { $0.serverID } }
    package var version: UInt16 { machine.withLock { $0.version } }
    package var isUsable: Bool { machine.withLock { $0.isUsable } }
    package var inFlightCount: Int { machine.withLock { $0.inFlightCount } }

    /// Fails every waiting call and closes the transport.
    package func close() {
        apply(machine.withLock { $0.fail(SeqRecError(.connection, "connection closed by the client")) })
    }

    // MARK: calls

    /// Sends `request` and returns the decoded answer. The caller's task cancellation answers the call
    /// with `CancellationError` at once and sends CANCEL for it.
    package func call<Answer: Sendable>(
        _ request: Machine.Request, decode: @escaping @Sendable (Frame) throws -> Answer
    ) async throws -> Answer {
        try Task.checkCancellation()
        let ticket = CallTicket()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Answer, any Error>) in
                let waiter: Waiter = { outcome in continuation.resume(with: Self.answer(outcome, decode)) }
                let now = clock()
                let registered = machine.withLock { machine in
                    let (result, step) = machine.register(request, now: now, waiter: waiter)
                    return (result, transmit(step))
                }
                apply(registered.1)
                switch registered.0 {
                case .failure(let error):
                    continuation.resume(throwing: error)
                case .success(let id):
                    ticket.id.store(id, ordering: .releasing)
                    if request.localDeadline < armedDeadline.load(ordering: .relaxed) { transport.wake() }
                    // Cancelled between the handler's check and the id being known: cancel now.
                    if Task.isCancelled { cancel(id) }
                }
            }
        } onCancel: {
            let id = ticket.id.load(ordering: .acquiring)
            if id != 0 { cancel(id) }
        }
    }

    private func cancel(_ id: UInt32) {
        apply(machine.withLock { machine in transmit(machine.cancel(id)) })
    }

    /// Hands the step's bytes to the transport while the lock is held (keeps wire order).
    private func transmit(_ step: Machine.Step) -> Machine.Step {
        if !step.output.isEmpty { transport.write(step.output) }
        return step
    }

    private func apply(_ step: Machine.Step) {
        if step.closeTransport { transport.close() }
        for completion in step.completions { completion.waiter(completion.outcome) }
    }

    private static func answer<Answer>(_ outcome: CallOutcome, _ decode: (Frame) throws -> Answer)
        -> Result<Answer, any Error>
    {
        switch outcome {
        case .cancelled:
            return .failure(CancellationError())
        case .failure(let error):
            return .failure(error)
        case .frame(let frame) where frame.header.type == .error:
            do {
                let body = try frame.decode(ErrorBody.self)
                return .failure(SeqRecError(.server(body.status), body.message,
                                            notProcessed: frame.header.flags.contains(.notProcessed),
                                            retryAfterMilliseconds: frame.header.aux))
            } catch {
                return .failure(SeqRecError(.protocolViolation, "bad ERROR body: \(error)"))
            }
        case .frame(let frame):
            do {
                return .success(try decode(frame))
            } catch let error as SeqRecError {
                return .failure(error)
            } catch {
                return .failure(SeqRecError(.protocolViolation, "bad \(frame.header.type) body: \(error)"))
            }
        }
    }
}

/// The id of one call, shared with its cancellation handler (0 until registered).
private final class CallTicket: Sendable {
    let id = Atomic<UInt32>(0)
}

/// Joins the machine's handshake completion with the opening task's continuation, whichever comes
/// first (the transport may finish before the continuation is attached).
private final class HandshakeResult: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Void, any Error>?)
        case finished(Result<Void, any Error>)
        case resumed
    }

    private let state = Mutex(State.waiting(nil))

    func attach(_ continuation: CheckedContinuation<Void, any Error>) {
        let result: Result<Void, any Error>? = state.withLock { state in
            switch state {
            case .waiting:
                state = .waiting(continuation)
                return nil
            case .finished(let result):
                state = .resumed
                return result
            case .resumed:
                return nil
            }
        }
        if let result { continuation.resume(with: result) }
    }

    func complete(_ outcome: CallOutcome) {
        switch outcome {
        case .frame: finish(.success(()))
        case .failure(let error): finish(.failure(error))
        case .cancelled: finish(.failure(CancellationError()))
        }
    }

    func cancel() { finish(.failure(CancellationError())) }

    private func finish(_ result: Result<Void, any Error>) {
        let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
            switch state {
            case .waiting(let continuation?):
                state = .resumed
                return continuation
            case .waiting(nil):
                state = .finished(result)
                return nil
            case .finished, .resumed:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

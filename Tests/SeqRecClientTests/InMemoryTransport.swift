// An in-memory transport and a hand-driven clock: the test plays the server, byte by byte, and decides
// when time passes. No sockets, no threads, no sleeps.
import SeqRecProtocol
import Synchronization
@testable import SeqRecClient

/// Monotonic time that moves only when the test says so.
final class ManualClock: Sendable {
    private let value = Atomic<UInt64>(1_000_000_000)
    var now: UInt64 { value.load(ordering: .relaxed) }
    func advance(by duration: Duration) { value.add(SeqRecConnection.nanoseconds(duration), ordering: .relaxed) }
    var function: @Sendable () -> UInt64 { { [self] in now } }
}

final class InMemoryTransport: ClientTransport {
    private struct State {
        var core: ConnectionCore?
        var decoder = FrameDecoder(role: .server, limits: { var limits = ProtocolLimits(); limits.maxFrameLength = 64 << 20; return limits }())
        var sentFrames: [Frame] = []
        var closeCount = 0
        var wakeCount = 0
        var failure: ProtocolError?
    }

    private let state = Mutex(State())
    private let frames: AsyncStream<Frame>
    private let framesContinuation: AsyncStream<Frame>.Continuation
    /// When set, `start` connects and answers HELLO with this HELLO_ACK at once.
    private let autoAccept: HelloAck?

    /// The default HELLO_ACK chooses version 2, what a current server answers a current client.
    init(accepting ack: HelloAck? = HelloAck(version: 2, serverID: "in-memory")) {
        autoAccept = ack
        (frames, framesContinuation) = AsyncStream.makeStream(of: Frame.self)
    }

    // MARK: ClientTransport

    func start(_ core: ConnectionCore) {
        state.withLock { $0.core = core }
        if let autoAccept {
            core.transportConnected()
            deliver(autoAccept.frameBytes(requestID: 0))
        }
    }

    func write(_ bytes: [UInt8]) {
        let decoded: [Frame] = state.withLock { state in
            state.decoder.feed(bytes)
            var frames: [Frame] = []
            do {
                while let frame = try state.decoder.next() {
                    frames.append(Frame(header: frame.header, body: ArraySlice(Array(frame.body))))
                }
            } catch {
                state.failure = error as? ProtocolError
            }
            state.sentFrames += frames
            return frames
        }
        for frame in decoded { framesContinuation.yield(frame) }
    }

    func wake() { state.withLock { $0.wakeCount += 1 } }

    func close() {
        let core: ConnectionCore? = state.withLock { state in
            state.closeCount += 1
            return state.closeCount == 1 ? state.core : nil
        }
        core?.transportClosed(SeqRecError(.connection, "connection closed by the client"))
    }

    // MARK: the test's side

    private var core: ConnectionCore { state.withLock { $0.core! } }

    /// Bytes from the "server".
    func deliver(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { core.transportReceived($0) }
    }

    /// The "server" closes or the network fails.
    func disconnect(_ error: SeqRecError = SeqRecError(.connection, "server closed the connection")) {
        let core: ConnectionCore? = state.withLock { state in
            state.closeCount += 1
            return state.closeCount == 1 ? state.core : nil
        }
        core?.transportClosed(error)
    }

    /// Lets deadlines fire (what the socket transport's thread does when its poll times out).
    func tick() { core.tick() }

    var nextDeadline: UInt64? { core.nextDeadline }

    /// Every frame the client wrote so far (after the preface).
    var sentFrames: [Frame] { state.withLock { $0.sentFrames } }
    var isClosed: Bool { state.withLock { $0.closeCount > 0 } }
    var isStarted: Bool { state.withLock { $0.core != nil } }
    var wakeCount: Int { state.withLock { $0.wakeCount } }
    /// A framing error in what the client wrote (nil = every byte was valid).
    var framingFailure: ProtocolError? { state.withLock { $0.failure } }

    /// The next frame the client writes, in order (waits for it).
    func makeFrameIterator() -> AsyncStream<Frame>.Iterator { frames.makeAsyncIterator() }
}

extension SeqRecConnection {
    /// A connection over `transport` whose handshake the transport answers itself.
    static func inMemory(_ transport: InMemoryTransport, clock: ManualClock) async throws -> SeqRecConnection {
        try await SeqRecConnection(transport: transport, connectTimeout: .seconds(1), authToken: [], clock: clock.function)
    }
}

/// A RECOMMEND_RESPONSE frame answering `id` with the given internal items (scores descending), in
/// the layout of `version` (the in-memory server's HELLO_ACK chooses 2 unless a test says otherwise).
func responseFrame(id: UInt32, items: [UInt32], version: UInt16 = 2) -> [UInt8] {
    RecommendResponse(modelName: "m", modelVersion: 1, items: .internal(items),
                      scores: items.indices.map { Float(items.count - $0) }).frameBytes(requestID: id, version: version)
}

func errorFrame(id: UInt32, _ status: StatusCode, _ message: String, notProcessed: Bool = false, retryAfter: UInt32 = 0) -> [UInt8] {
    ErrorBody(status: status, message: message).frameBytes(requestID: id, aux: retryAfter, flags: notProcessed ? [.notProcessed] : [])
}

func limits(maxInFlight: Int = 128) -> HelloAck {
    var limits = ProtocolLimits()
    limits.maxInFlightPerConnection = maxInFlight
    return HelloAck(version: 2, limits: limits, serverID: "in-memory")
}

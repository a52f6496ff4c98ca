// The connections of a `SeqRecClient` to one server, and that server's health as the client sees it.
// Connections open on first use and are replaced when they fail or receive GOAWAY; opening runs in a
// task of its own, so no lock is held across it and concurrent callers share one attempt.
import Synchronization

final class EndpointPool: Sendable {
    let endpoint: SeqRecClient.Endpoint
    private let settings: SeqRecClient.Configuration
    private let connect: @Sendable (SeqRecClient.Endpoint) async throws -> SeqRecConnection
    private let clock: @Sendable () -> UInt64
    private let state: Mutex<State>

    private enum Slot {
        case empty
        /// A connect task; it installs its own result (`install`), identified by `generation`.
        case connecting(Task<SeqRecConnection, any Error>, generation: UInt64)
        case ready(SeqRecConnection)
    }

    private struct State {
        var slots: [Slot]
        var closed = false
        var generation: UInt64 = 0
        /// Failures (connect failure, lost connection) since the last success.
        var consecutiveFailures = 0
        /// Monotonic time before which the endpoint counts as down (0: up).
        var downUntil: UInt64 = 0
    }

    init(_ endpoint: SeqRecClient.Endpoint, settings: SeqRecClient.Configuration, clock: @escaping @Sendable () -> UInt64,
         connect: @escaping @Sendable (SeqRecClient.Endpoint) async throws -> SeqRecConnection) {
        self.endpoint = endpoint
        self.settings = settings
        self.connect = connect
        self.clock = clock
        state = Mutex(State(slots: Array(repeating: .empty, count: settings.connectionsPerEndpoint)))
    }

    // MARK: health

    /// Not marked down, or its back-off has passed (then one call may probe it).
    var isHealthy: Bool {
        let now = clock()
        return state.withLock { $0.downUntil <= now }
    }

    func recordSuccess() {
        state.withLock { state in
            state.consecutiveFailures = 0
            state.downUntil = 0
        }
    }

    /// Marks the endpoint down for an exponential back-off with jitter (base × 2^(failures−1), capped).
    func recordFailure() {
        let now = clock()
        state.withLock { state in
            state.consecutiveFailures += 1
            let base = SeqRecConnection.nanoseconds(settings.initialBackoff)
            let cap = SeqRecConnection.nanoseconds(settings.maximumBackoff)
            let exponent = min(state.consecutiveFailures - 1, 30)
            let backoff = min(cap, base.multipliedReportingOverflow(by: 1 << UInt64(exponent)).partialValue)
            // Jitter in [½, 1) × back-off, so clients that failed together do not return together.
            let jittered = backoff / 2 + UInt64.random(in: 0...max(1, backoff / 2))
            state.downUntil = now &+ jittered
        }
    }

    // MARK: connections

    /// A usable connection: the open one with the fewest requests in flight. An empty or broken slot
    /// is refilled in the background when every open connection is busy (or none is open).
    func connection() async throws -> SeqRecConnection {
        enum Choice {
            case use(SeqRecConnection)
            case wait(Task<SeqRecConnection, any Error>)
        }
        let choice: Choice = try state.withLock { state throws(SeqRecError) in
            guard !state.closed else { throw SeqRecError(.connection, "client closed", notProcessed: true) }
            var best: SeqRecConnection?
            var fewest = Int.max
            var refill: Int?
            var pending: Task<SeqRecConnection, any Error>?
            for index in state.slots.indices {
                switch state.slots[index] {
                case .ready(let connection) where connection.isUsable:
                    let load = connection.inFlightCount
                    if load < fewest {
                        best = connection
                        fewest = load
                    }
                case .ready, .empty:
                    // A connection after GOAWAY finishes its own calls; the slot just forgets it.
                    state.slots[index] = .empty
                    if refill == nil { refill = index }
                case .connecting(let task, _):
                    if pending == nil { pending = task }
                }
            }
            if let index = refill, pending == nil, best == nil || fewest > 0 {
                state.generation += 1
                let generation = state.generation
                let task = Task { [self] in
                    let result: Result<SeqRecConnection, any Error>
                    do {
                        result = .success(try await connect(endpoint))
                    } catch {
                        result = .failure(error)
                    }
                    return try install(result, slot: index, generation: generation).get()
                }
                state.slots[index] = .connecting(task, generation: generation)
                pending = task
            }
            if let best { return .use(best) }
            guard let pending else {
                throw SeqRecError(.connection, "no connection to \(endpoint) available", notProcessed: true)
            }
            return .wait(pending)
        }
        switch choice {
        case .use(let connection): return connection
        case .wait(let task): return try await task.value
        }
    }

    /// Puts a finished connect's connection into its slot; a connection nobody can use any more
    /// (client closed, slot reused) is closed at once.
    private func install(_ result: Result<SeqRecConnection, any Error>, slot: Int, generation: UInt64)
        -> Result<SeqRecConnection, any Error>
    {
        let kept: Bool = state.withLock { state in
            guard case .connecting(_, let current) = state.slots[slot], current == generation else { return false }
            switch result {
            case .success(let connection) where !state.closed:
                state.slots[slot] = .ready(connection)
                return true
            default:
                state.slots[slot] = .empty
                return false
            }
        }
        if case .success(let connection) = result, !kept {
            connection.close()
            return .failure(SeqRecError(.connection, "client closed", notProcessed: true))
        }
        return result
    }

    /// The open connections (for tests).
    var openConnections: [SeqRecConnection] {
        state.withLock { state in
            state.slots.compactMap { slot in
                if case .ready(let connection) = slot { return connection }
                return nil
            }
        }
    }

    /// Closes every connection; calls in flight fail, connects still running are closed when done.
    func close() {
        let open = openConnections
        state.withLock { state in
            state.closed = true
            state.slots = state.slots.map { _ in .empty }
        }
        for connection in open { connection.close() }
    }
}

// Everything the server knows, as one single-threaded state machine with no I/O and no clock of
// its own: the connections (each a `ConnectionMachine`), the request pool, the per-model queues,
// the drain sequence and the counters. The transport feeds it bytes and events with the time;
// it answers with bytes in each connection's output and `CoreAction`s (close, shut down, watch).
// Tests drive it directly (Tests/SeqRecServerTests/EmbeddedServer.swift); `Server` drives it
// from sockets under one lock.
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol

/// What the transport must do after a core call.
package enum CoreAction: Equatable {
    /// Close the socket now (its connection is gone from the core).
    case close(ConnectionToken)
    /// Stop sending (a fatal GOAWAY is out); keep the socket until `close`.
    case shutdownWrite(ConnectionToken)
    /// Change what the socket is watched for.
    case watch(ConnectionToken, Interest)
    /// Stop accepting and close the listener (drain).
    case closeListener
}

package final class ServerCore {
    /// Where the drain sequence (docs/PROTOCOL.md §10) stands.
    package enum DrainState: Equatable {
        case serving
        /// Health says NOT_SERVING; everything else still works until `until`.
        case delaying(until: UInt64)
        /// GOAWAY sent, listener closed; connections close as they become idle.
        case draining(hardStop: UInt64)
        /// Every connection is gone (graceful) or the grace period ran out (not graceful).
        case finished(graceful: Bool)
    }

    struct Record {
        var machine: ConnectionMachine
        var token: ConnectionToken
        var watching: Interest = .readable
        var listedDirty = false
        /// The last write left bytes behind: wait for the socket to become writable.
        var blockedOnWrite = false
    }

    package let configuration: ServerConfiguration
    package let limits: ProtocolLimits
    /// Every served version by model name, with its routing (Models/ModelSet.swift).
    package internal(set) var models: ModelSet
    package let pool: RequestPool
    package internal(set) var queues: ModelQueues
    package private(set) var drainState = DrainState.serving
    package var statistics = ServerStatistics()
    package private(set) var connectionCount = 0
    /// Mean model-call time of recent batches (nanoseconds), for queue-full retry advice.
    package internal(set) var recentBatchNanoseconds: UInt64 = 0

    private let policy: HandshakePolicy
    private let frameTimeout: UInt64
    private let idleTimeout: UInt64
    private(set) var records: [Record?] = []
    private var generations: [UInt32] = []
    private var freeIndices: [Int] = []
    private var dirty: [ConnectionToken] = []
    private var actions: [CoreAction] = []
    var decodedRequest = RecommendRequest(session: .internal([]))
    /// Operations (docs/OPERATIONS.md, ServerCore+Operations.swift): the metrics slab, counted only
    /// with the server's lock held (one writer at a time); and the completions of JSON requests by
    /// slot. Each version's series is in `models`.
    package var metrics: MetricsWriter?
    /// Per-request log lines (`--log-requests`); nil or off: none.
    package var operations: OperationsRuntime?
    var adminCompletions: [Int: @Sendable (AdminRecommendOutcome) -> Void] = [:]
    /// The jitter factor of each connection's maximum age, in 0.9...1.1 (tests make it constant).
    package var connectionAgeJitter: () -> Double = { Double.random(in: 0.9...1.1) }

    /// Each backend is the version its description names (version 1 for a file given with --model).
    package convenience init(configuration: ServerConfiguration, backends: [any InferenceBackend]) throws {
        try self.init(configuration: configuration, versions: backends.map { LoadedVersion(backend: $0) })
    }

    package init(configuration: ServerConfiguration, versions: [LoadedVersion]) throws {
        try configuration.validate()
        guard !versions.isEmpty else { throw ServerCommandError(message: "a server needs at least one model") }
        self.configuration = configuration
        var limits = ProtocolLimits()
        limits.maxFrameLength = configuration.maxFrameLength
        limits.maxInFlightPerConnection = configuration.maxInflightPerConnection
        limits.maxConnections = configuration.maxConnections
        limits.defaultTimeoutMicroseconds = Int(configuration.defaultTimeoutMicroseconds)
        limits.maxTimeoutMicroseconds = Int(configuration.maxTimeoutMicroseconds)
        limits.maxEmbeddingWidth = max(limits.maxEmbeddingWidth, versions.map { Int($0.info.embeddingWidth) }.max() ?? 0)
        self.limits = limits
        var models = ModelSet(maxNameBytes: limits.maxStringBytes)
        for version in versions {
            do {
                _ = try models.add(version)
            } catch {
                throw ServerCommandError(message: error.message)
            }
        }
        self.models = models
        policy = HandshakePolicy(limits: limits, authToken: configuration.authToken)
        frameTimeout = UInt64(configuration.frameReadTimeoutMilliseconds) * 1_000_000
        idleTimeout = UInt64(configuration.idleTimeoutMilliseconds) * 1_000_000
        pool = RequestPool(capacity: configuration.maxQueue + configuration.workers * configuration.maxBatch,
                           retainedEmbeddingWidth: limits.maxEmbeddingWidth)
        queues = ModelQueues(modelCount: models.slots.count, maxQueue: configuration.maxQueue,
                             maxBatch: configuration.maxBatch, maxDelayMicroseconds: configuration.maxDelayMicroseconds)
    }

    package var isServing: Bool { drainState == .serving }

    /// Moves the pending actions into `list` (cleared first).
    package func takeActions(into list: inout [CoreAction]) {
        list.removeAll(keepingCapacity: true)
        swap(&actions, &list)
    }

    // MARK: connections

    /// A new connection; nil when max-connections are open (close it without an answer, §12).
    package func open(now: UInt64) -> ConnectionToken? {
        guard connectionCount < configuration.maxConnections else { return nil }
        let index: Int
        if let reused = freeIndices.popLast() {
            index = reused
        } else {
            index = records.count
            records.append(nil)
            generations.append(0)
        }
        generations[index] &+= 1
        let token = ConnectionToken(index: UInt32(index), generation: generations[index])
        records[index] = Record(machine: ConnectionMachine(policy: policy, now: now, frameTimeoutNanoseconds: frameTimeout),
                                token: token)
        if configuration.maxConnectionAgeSeconds > 0 {
            let factor = min(1.1, max(0.9, connectionAgeJitter()))
            let age = UInt64(Double(configuration.maxConnectionAgeSeconds) * factor * 1e9)
            records[index]!.machine.maxAgeDeadline = now &+ age
        }
        connectionCount += 1
        return token
    }

    /// Whether `token` names a live connection.
    package func isOpen(_ token: ConnectionToken) -> Bool { index(of: token) != nil }

    /// Whether the transport should keep reading the connection (no copy of its state is made: a copy
    /// would share its buffers and make the next mutation copy them).
    package func wantsInput(_ token: ConnectionToken) -> Bool {
        guard let index = index(of: token) else { return false }
        return records[index]!.machine.wantsInput
    }

    /// A copy of the connection's state, for tests.
    package func machine(_ token: ConnectionToken) -> ConnectionMachine? { index(of: token).map { records[$0]!.machine } }

    private func index(of token: ConnectionToken) -> Int? {
        let index = Int(token.index)
        guard index < records.count, let record = records[index], record.token == token else { return nil }
        return index
    }

    /// Bytes read from the connection's socket.
    package func receive(_ bytes: UnsafeRawBufferPointer, on token: ConnectionToken, now: UInt64) {
        guard let index = index(of: token) else { return }
        let violatedBefore = records[index]!.machine.violation != nil
        records[index]!.machine.feed(bytes)
        while let event = records[index]!.machine.nextEvent(now: now, frameTimeoutNanoseconds: frameTimeout) {
            switch event {
            case .request(let frame): handleRequest(frame, on: index, now: now)
            case .cancel(let id, let slot): cancel(id, slot: slot, on: index)
            }
        }
        if !violatedBefore, let violation = records[index]!.machine.violation {
            metrics?.count(.framingErrors)
            operations?.badFrame(message: violation.description)
        }
        settle(index, now: now)
    }

    /// The peer's end of stream (or a read error: `failed`).
    package func peerFinishedSending(_ token: ConnectionToken, failed: Bool = false, now: UInt64) {
        guard let index = index(of: token) else { return }
        if failed || records[index]!.machine.isClosing {
            close(index)
            return
        }
        records[index]!.machine.peerFinishedSending()
        settle(index, now: now)
    }

    /// Calls `body` with the bytes waiting to be written to the connection.
    package func withPendingOutput<T>(_ token: ConnectionToken, _ body: (UnsafeRawBufferPointer) -> T) -> T? {
        guard let index = index(of: token) else { return nil }
        return records[index]!.machine.output.withPending(body)
    }

    /// The transport wrote `count` bytes (or the socket failed).
    package func wrote(_ count: Int, on token: ConnectionToken, failed: Bool = false, now: UInt64) {
        guard let index = index(of: token) else { return }
        if failed {
            close(index)
            return
        }
        records[index]!.machine.output.consume(count)
        records[index]!.blockedOnWrite = !records[index]!.machine.output.isEmpty
        if records[index]!.machine.output.count > configuration.maxOutputBytes, !records[index]!.machine.isClosing {
            statistics.slowReadersDisconnected += 1
            close(index)  // a reader this slow would make the server buffer without bound
            return
        }
        settle(index, now: now)
    }

    /// Connections with output the transport has not yet been told about; cleared.
    package func takeDirty(into list: inout [ConnectionToken]) {
        list.removeAll(keepingCapacity: true)
        swap(&dirty, &list)
        for token in list { if let index = index(of: token) { records[index]!.listedDirty = false } }
    }

    /// After any change: list for a flush, update what the socket is watched for, shut down or close.
    func settle(_ index: Int, now: UInt64) {
        if records[index]!.machine.shouldClose(now: now) {
            close(index)
            return
        }
        let outputPending = !records[index]!.machine.output.isEmpty
        if outputPending, !records[index]!.listedDirty {
            records[index]!.listedDirty = true
            dirty.append(records[index]!.token)
        }
        if records[index]!.machine.isClosing, !outputPending, !records[index]!.machine.sendingShutDown {
            records[index]!.machine.sendingShutDown = true
            actions.append(.shutdownWrite(records[index]!.token))
        }
        var wanted: Interest = []
        if records[index]!.machine.wantsInput { wanted.insert(.readable) }
        // Output is first written at once (the transport flushes dirty connections); only what the
        // kernel did not take waits for EPOLLOUT.
        if records[index]!.blockedOnWrite, outputPending { wanted.insert(.writable) }
        if wanted != records[index]!.watching {
            records[index]!.watching = wanted
            actions.append(.watch(records[index]!.token, wanted))
        }
        records[index]!.machine.output.shrinkIfEmpty(above: 256 * 1_024, to: 4_096)
    }

    func close(_ index: Int) {
        guard let record = records[index] else { return }
        records[index] = nil
        freeIndices.append(index)
        connectionCount -= 1
        actions.append(.close(record.token))
        // Queued requests nobody can receive are dropped; running ones are released on completion.
        for slot in record.machine.inFlightSlots where queues.withdraw(slot, model: pool[slot].model) {
            models.ended(pool[slot].model)
            pool.release(slot)
        }
    }

    // MARK: time

    /// Timers: frame-read and idle timeouts, the drain sequence. Call at least every `tickInterval`.
    package func tick(now: UInt64) {
        advanceDrain(now: now)
        for index in records.indices {
            guard records[index] != nil else { continue }
            if records[index]!.machine.tick(now: now, idleNanoseconds: idleTimeout,
                                            idleMilliseconds: configuration.idleTimeoutMilliseconds) {
                close(index)
            } else {
                settle(index, now: now)
            }
        }
        if case .draining(let hardStop) = drainState {
            if connectionCount == 0 {
                drainState = .finished(graceful: true)
            } else if now >= hardStop {
                abandonAll()
                drainState = .finished(graceful: false)
            }
        }
    }

    /// How often `tick` must run: the timers are checked at this granularity.
    package var tickIntervalNanoseconds: UInt64 {
        UInt64(min(100, max(1, configuration.frameReadTimeoutMilliseconds / 4))) * 1_000_000
    }

    /// Starts the drain sequence; a second call skips to the hard stop.
    package func requestDrain(now: UInt64) {
        switch drainState {
        case .serving:
            drainState = .delaying(until: now &+ UInt64(configuration.drainDelayMilliseconds) * 1_000_000)
        case .delaying, .draining:
            drainState = .draining(hardStop: now)
        case .finished:
            break
        }
        tick(now: now)
    }

    private func advanceDrain(now: UInt64) {
        guard case .delaying(let until) = drainState, now >= until else { return }
        drainState = .draining(hardStop: now &+ UInt64(configuration.drainGraceMilliseconds) * 1_000_000)
        actions.append(.closeListener)
        for index in records.indices where records[index] != nil {
            records[index]!.machine.goAwayGracefully(.unavailable, "server is shutting down; reconnect for new requests")
        }
    }

    /// The grace period is over: whatever is still in flight is lost; count it and close.
    private func abandonAll() {
        for index in records.indices where records[index] != nil {
            statistics.abandonedAtStop += records[index]!.machine.inFlight.count
            close(index)
        }
        var dropped: [Int] = []
        queues.removeAll(into: &dropped)
        for slot in dropped { models.ended(pool[slot].model) }
    }

    // MARK: helpers for the request handlers

    @discardableResult
    func withMachine<T>(_ index: Int, _ body: (inout ConnectionMachine) -> T) -> T {
        body(&records[index]!.machine)
    }

    func machineInFlight(_ index: Int) -> Int { records[index]!.machine.inFlight.count }

    func machineSlot(_ index: Int, _ requestID: UInt32) -> Int? { records[index]!.machine.inFlight[requestID] }

    func connectionToken(_ index: Int) -> ConnectionToken { records[index]!.token }

    func index(ofToken token: ConnectionToken) -> Int? { index(of: token) }

    package var isFinished: Bool { if case .finished = drainState { true } else { false } }
}

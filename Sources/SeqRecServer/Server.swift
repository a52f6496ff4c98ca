// The SeqRec server: one event-loop thread owns the listener and every connection (non-blocking
// sockets on epoll); inference runs on worker threads fed by the batcher; finished requests come
// back through the completion queue and an eventfd wakeup, and are encoded on the loop.
import SeqRecProtocol
import Synchronization

public final class Server: @unchecked Sendable {
    /// Where the drain sequence (docs/PROTOCOL.md §10) stands.
    enum DrainState: Equatable {
        case serving
        /// Health says NOT_SERVING; everything else still works until `until`.
        case delaying(until: UInt64)
        /// GOAWAY sent, listener closed; connections close as they become idle.
        case draining(hardStop: UInt64)
    }

    static let listenerToken: UInt64 = .max - 1
    private static let readChunk = 64 * 1_024

    package let configuration: ServerConfiguration
    package let backends: [any InferenceBackend]
    package let limits: ProtocolLimits
    package let counters = ServerCounters()
    /// The bound port (the kernel's choice when the configuration says 0).
    public let port: UInt16

    let loop: EventLoop
    let pool: RequestPool
    let batcher: Batcher
    let completions: CompletionQueue
    let modelIndex: [String: Int]
    let drainRequests = Atomic<Int>(0)
    private let stopped = Monitor()
    private var hasStopped = false

    // Event-loop thread only.
    var listenerFD: Int32?
    var connections: [Connection?] = []
    private var generations: [UInt32] = []
    private var freeIndices: [Int] = []
    private(set) var connectionCount = 0
    var drainRequestsSeen = 0
    var drainState = DrainState.serving
    // safe: allocated once in init, freed in deinit, used only by the loop thread.
    private var readBuffer: UnsafeMutableRawBufferPointer
    var finished: [Int] = []
    var decodedRequest = RecommendRequest(session: .internal([]))
    private var flushQueue: [Connection] = []
    var nextTimerScan: UInt64 = 0
    /// Set while accepting is paused after a failed accept (monotonic time to resume).
    var acceptPausedUntil: UInt64?

    /// Model name → backend index. Requests name models, so every name must be distinct and fit in a
    /// protocol string.
    static func indexModels(_ backends: [any InferenceBackend], limits: ProtocolLimits) throws(ServerCommandError)
        -> [String: Int]
    {
        var names: [String: Int] = [:]
        for (index, backend) in backends.enumerated() {
            let name = backend.info.name
            guard name.utf8.count <= limits.maxStringBytes else {
                throw ServerCommandError(message: "model name '\(name.prefix(40))…' is \(name.utf8.count) bytes; "
                    + "names are at most \(limits.maxStringBytes): give it a shorter one with --model NAME=FILE")
            }
            guard names[name] == nil else {
                throw ServerCommandError(message: "two models are named '\(name)'; give them distinct names "
                    + "with --model NAME=FILE")
            }
            names[name] = index
        }
        return names
    }

    /// Binds the listener and prepares the workers' queues; `run()` starts serving.
    package init(configuration: ServerConfiguration, backends: [any InferenceBackend]) throws {
        try configuration.validate()
        precondition(!backends.isEmpty, "a server needs at least one model")
        self.configuration = configuration
        self.backends = backends
        var limits = ProtocolLimits()
        limits.maxFrameLength = configuration.maxFrameLength
        limits.maxInFlightPerConnection = configuration.maxInflightPerConnection
        limits.maxConnections = configuration.maxConnections
        limits.defaultTimeoutMicroseconds = Int(configuration.defaultTimeoutMicroseconds)
        limits.maxTimeoutMicroseconds = Int(configuration.maxTimeoutMicroseconds)
        limits.maxEmbeddingWidth = max(limits.maxEmbeddingWidth, backends.map(\.info.embeddingWidth).max() ?? 0)
        self.limits = limits
        modelIndex = try Self.indexModels(backends, limits: limits)

        loop = try EventLoop()
        let listener = try System.listen(host: configuration.host, port: configuration.port, backlog: 511)
        do {
            port = try System.boundPort(listener)
            try loop.register(listener, token: Self.listenerToken)
        } catch {
            System.close(listener)
            throw error
        }
        listenerFD = listener
        pool = RequestPool(capacity: configuration.maxQueue + configuration.workers * configuration.maxBatch)
        batcher = Batcher(pool: pool, modelCount: backends.count, maxQueue: configuration.maxQueue,
                          maxBatch: configuration.maxBatch, maxDelayMicroseconds: configuration.maxDelayMicroseconds)
        completions = CompletionQueue(wake: { [loop] in loop.wake() })
        readBuffer = .allocate(byteCount: Self.readChunk, alignment: 16)
    }

    deinit {
        if let listenerFD { System.close(listenerFD) }
        readBuffer.deallocate()
    }

    /// Counters since start.
    public var statistics: ServerStatistics { counters.snapshot }

    /// Any thread (the signal handler, a test): starts the drain sequence; a second call skips to
    /// the hard stop.
    public func drain() {
        drainRequests.wrappingAdd(1, ordering: .sequentiallyConsistent)
        loop.wake()
    }

    /// Serves on the calling thread until the drain sequence has finished.
    public func run() throws {
        let threads = InferenceThreads(
            count: configuration.workers, backends: backends, batcher: batcher, pool: pool,
            completions: completions, counters: counters, maxBatch: configuration.maxBatch)
        var graceful = true
        defer {
            batcher.stop()
            // After the grace period nobody waits for a batch still running: the exit stays bounded.
            if graceful { threads.join() }
            stopped.withLock { hasStopped = true }
            stopped.broadcast()
        }
        while true {
            try loop.poll(timeoutMilliseconds: pollTimeout()) { event in handle(event) }
            let now = System.monotonicNanoseconds()
            answerFinishedRequests()
            advanceDrain(now: now)
            if now >= nextTimerScan { enforceTimers(now: now) }
            flushConnections()
            if case .draining(let hardStop) = drainState {
                if connectionCount == 0 { break }
                if now >= hardStop {
                    abandonAll()
                    graceful = false
                    break
                }
            }
        }
    }

    /// Blocks until `run()` has returned.
    package func waitUntilStopped() {
        stopped.withLock {
            while !hasStopped { stopped.wait(until: nil) }
        }
    }

    func pollTimeout() -> Int32 {
        // The timers (frame reads, drain) are checked at this granularity.
        Int32(min(100, max(1, configuration.frameReadTimeoutMilliseconds / 4)))
    }

    // MARK: events

    private func handle(_ event: ReadyEvent) {
        switch event.token {
        case EventLoop.wakeToken:
            return
        case Self.listenerToken:
            acceptConnections()
        default:
            guard let connection = lookup(token: event.token) else { return }
            if event.readable || event.failed { readAvailable(connection) }
            if event.writable, connectionIsOpen(connection) { scheduleFlush(connection) }
        }
    }

    private func acceptConnections() {
        guard let listener = listenerFD else { return }
        // Bounded per round so a connection flood cannot starve the established connections.
        for _ in 0..<64 {
            let accepted: Int32?
            do {
                accepted = try System.accept(listener)
            } catch {
                // Out of descriptors or memory: the level-triggered listener would wake the loop
                // at once again, so it is unwatched for a moment (the timers re-arm it).
                loop.unregister(listener)
                acceptPausedUntil = System.monotonicNanoseconds() &+ 100_000_000
                return
            }
            guard let fd = accepted else { return }
            guard connectionCount < configuration.maxConnections else {
                System.close(fd)
                continue
            }
            open(fd)
        }
    }

    private func open(_ fd: Int32) {
        let index: Int
        if let reused = freeIndices.popLast() {
            index = reused
        } else {
            index = connections.count
            connections.append(nil)
            generations.append(0)
        }
        generations[index] &+= 1
        let token = ConnectionToken(index: UInt32(index), generation: generations[index])
        let connection = Connection(fd: fd, token: token, limits: limits, maxInFlight: configuration.maxInflightPerConnection)
        do {
            try System.setNoDelay(fd)
            try loop.register(fd, token: epollToken(token))
        } catch {
            System.close(fd)
            freeIndices.append(index)
            return
        }
        // A connection that sends nothing at all is timed out like a stalled frame.
        let now = System.monotonicNanoseconds()
        connection.frameDeadline = now &+ frameTimeoutNanoseconds
        connection.lastActivity = now
        connections[index] = connection
        connectionCount += 1
    }

    var frameTimeoutNanoseconds: UInt64 { UInt64(configuration.frameReadTimeoutMilliseconds) * 1_000_000 }

    private func epollToken(_ token: ConnectionToken) -> UInt64 {
        UInt64(token.generation) << 32 | UInt64(token.index)
    }

    private func lookup(token: UInt64) -> Connection? {
        lookup(ConnectionToken(index: UInt32(truncatingIfNeeded: token), generation: UInt32(truncatingIfNeeded: token >> 32)))
    }

    /// The live connection a token names; nil once it was closed (even if its index was reused).
    func lookup(_ token: ConnectionToken) -> Connection? {
        let index = Int(token.index)
        guard index < connections.count, let connection = connections[index],
              connection.token.generation == token.generation else { return nil }
        return connection
    }

    private func connectionIsOpen(_ connection: Connection) -> Bool {
        lookup(connection.token) === connection
    }

    // MARK: reading

    private func readAvailable(_ connection: Connection) {
        // A few reads per round keep one busy client from starving the others (level-triggered).
        for _ in 0..<8 {
            let result: IOResult
            do {
                result = try System.read(connection.fd, into: readBuffer)
            } catch {
                close(connection)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfFile:
                peerFinishedSending(connection)
                return
            case .transferred(let count):
                if connection.phase == .closing { continue }  // discarding until the peer's EOF
                connection.decoder.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
                decodeFrames(connection)
                guard connectionIsOpen(connection), connection.phase != .closing else { return }
                if count < readBuffer.count { return }
            }
        }
    }

    private func decodeFrames(_ connection: Connection) {
        var completedFrames = false
        while true {
            let frame: Frame?
            do {
                frame = try connection.decoder.next()
            } catch {
                failConnection(connection, error)
                return
            }
            guard let frame else { break }
            completedFrames = true
            handleFrame(frame, on: connection)
            guard connectionIsOpen(connection), connection.phase == .open || connection.phase == .goingAway else { return }
        }
        let now = System.monotonicNanoseconds()
        if completedFrames { connection.lastActivity = now }
        if connection.decoder.isInsideFrame {
            if completedFrames || connection.frameDeadline == nil {
                connection.frameDeadline = now &+ frameTimeoutNanoseconds
            }
        } else {
            connection.frameDeadline = nil
        }
    }

    private func peerFinishedSending(_ connection: Connection) {
        if connection.phase == .closing || connection.isIdle {
            close(connection)
            return
        }
        // Half-closed: the peer may still read the answers to what it sent.
        connection.phase = .peerClosed
        connection.frameDeadline = nil
        updateInterest(connection, readable: false)
    }

    // MARK: writing and closing

    func scheduleFlush(_ connection: Connection) {
        guard !connection.flushPending else { return }
        connection.flushPending = true
        flushQueue.append(connection)
    }

    private func flushConnections() {
        // Flushing can close connections but never schedules new flushes, so one pass suffices.
        for connection in flushQueue {
            connection.flushPending = false
            guard connectionIsOpen(connection) else { continue }
            guard connection.flush() else {
                close(connection)
                continue
            }
            let pending = connection.pendingOutputCount
            if pending > configuration.maxOutputBytes, connection.phase != .closing {
                counters.add(\.slowReadersDisconnected)
                close(connection)  // a reader this slow would make the server buffer without bound
                continue
            }
            connection.compactOutput()
            switch connection.phase {
            case .closing where pending == 0:
                System.shutdownWrite(connection.fd)
            case .goingAway where connection.isIdle, .peerClosed where connection.isIdle:
                close(connection)
                continue
            default:
                break
            }
            if (pending > 0) != connection.watchingWritable {
                updateInterest(connection, writable: pending > 0)
            }
        }
        flushQueue.removeAll(keepingCapacity: true)
    }

    private func updateInterest(_ connection: Connection, readable: Bool? = nil, writable: Bool? = nil) {
        let wantsRead = readable ?? (connection.phase != .peerClosed)
        let wantsWrite = writable ?? connection.watchingWritable
        do {
            try loop.modify(connection.fd, token: epollToken(connection.token), readable: wantsRead, writable: wantsWrite)
            connection.watchingWritable = wantsWrite
        } catch {
            close(connection)
        }
    }

    /// A framing violation: GOAWAY with the violation (none for a bad preface), then close once
    /// the GOAWAY is out and the peer has stopped sending.
    func failConnection(_ connection: Connection, _ error: ProtocolError) {
        if case .badPreface = error {
            close(connection)
            return
        }
        sendFatalGoAway(connection, status: error.status, message: error.description)
    }

    func sendFatalGoAway(_ connection: Connection, status: StatusCode, message: String) {
        let body = GoAway(status: status, message: String(message.utf8.prefix(limits.maxMessageBytes)) ?? "")
        connection.write { body.encodeFrame(requestID: 0, aux: connection.lastRequestID, into: &$0) }
        connection.phase = .closing
        // The peer gets a short while to read the GOAWAY before the socket is closed under it.
        connection.frameDeadline = System.monotonicNanoseconds() &+ min(frameTimeoutNanoseconds, 1_000_000_000)
        scheduleFlush(connection)
    }

    func close(_ connection: Connection) {
        guard connectionIsOpen(connection) else { return }
        loop.unregister(connection.fd)
        System.close(connection.fd)
        let index = Int(connection.token.index)
        connections[index] = nil
        freeIndices.append(index)
        connectionCount -= 1
        // Queued requests nobody can receive are dropped; running ones are released on completion.
        for slot in connection.inFlight.values where batcher.withdraw(slot, model: pool[slot].model) {
            pool.release(slot)
        }
        connection.inFlight.removeAll()
    }

    var isServing: Bool { drainState == .serving }
}

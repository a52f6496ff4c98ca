// The server's threads and sockets around the pure `ServerCore`, as leader/followers: of its
// workers + 1 threads, one (the leader) waits on epoll and feeds the core; any other runs due batches.
// A leader that finds a due batch hands the loop to an idle follower and runs the batch itself,
// then writes the answers itself: a request reaching an idle server is read, run and answered on
// one thread, with no wake-up on its path (docs/PROTOCOL.md Appendix B; Benchmarks/RESULTS.md).
// Requests read together, or while every runner is busy, share the next model call. At most
// `workers` batches run at once, so one thread is always free to lead: health checks, CANCEL and
// the drain are answered while models run.
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol
import Synchronization

public final class Server: @unchecked Sendable {
    // safe: every mutable property below is used only with `monitor` held, except `poller.wait`
    // and `events` (the leader's alone: one leader at a time) and `drainRequests` (atomic).
    private static let listenerToken: UInt64 = .max - 1
    private static let wakeToken: UInt64 = .max
    private static let readChunk = 64 * 1_024
    /// Model calls at most this long (recent mean) run without handing the loop over first.
    private static let runToCompletionNanoseconds: UInt64 = 200_000

    package let configuration: ServerConfiguration
    /// The bound port (the kernel's choice when the configuration says 0).
    public let port: UInt16
    /// What loading the repository at start skipped or refused (logged once operations are attached).
    public internal(set) var startupReport = LifecycleReport()

    let monitor = Monitor()
    let core: ServerCore
    private let poller: Poller
    let wakeup: WakeupEvent
    let drainRequests = Atomic<Int>(0)
    /// When a leader last took the loop (liveness, Server+Operations.swift).
    let lastLead = Atomic<UInt64>(0)
    /// Loads, warms and releases model versions off the serving path (Server+Lifecycle.swift).
    let lifecycle = LifecycleThread.publisher()
    let loader = LifecycleThread.loader()
    /// Traffic splits and default versions on disk (nil: no --state-dir); writes are ordered by
    /// `routingWrites` (Server+Lifecycle.swift).
    var routingStore: RoutingStore?
    /// Opens, validates and warms one repository version (path, name, version); tests substitute fakes.
    /// Set before `run()`.
    package var openVersion: @Sendable (String, String, UInt32) throws(VersionLoadError) -> LoadedVersion
    let routingWrites = Monitor()
    /// Workers and versions released while the lock was held, handed to `loader` to be dropped.
    var graveyard: [AnyObject] = []
    private var releasedVersions: [LoadedVersion] = []
    /// Item attributes by model name (ItemCatalogues.swift); set by `load` before `run()`.
    package var catalogues: ItemCatalogues?
    private var drainRequestsSeen = 0
    private var listener: Socket?
    /// Connection sockets by table index, with the token they belong to (an index is reused after a
    /// close, and a close action may still be pending for the previous owner).
    private var sockets: [(token: ConnectionToken, socket: Socket)?] = []
    private var acceptPausedUntil: UInt64?
    private var nextTick: UInt64 = 0
    private var leaderActive = false
    private var idleFollowers = 0
    private var running = 0
    private var stopping = false
    /// One runner per worker: at most `workers` batches run at once, so a thread that starts one always
    /// finds a free runner. Taken last-in first-out, so the same runner (its workspace warm in cache)
    /// serves consecutive requests at light load; a model's state cache is shared by all runners.
    private var idleRunners: [BatchRunner]
    private var events: [ReadyEvent] = []
    private var actions: [CoreAction] = []
    private var dirty: [ConnectionToken] = []
    // safe: allocated once in init, freed in deinit, used only by the leader with the lock held.
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let stopped = Monitor()
    // Guarded by `stopped`.
    private var finishing = false
    private var hasStopped = false

    /// Binds the listener; `run()` starts serving. Each backend is the version its description names.
    package convenience init(configuration: ServerConfiguration, backends: [any InferenceBackend]) throws {
        try self.init(configuration: configuration, versions: backends.map { LoadedVersion(backend: $0) })
    }

    package init(configuration: ServerConfiguration, versions: [LoadedVersion]) throws {
        core = try ServerCore(configuration: configuration, versions: versions)
        self.configuration = configuration
        openVersion = { path, name, version throws(VersionLoadError) in
            try VersionLoader.load(path: path, name: name, version: version, configuration: configuration,
                                   warmWorkers: configuration.workers)
        }
        poller = try Poller(capacity: 256)
        wakeup = try WakeupEvent()
        let listener = try Socket.listen(on: SocketAddress(host: configuration.host, port: configuration.port), backlog: 511)
        port = try listener.localPort()
        try poller.add(listener.descriptor, .readable, token: Self.listenerToken)
        try poller.add(wakeup.descriptor, .readable, token: Self.wakeToken)
        self.listener = listener
        readBuffer = .allocate(byteCount: Self.readChunk, alignment: 16)
        events.reserveCapacity(256)
        graveyard.reserveCapacity(64)
        releasedVersions.reserveCapacity(16)
        idleRunners = (0..<configuration.workers).map { _ in BatchRunner(maxBatch: configuration.maxBatch) }
    }

    /// Every serving version's backend, model by model (MODEL_LIST order).
    package var backends: [any InferenceBackend] { monitor.withLock { core.models.serving.map(\.loaded.backend) } }

    deinit { readBuffer.deallocate() }

    /// Runs `body` on the core under the server's lock (tests and the soak test inspect it).
    package func withCore<T>(_ body: (ServerCore) -> T) -> T { monitor.withLock { body(core) } }

    /// Counters since start.
    public var statistics: ServerStatistics { monitor.withLock { core.statistics } }

    /// Any thread (a signal handler, a test): starts the drain sequence; a second call skips to the
    /// hard stop.
    public func drain() {
        drainRequests.wrappingAdd(1, ordering: .sequentiallyConsistent)
        wakeup.signal()
    }

    /// Serves until the drain sequence has finished, on `workers` + 1 crew threads; the calling thread
    /// only waits, so it returns at the grace limit even while a model call is still running.
    public func run() throws {
        if configuration.repositoryPollSeconds > 0 {
            lifecycle.repeatEvery(seconds: configuration.repositoryPollSeconds) { [self] in _ = reloadRepository(model: nil) }
        }
        let crew = CrewThreads(count: configuration.workers + 1) { [self] in serve() }
        // A separate condition: a signal meant for a follower must never wake this thread instead.
        stopped.withLock {
            while !finishing { stopped.wait(until: nil) }
        }
        let graceful = monitor.withLock { core.drainState == .finished(graceful: true) }
        // After the grace period nobody waits for a batch still running: the exit stays bounded.
        if graceful { crew.join() }
        // Drops released versions; a load still running is not waited for after the grace limit.
        if graceful {
            lifecycle.stop()
            loader.stop()
            catalogues?.stop()
        }
        stopped.withLock { hasStopped = true }
        stopped.broadcast()
    }

    /// Blocks until `run()` has returned.
    package func waitUntilStopped() {
        stopped.withLock {
            while !hasStopped { stopped.wait(until: nil) }
        }
    }

    // MARK: the crew

    /// One thread's life: run due batches, lead when nobody does, otherwise wait.
    private func serve() {
        var batch: [Int] = []
        batch.reserveCapacity(configuration.maxBatch)
        monitor.lock()
        while !stopping {
            let now = MonotonicClock.now()
            // At most `workers` batches run, so of the workers + 1 threads one is always free to lead:
            // an idle follower is woken for it; a thread still starting or waking takes the lead when
            // it gets the lock.
            if running < configuration.workers, let model = core.takeDueBatch(now: now, into: &batch) {
                // Run to completion without waking anyone when nothing else waits and model calls are
                // short: requests arriving meanwhile are read right after and batch together. A long
                // or unknown call, or more work queued, hands the loop to a follower first.
                let recent = core.recentBatchNanoseconds
                let shortCall = recent > 0 && recent <= Self.runToCompletionNanoseconds
                if !leaderActive, idleFollowers > 0, !shortCall || core.queues.count > 0 { monitor.signal() }
                running += 1
                let runner = idleRunners.removeLast()
                // A queued request keeps its version's slot alive, so the slot is occupied here.
                let version = core.models[model]
                let generation = core.models.generation(ofSlot: model) ?? 0
                runner.adoptWarmWorker(model: model, version: version, generation: generation)
                monitor.unlock()
                let report = runner.run(batch, model: model, version: version, generation: generation,
                                        pool: core.pool, now: now)
                let end = MonotonicClock.now()
                monitor.lock()
                idleRunners.append(runner)
                running -= 1
                if report.ran > 0 {
                    core.statistics.batches += 1
                    core.statistics.batchedRequests += report.ran
                    core.statistics.stateCacheLookups += report.stateCacheLookups
                    core.statistics.stateCacheHits += report.stateCacheHits
                }
                core.countBatch(model: model, ran: report.ran, nanoseconds: end &- now,
                                stateCacheLookups: report.stateCacheLookups, stateCacheHits: report.stateCacheHits,
                                scan: report.scan)
                core.complete(batch, model: model, nanoseconds: report.ran > 0 ? end &- now : 0, now: end)
                performActions(now: end)
                disposeReleased()
                continue
            }
            if !leaderActive {
                lead()
                continue
            }
            idleFollowers += 1
            monitor.wait(until: nil)
            idleFollowers -= 1
        }
        monitor.unlock()
    }

    /// Called and returns with the lock held; waits on epoll without it.
    private func lead() {
        leaderActive = true
        lastLead.store(MonotonicClock.now(), ordering: .relaxed)
        let timeout = pollTimeout(now: MonotonicClock.now())
        monitor.unlock()
        events.removeAll(keepingCapacity: true)
        poller.wait(timeoutMilliseconds: timeout) { events.append($0) }
        monitor.lock()
        let now = MonotonicClock.now()
        for event in events { handle(event, now: now) }
        let requested = drainRequests.load(ordering: .sequentiallyConsistent)
        while drainRequestsSeen < requested {
            drainRequestsSeen += 1
            core.requestDrain(now: now)
        }
        if now >= nextTick {
            nextTick = now &+ core.tickIntervalNanoseconds
            resumeAcceptingIfDue(now: now)
            core.tick(now: now)
        }
        performActions(now: now)
        leaderActive = false
        if core.isFinished {
            stopping = true
            monitor.broadcast()
            stopped.withLock { finishing = true }
            stopped.broadcast()
        }
    }

    private func pollTimeout(now: UInt64) -> Int32 {
        var until = nextTick
        if let due = core.nextDueTime, running < configuration.workers { until = min(until, due) }
        guard until > now else { return 0 }
        return Int32(min(100, (until - now + 999_999) / 1_000_000))
    }

    // MARK: events

    private func handle(_ event: ReadyEvent, now: UInt64) {
        switch event.token {
        case Self.wakeToken:
            wakeup.reset()
        case Self.listenerToken:
            acceptConnections(now: now)
        default:
            let token = ConnectionToken(index: UInt32(truncatingIfNeeded: event.token),
                                        generation: UInt32(truncatingIfNeeded: event.token >> 32))
            guard core.isOpen(token) else { return }
            if event.readable || event.failed { readAvailable(token, now: now) }
            if event.writable { flush(token, now: now) }
        }
    }

    private func acceptConnections(now: UInt64) {
        guard let listener else { return }
        // Bounded per round so a connection flood cannot starve the established connections.
        for _ in 0..<64 {
            let accepted: Socket?
            do {
                accepted = try listener.accept()
            } catch {
                // Out of descriptors or memory: the level-triggered listener would wake the loop at
                // once again, so it is unwatched for a moment (the timers re-arm it).
                poller.remove(listener.descriptor)
                acceptPausedUntil = now &+ 100_000_000
                return
            }
            guard let socket = accepted else { return }
            guard let token = core.open(now: now) else {
                socket.close()  // over max-connections: closed without an answer (§12)
                continue
            }
            do {
                try socket.setNoDelay()
                try poller.add(socket.descriptor, .readable, token: epollToken(token))
            } catch {
                core.peerFinishedSending(token, failed: true, now: now)
                continue
            }
            let index = Int(token.index)
            if index >= sockets.count { sockets.append(contentsOf: repeatElement(nil, count: index + 1 - sockets.count)) }
            if let stale = sockets[index] { release(stale.socket) }
            sockets[index] = (token, socket)
        }
    }

    private func resumeAcceptingIfDue(now: UInt64) {
        guard let resume = acceptPausedUntil, now >= resume, let listener else { return }
        acceptPausedUntil = nil
        do {
            try poller.add(listener.descriptor, .readable, token: Self.listenerToken)
        } catch {
            acceptPausedUntil = now &+ 100_000_000
        }
    }

    /// The socket of a live connection (nil once its close was carried out).
    private func socket(_ token: ConnectionToken) -> Socket? {
        let index = Int(token.index)
        guard index < sockets.count, let entry = sockets[index], entry.token == token else { return nil }
        return entry.socket
    }

    private func release(_ socket: Socket) {
        poller.remove(socket.descriptor)
        socket.close()
    }

    private func epollToken(_ token: ConnectionToken) -> UInt64 { UInt64(token.generation) << 32 | UInt64(token.index) }

    private func readAvailable(_ token: ConnectionToken, now: UInt64) {
        guard let socket = socket(token) else { return }
        // A few reads per round keep one busy client from starving the others (level-triggered).
        for _ in 0..<8 {
            let result: IOResult
            do {
                result = try socket.read(into: readBuffer)
            } catch {
                core.peerFinishedSending(token, failed: true, now: now)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfFile:
                core.peerFinishedSending(token, now: now)
                return
            case .transferred(let count):
                core.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]), on: token, now: now)
                guard core.wantsInput(token), count == readBuffer.count else { return }
            }
        }
    }

    // MARK: output and actions

    /// Writes every connection with new output and carries out what the core asked for.
    private func performActions(now: UInt64) {
        while true {
            core.takeDirty(into: &dirty)
            for token in dirty { flush(token, now: now) }
            core.takeActions(into: &actions)
            if actions.isEmpty && dirty.isEmpty { return }
            for action in actions { apply(action) }
        }
    }

    private func flush(_ token: ConnectionToken, now: UInt64) {
        guard let socket = socket(token) else { return }
        while true {
            let result: Result<IOResult, SystemError>? = core.withPendingOutput(token) { pending in
                guard !pending.isEmpty else { return .success(.transferred(0)) }
                return Result { () throws(SystemError) in try socket.write(from: pending) }
            }
            switch result {
            case nil:
                return
            case .failure:
                core.wrote(0, on: token, failed: true, now: now)
                return
            case .success(.transferred(let count)):
                core.wrote(count, on: token, now: now)
                if count == 0 { return }
            case .success(.wouldBlock), .success(.endOfFile):
                core.wrote(0, on: token, now: now)
                return
            }
        }
    }

    private func apply(_ action: CoreAction) {
        switch action {
        case .close(let token):
            guard let socket = socket(token) else { return }
            release(socket)
            sockets[Int(token.index)] = nil
        case .shutdownWrite(let token):
            socket(token)?.shutdown(.write)
        case .watch(let token, let interest):
            guard let socket = socket(token) else { return }
            do {
                try poller.modify(socket.descriptor, interest, token: epollToken(token))
            } catch {
                core.peerFinishedSending(token, failed: true, now: MonotonicClock.now())
            }
        case .closeListener:
            if let listener {
                poller.remove(listener.descriptor)
                listener.close()
            }
            listener = nil
            acceptPausedUntil = nil
        }
    }

    /// With the lock held: hands versions whose last request ended, and every runner's workers for
    /// them, to the loader thread, which drops them (munmap and free off the serving path). Cheap
    /// when nothing was released: one comparison per runner.
    func disposeReleased() {
        core.models.takeReleased(into: &releasedVersions)
        if !releasedVersions.isEmpty { core.metrics?.count(.modelVersionsReleased, releasedVersions.count) }
        for runner in idleRunners { runner.dropReleasedWorkers(core.models, into: &graveyard) }
        guard !releasedVersions.isEmpty || !graveyard.isEmpty else { return }
        for version in releasedVersions { graveyard.append(version) }
        releasedVersions.removeAll(keepingCapacity: true)
        var dropped: [AnyObject] = []
        swap(&dropped, &graveyard)
        graveyard.reserveCapacity(64)
        loader.submit { withExtendedLifetime(dropped) {} }
    }

    /// The one line printed when the server accepts connections.
    public var readyLine: String {
        let models = backends.map { "\($0.info.name) v\($0.info.version) (\($0.info.family), \($0.info.itemCount) items)" }
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "seqrec serve: ready on \(host):\(port); models: \(models.joined(separator: ", ")); "
            + "workers \(configuration.workers), max batch \(configuration.maxBatch), "
            + "max delay \(configuration.maxDelayMicroseconds) us"
    }
}

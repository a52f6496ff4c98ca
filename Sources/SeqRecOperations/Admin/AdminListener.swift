// The admin port's listener (docs/OPERATIONS.md §3): its own thread with its own epoll set and
// non-blocking sockets, so nothing an HTTP client does (slowloris, floods, huge scrapes) can stall
// the binary protocol's event loop. Per-connection receive deadline and idle timeout; answers that
// finish on other threads (recommend) come back through an inbox and an eventfd.
import Foundation
import SeqRecPosix
import Synchronization

public struct AdminListenerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    /// 0 = a free port of the kernel's choice.
    public var port: UInt16 = 7879
    public var limits = HTTPLimits()
    /// A request must arrive completely within this time of its first byte (slowloris), else 408.
    public var receiveTimeoutMilliseconds = 10_000
    /// A connection with nothing pending is closed after this long.
    public var idleTimeoutMilliseconds = 60_000
    /// Unsent answer bytes that do not drain within this time close the connection (slow reader).
    public var writeTimeoutMilliseconds = 10_000
    /// Open admin connections; further ones are closed at once.
    public var maxConnections = 64

    public init() {}
}

public final class AdminListener: @unchecked Sendable {
    private static let listenerToken: UInt64 = .max
    private static let wakeToken: UInt64 = .max - 1

    public let configuration: AdminListenerConfiguration
    /// The bound port.
    public let port: UInt16
    private let router: AdminRouter
    private let metrics: MetricsWriter
    private let onBadRequest: @Sendable (HTTPStatus, String) -> Void
    private let wakeup: WakeupEvent
    private let inbox = Mutex<[(token: UInt64, sequence: UInt64, response: HTTPResponse)]>([])
    private let stopRequested = Atomic<Bool>(false)
    private let openCount = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    // Admin thread only (after `start`).
    private let poller: Poller
    private let listener: Socket
    private var connections: [UInt64: AdminConnection] = [:]
    private var nextToken: UInt64 = 1

    /// Binds the listener; `start()` begins serving. `onBadRequest` is told about every request
    /// refused by the HTTP layer (the caller rate-limits its log lines).
    public init(configuration: AdminListenerConfiguration, router: AdminRouter, metrics: MetricsWriter,
                onBadRequest: @escaping @Sendable (HTTPStatus, String) -> Void = { _, _ in }) throws {
        self.configuration = configuration
        self.router = router
        self.metrics = metrics
        self.onBadRequest = onBadRequest
        listener = try Socket.listen(on: try SocketAddress(host: configuration.host, port: configuration.port), backlog: 64)
        port = try listener.localPort()
        wakeup = try WakeupEvent()
        poller = try Poller(capacity: 64)
        try poller.add(listener.descriptor, .readable, token: Self.listenerToken)
        try poller.add(wakeup.descriptor, .readable, token: Self.wakeToken)
    }

    /// Open admin connections now (for `seqrec_admin_connections_open`).
    public var openConnections: Int { openCount.load(ordering: .relaxed) }

    public func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "seqrec-admin"
        self.thread = thread
        thread.start()
    }

    /// Stops serving and closes every admin connection; returns when the thread has ended.
    public func stop() {
        guard thread != nil, !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        wakeup.signal()
        finished.wait()
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopRequested.load(ordering: .relaxed) {
            poller.wait(timeoutMilliseconds: 50) { event in
                switch event.token {
                case Self.listenerToken: acceptConnections()
                case Self.wakeToken: wakeup.reset()
                default:
                    guard let connection = connections[event.token] else { return }
                    if event.readable || event.failed { read(connection, buffer: &buffer) }
                    if event.writable { flush(connection) }
                }
            }
            deliverAnswers()
            enforceDeadlines(now: MonotonicClock.now())
        }
        for connection in connections.values { close(connection) }
        listener.close()
    }

    private func acceptConnections() {
        for _ in 0..<16 {
            let accepted: Socket?
            do { accepted = try listener.accept() } catch { return }
            guard let socket = accepted else { return }
            metrics.count(.adminConnectionsAccepted)
            guard connections.count < configuration.maxConnections else {
                socket.close()
                continue
            }
            let token = nextToken
            nextToken += 1
            let connection = AdminConnection(socket: socket, token: token, limits: configuration.limits, now: MonotonicClock.now())
            do {
                try poller.add(socket.descriptor, .readable, token: token)
            } catch {
                socket.close()
                continue
            }
            connections[token] = connection
            openCount.store(connections.count, ordering: .relaxed)
        }
    }

    private func read(_ connection: AdminConnection, buffer: inout [UInt8]) {
        guard connection.state.wantsInput else { return }
        let result: IOResult
        do {
            result = try buffer.withUnsafeMutableBytes { raw throws(SystemError) in try connection.socket.read(into: raw) }
        } catch {
            close(connection)
            return
        }
        let now = MonotonicClock.now()
        switch result {
        case .wouldBlock:
            return
        case .endOfFile:
            connection.state.peerFinished()
        case .transferred(let count):
            let wasInside = connection.state.isInsideRequest
            dispatch(connection, connection.state.receive(buffer[0..<count]))
            if connection.state.isInsideRequest, !wasInside || connection.requestStarted == nil {
                connection.requestStarted = now
            }
        }
        connection.lastActivity = now
        afterProgress(connection)
    }

    private func dispatch(_ connection: AdminConnection, _ requests: [HTTPConnection.Dispatch]) {
        let token = connection.token
        for item in requests {
            router.handle(item.request) { [self] response in
                inbox.withLock { $0.append((token, item.sequence, response)) }
                wakeup.signal()
            }
        }
        deliverAnswers()
    }

    private func deliverAnswers() {
        let answers = inbox.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        for answer in answers {
            metrics.countAdminResponse(answer.response.status)
            guard let connection = connections[answer.token] else { continue }
            connection.state.respond(to: answer.sequence, with: answer.response)
            // Answers free pipelining room: parse requests already buffered.
            dispatch(connection, connection.state.resume())
            afterProgress(connection)
        }
    }

    /// Writes what is ready, reports refused requests, and updates the epoll interest.
    private func afterProgress(_ connection: AdminConnection) {
        if let failure = connection.state.failure, !connection.failureReported {
            connection.failureReported = true
            metrics.countAdminResponse(failure.status)
            onBadRequest(failure.status, failure.message)
        }
        if !connection.state.isInsideRequest { connection.requestStarted = nil }
        flush(connection)
    }

    private func flush(_ connection: AdminConnection) {
        guard connections[connection.token] != nil else { return }
        while !connection.state.output.isEmpty {
            let result: IOResult
            do {
                result = try connection.state.output.withUnsafeBytes { raw throws(SystemError) in try connection.socket.write(from: raw) }
            } catch {
                close(connection)
                return
            }
            guard case .transferred(let count) = result, count > 0 else { break }
            connection.state.consumeOutput(count)
            connection.lastActivity = MonotonicClock.now()
        }
        if connection.state.isFinished {
            connection.socket.shutdown(.write)
            close(connection)
            return
        }
        var interest: Interest = []
        if connection.state.wantsInput { interest.insert(.readable) }
        if !connection.state.output.isEmpty { interest.insert(.writable) }
        if interest != connection.interest {
            do {
                try poller.modify(connection.socket.descriptor, interest, token: connection.token)
                connection.interest = interest
            } catch {
                close(connection)
            }
        }
    }

    private func enforceDeadlines(now: UInt64) {
        let receive = UInt64(configuration.receiveTimeoutMilliseconds) * 1_000_000
        let idle = UInt64(configuration.idleTimeoutMilliseconds) * 1_000_000
        let write = UInt64(configuration.writeTimeoutMilliseconds) * 1_000_000
        for connection in Array(connections.values) {
            if let started = connection.requestStarted, now &- started >= receive {
                connection.state.timedOut()
                connection.requestStarted = nil
                metrics.countAdminResponse(.requestTimeout)
                onBadRequest(.requestTimeout, "a request did not arrive within \(configuration.receiveTimeoutMilliseconds) ms")
                flush(connection)
            } else if !connection.state.output.isEmpty, now &- connection.lastActivity >= write {
                close(connection)  // a reader that takes nothing for this long is gone or hostile
            } else if connection.state.unansweredCount == 0, connection.state.output.isEmpty,
                      connection.requestStarted == nil, now &- connection.lastActivity >= idle {
                close(connection)
            }
        }
    }

    private func close(_ connection: AdminConnection) {
        guard connections.removeValue(forKey: connection.token) != nil else { return }
        poller.remove(connection.socket.descriptor)
        connection.socket.close()
        openCount.store(connections.count, ordering: .relaxed)
    }
}

/// One admin connection's socket, codec state and timers (admin thread only).
private final class AdminConnection {
    let socket: Socket
    let token: UInt64
    var state: HTTPConnection
    var interest: Interest = .readable
    /// When the request now arriving sent its first byte.
    var requestStarted: UInt64?
    var lastActivity: UInt64
    var failureReported = false

    init(socket: Socket, token: UInt64, limits: HTTPLimits, now: UInt64) {
        self.socket = socket
        self.token = token
        state = HTTPConnection(limits: limits)
        lastActivity = now
    }
}

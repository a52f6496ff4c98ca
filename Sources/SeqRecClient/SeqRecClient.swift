// The usual entry point for applications: pooled, pipelined connections to one or more replicas of a
// SeqRec server, with session affinity (rendezvous hashing of a session key) and failover of what is
// safe to retry (every SeqRec call is idempotent), bounded by a retry budget.
import SeqRecProtocol
import Synchronization

public final class SeqRecClient: Sendable {
    /// One server (replica) address: an IPv4 or IPv6 literal, or "localhost", and a port.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: UInt16

        public init(host: String = "127.0.0.1", port: UInt16 = 7878) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct Configuration: Sendable {
        /// Connections kept to each endpoint (requests are pipelined on each).
        public var connectionsPerEndpoint = 2
        /// Limit for connecting plus the handshake.
        public var connectTimeout: Duration = .seconds(2)
        public var authToken: [UInt8] = []
        /// Attempts per call, the first included.
        public var maxAttempts = 3
        /// How many retries the client may add to its calls (default: ~10 % plus a reserve of 10).
        public var retryBudget = RetryBudget()
        /// An endpoint whose connection failed is avoided for this long, doubling per consecutive
        /// failure up to `maximumBackoff` (with jitter).
        public var initialBackoff: Duration = .milliseconds(100)
        public var maximumBackoff: Duration = .seconds(5)

        public init() {}
    }

    public let endpoints: [Endpoint]
    public let configuration: Configuration
    private let pools: [EndpointPool]
    private let retries: RetryAccount
    private let clock: @Sendable () -> UInt64
    /// Round-robin start for calls without a session key.
    private let rotation = Atomic<UInt>(0)

    /// A client for one server.
    public convenience init(host: String = "127.0.0.1", port: UInt16 = 7878, connections: Int = 2,
                            maxAttempts: Int = 3, connectTimeout: Duration = .seconds(2), authToken: [UInt8] = [])
        throws(SeqRecError)
    {
        var configuration = Configuration()
        configuration.connectionsPerEndpoint = connections
        configuration.maxAttempts = maxAttempts
        configuration.connectTimeout = connectTimeout
        configuration.authToken = authToken
        try self.init(endpoints: [Endpoint(host: host, port: port)], configuration: configuration)
    }

    /// A client for several replicas of one service. Nothing connects until the first call.
    public convenience init(endpoints: [Endpoint], configuration: Configuration = Configuration()) throws(SeqRecError) {
        for endpoint in endpoints { _ = try SocketTransport.address(host: endpoint.host, port: endpoint.port) }
        try self.init(endpoints: endpoints, configuration: configuration, clock: SocketTransport.monotonicNanoseconds) {
            endpoint in
            try await SeqRecConnection(host: endpoint.host, port: endpoint.port,
                                       connectTimeout: configuration.connectTimeout, authToken: configuration.authToken)
        }
    }

    /// A client whose connections come from `connect` (tests use in-memory ones).
    package init(endpoints: [Endpoint], configuration: Configuration, clock: @escaping @Sendable () -> UInt64,
                 connect: @escaping @Sendable (Endpoint) async throws -> SeqRecConnection) throws(SeqRecError) {
        guard !endpoints.isEmpty else { throw SeqRecError(.invalidRequest, "a client needs at least one endpoint") }
        guard Set(endpoints).count == endpoints.count else {
            throw SeqRecError(.invalidRequest, "endpoints must be distinct, got \(endpoints)")
        }
        guard configuration.connectionsPerEndpoint >= 1 else {
            throw SeqRecError(.invalidRequest, "connectionsPerEndpoint must be at least 1, got \(configuration.connectionsPerEndpoint)")
        }
        guard configuration.maxAttempts >= 1 else {
            throw SeqRecError(.invalidRequest, "maxAttempts counts the first attempt and must be at least 1, got \(configuration.maxAttempts)")
        }
        guard configuration.connectTimeout > .zero, configuration.initialBackoff >= .zero,
              configuration.maximumBackoff >= configuration.initialBackoff else {
            throw SeqRecError(.invalidRequest, "connectTimeout must be positive and 0 ≤ initialBackoff ≤ maximumBackoff")
        }
        self.endpoints = endpoints
        self.configuration = configuration
        self.clock = clock
        retries = RetryAccount(configuration.retryBudget)
        pools = endpoints.map { EndpointPool($0, settings: configuration, clock: clock, connect: connect) }
    }

    deinit { close() }

    // MARK: calls

    /// Top-k recommendations. Calls with the same `sessionKey` go to the same replica while it is
    /// healthy (its state cache can then resume the session); without a key calls are spread.
    /// The key (≤ 64 UTF-8 bytes) is also sent as the request's SESSION_KEY, so the server routes A/B
    /// splits by it; a key set in `request.sessionKey` is used the same way when `sessionKey` is nil.
    /// `timeout` bounds the whole call, retries included (nil = the server's default per attempt).
    public func recommend(_ request: RecommendRequest, sessionKey: String? = nil, timeout: Duration? = nil)
        async throws -> RecommendResponse
    {
        var request = request
        if let sessionKey { request.sessionKey = Array(sessionKey.utf8) }
        let key = sessionKey ?? (request.sessionKey.isEmpty ? nil : String(decoding: request.sessionKey, as: UTF8.self))
        return try await perform(key: key, timeout: timeout) { [request] connection, remaining in
            try await connection.recommend(request, timeout: remaining)
        }
    }

    /// The health of one replica (`service` "" = the whole server, else a model name).
    public func health(service: String = "", timeout: Duration? = nil) async throws -> HealthStatus {
        try await perform(key: nil, timeout: timeout) { connection, remaining in
            try await connection.health(service: service, timeout: remaining)
        }
    }

    /// Descriptions of the models one replica serves ("" = all).
    public func models(named name: String = "", timeout: Duration? = nil) async throws -> [ModelDescription] {
        try await perform(key: nil, timeout: timeout) { connection, remaining in
            try await connection.models(named: name, timeout: remaining)
        }
    }

    /// Closes every connection; calls in flight fail.
    public func close() {
        for pool in pools { pool.close() }
    }

    /// Which endpoints are currently considered up (not in a failure back-off), in `endpoints` order.
    public var healthyEndpoints: [Endpoint] { pools.filter(\.isHealthy).map(\.endpoint) }

    /// The I/O threads of the open connections (for tests that watch them end).
    package var connectionThreads: [(name: String, id: Int32)] { pools.flatMap(\.openConnections).compactMap(\.ioThread) }

    // MARK: failover

    private func perform<Answer: Sendable>(
        key: String?, timeout: Duration?, _ call: (SeqRecConnection, Duration?) async throws -> Answer
    ) async throws -> Answer {
        if let timeout, timeout <= .zero {
            throw SeqRecError(.invalidRequest, "timeout must be positive, got \(timeout)", notProcessed: true)
        }
        let deadline = timeout.map { clock() &+ SeqRecConnection.nanoseconds($0) }
        let order = candidates(for: key)
        retries.deposit()
        var attempt = 1
        var position = 0
        // Refusals by a connection that received GOAWAY between being picked and being used: the
        // request went nowhere, so it goes again to the same replica on a new connection (a
        // maximum-age GOAWAY must not move the session) without using up an attempt; a few at most.
        var wentAway = 0
        while true {
            let pool = order[position % order.count]
            var used: SeqRecConnection?
            do {
                let connection = try await pool.connection()
                used = connection
                let answer = try await call(connection, try remaining(until: deadline))
                pool.recordSuccess()
                return answer
            } catch let error as SeqRecError {
                let rule = Self.retryRule(for: error)
                if rule == .endpointFailed { pool.recordFailure() }
                guard rule != .never else { throw error }
                if rule == .notProcessed, let used, !used.isUsable, wentAway < Self.maxWentAwayRetries,
                   deadline.map({ clock() < $0 }) ?? true, retries.withdraw() {
                    wentAway += 1
                    continue
                }
                guard attempt < configuration.maxAttempts, deadline.map({ clock() < $0 }) ?? true, retries.withdraw() else {
                    throw error
                }
                position += 1
                // After every endpoint was tried once, wait as the server advised (at least 1 ms per attempt).
                if attempt % order.count == 0 {
                    var pause = Duration.milliseconds(max(Int(error.retryAfterMilliseconds), attempt))
                    if let left = try remaining(until: deadline) { pause = min(pause, left) }
                    try await Task.sleep(for: pause)
                }
                attempt += 1
            }
        }
    }

    /// Retries on the same replica after its connection went away under a call (see `perform`).
    static let maxWentAwayRetries = 3

    enum RetryRule {
        /// The error is the answer (the request is wrong, the server processed it, time is up).
        case never
        /// Safe to retry elsewhere; the endpoint is fine (NOT_PROCESSED: overload, draining, GOAWAY).
        case notProcessed
        /// Safe to retry elsewhere; the endpoint goes into back-off (connect failure, lost connection).
        case endpointFailed
    }

    /// Every SeqRec call is idempotent, so a request lost with its connection may run again.
    static func retryRule(for error: SeqRecError) -> RetryRule {
        switch error.kind {
        case .invalidRequest, .deadlineExceeded: .never
        case .connection, .protocolViolation: .endpointFailed
        case .server: error.notProcessed ? .notProcessed : .never
        }
    }

    /// The time left before `deadline`, nil without one; throws once it has passed.
    private func remaining(until deadline: UInt64?) throws(SeqRecError) -> Duration? {
        guard let deadline else { return nil }
        let now = clock()
        guard deadline > now else {
            throw SeqRecError(.deadlineExceeded, "the call's timeout passed before an attempt could start")
        }
        return .nanoseconds(Int64(clamping: deadline - now))
    }

    /// Endpoint pools in the order to try them: by rendezvous weight for a session key, else
    /// round-robin; healthy ones first, those in back-off only as a last resort.
    private func candidates(for key: String?) -> [EndpointPool] {
        let ordered: [EndpointPool]
        if let key {
            ordered = Rendezvous.order(key: key, endpoints: endpoints.map(\.description)).map { pools[$0] }
        } else {
            let start = Int(rotation.add(1, ordering: .relaxed).oldValue % UInt(pools.count))
            ordered = Array(pools[start...] + pools[..<start])
        }
        let healthy = ordered.filter(\.isHealthy)
        return healthy.count == ordered.count ? ordered : healthy + ordered.filter { !$0.isHealthy }
    }
}

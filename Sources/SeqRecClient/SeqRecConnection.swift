// One pipelined connection to a SeqRec server. Any number of tasks may call it at once: every request
// gets its own id, answers are matched by id in whatever order they arrive, requests beyond the
// server's in-flight limit wait their turn, and each call has a deadline (sent to the server and
// enforced locally). Nothing blocks a task: connecting, the handshake and reading happen on the
// connection's own I/O thread, which ends when the connection does (`close()`, or the last reference
// going away).
import SeqRecProtocol

public final class SeqRecConnection: Sendable {
    /// The limits the server announced in HELLO_ACK; requests beyond them fail with `.invalidRequest`.
    public let limits: ProtocolLimits
    /// The server's self-description from HELLO_ACK (informational).
    public let serverID: String
    /// The protocol version negotiated in HELLO (docs/PROTOCOL.md §3): 2 with a current server, 1 with
    /// a server that speaks only version 1 (then request options other than the session key fail).
    public let protocolVersion: UInt16
    private let core: ConnectionCore

    /// The client's deadline trails the server's by this much, so the server's answer (which says
    /// whether the model ran) usually arrives first.
    static let localDeadlineSlack: UInt64 = 20_000_000

    /// Connects, sends the preface and HELLO, and waits for HELLO_ACK, all within `connectTimeout`.
    /// `host` is an IPv4 or IPv6 address literal, or "localhost".
    public convenience init(host: String = "127.0.0.1", port: UInt16 = 7878, connectTimeout: Duration = .seconds(2),
                            authToken: [UInt8] = []) async throws {
        let transport = try SocketTransport(host: host, port: port, connectTimeout: connectTimeout)
        try await self.init(transport: transport, connectTimeout: connectTimeout, authToken: authToken,
                            clock: SocketTransport.monotonicNanoseconds)
    }

    /// A connection over any transport (tests use an in-memory one).
    /// `maxVersion` below 2 makes it behave as a version 1 client (tests).
    package init(transport: any ClientTransport, connectTimeout: Duration, authToken: [UInt8],
                 clock: @escaping @Sendable () -> UInt64, maxVersion: UInt16 = ProtocolVersion.maximum) async throws {
        guard authToken.count <= ProtocolLimits.maxAuthTokenBytes else {
            transport.close()
            throw SeqRecError(.invalidRequest, "auth token has \(authToken.count) bytes, at most \(ProtocolLimits.maxAuthTokenBytes) allowed")
        }
        guard connectTimeout > .zero else {
            transport.close()
            throw SeqRecError(.invalidRequest, "connectTimeout must be positive, got \(connectTimeout)")
        }
        core = try await ConnectionCore.open(
            transport: transport, hello: Hello(maxVersion: maxVersion, authToken: authToken),
            connectTimeout: Self.nanoseconds(connectTimeout), clock: clock)
        limits = core.limits
        serverID = core.serverID
        protocolVersion = core.version
    }

    deinit { core.close() }

    /// Whether new requests are accepted (not closed, no GOAWAY received).
    public var isUsable: Bool { core.isUsable }

    /// Requests sent or waiting to be sent, not yet answered.
    public var inFlightCount: Int { core.inFlightCount }

    /// The name and kernel id of the connection's I/O thread (nil for other transports).
    package var ioThread: (name: String, id: Int32)? {
        (core.transport as? SocketTransport).map { ($0.threadName, $0.threadID.load(ordering: .acquiring)) }
    }

    /// Closes the connection; calls still waiting fail with a `.connection` error.
    public func close() { core.close() }

    // MARK: calls

    /// Top-k recommendations for one session. `timeout` is the whole budget of the call (nil = the
    /// server's default, capped at its maximum). The request's version 2 options (filters, diversity,
    /// fallback, explanations) need a version 2 connection: on a version 1 connection such a request
    /// fails with `.invalidRequest` instead of being answered without them; the session key only
    /// steers routing and is dropped there (docs/PROTOCOL.md §3).
    public func recommend(_ request: RecommendRequest, timeout: Duration? = nil) async throws -> RecommendResponse {
        var request = request
        let version = protocolVersion
        if version < 2 { request.sessionKey = [] }
        do {
            try request.validate(limits: limits, version: version)
        } catch {
            throw SeqRecError(.invalidRequest, error.description, notProcessed: true)
        }
        let budget = try serverBudget(timeout)
        let frame = request.frameBytes(requestID: 0, version: version)
        try checkFrameLength(frame)
        let limits = limits
        return try await core.call(
            .init(frame: frame, serverBudget: budget, localDeadline: core.clock() &+ budget &+ Self.localDeadlineSlack)
        ) { frame in try frame.decode(RecommendResponse.self, limits: limits, version: version) }
    }

    /// The server's health (`service` "" = the whole server, else a model name).
    public func health(service: String = "", timeout: Duration? = nil) async throws -> HealthStatus {
        try checkString(service, field: "service")
        return try await core.call(
            .init(frame: HealthRequest(service: service).frameBytes(requestID: 0), serverBudget: nil,
                  localDeadline: core.clock() &+ (try serverBudget(timeout)))
        ) { frame in try frame.decode(HealthResponse.self).status }
    }

    /// Descriptions of the loaded models ("" = all).
    public func models(named name: String = "", timeout: Duration? = nil) async throws -> [ModelDescription] {
        try checkString(name, field: "model_name")
        let limits = limits
        return try await core.call(
            .init(frame: ModelInfoRequest(modelName: name).frameBytes(requestID: 0), serverBudget: nil,
                  localDeadline: core.clock() &+ (try serverBudget(timeout)))
        ) { frame in try frame.decode(ModelListResponse.self, limits: limits).models }
    }

    // MARK: validation

    /// The call's budget in nanoseconds: `timeout` capped at the server's maximum, or its default.
    private func serverBudget(_ timeout: Duration?) throws(SeqRecError) -> UInt64 {
        let maximum = UInt64(limits.maxTimeoutMicroseconds) * 1_000
        guard let timeout else { return min(UInt64(limits.defaultTimeoutMicroseconds) * 1_000, maximum) }
        guard timeout > .zero else {
            throw SeqRecError(.invalidRequest, "timeout must be positive, got \(timeout)", notProcessed: true)
        }
        return min(Self.nanoseconds(timeout), maximum)
    }

    private func checkString(_ value: String, field: String) throws(SeqRecError) {
        let length = value.utf8.count
        guard length <= limits.maxStringBytes else {
            throw SeqRecError(.invalidRequest, "\(field) has \(length) bytes, the server allows \(limits.maxStringBytes)",
                              notProcessed: true)
        }
    }

    private func checkFrameLength(_ frame: [UInt8]) throws(SeqRecError) {
        guard frame.count - 4 <= limits.maxFrameLength else {
            throw SeqRecError(.invalidRequest,
                              "request frame of \(frame.count) bytes exceeds the server's max_frame_length \(limits.maxFrameLength)",
                              notProcessed: true)
        }
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}

// The operations surface as the server sees it: one object made at start-up that owns the metrics
// registry, the log, the systemd notifier and the admin listener, and turns the server's life
// events into log lines and notifications (docs/OPERATIONS.md §7, §9). The server calls a handful
// of methods; everything else about operations lives in this target.
import SeqRecPosix
import SeqRecProtocol
import Synchronization

public final class OperationsRuntime: Sendable {
    public let options: OperationsOptions
    public let log: OperationsLog
    public let registry: MetricsRegistry
    public let build: BuildInfo
    private let notifier: ServiceNotifier
    private let badHTTPLimiter = LogRateLimiter()
    private let badFrameLimiter = LogRateLimiter()
    private let requestOrdinal = Atomic<UInt64>(0)
    private let admin = Mutex<AdminListener?>(nil)

    public init(options: OperationsOptions, environment: [String: String], build: BuildInfo,
                registry: MetricsRegistry = MetricsRegistry(), log: OperationsLog? = nil) {
        self.options = options
        self.build = build
        self.registry = registry
        self.log = log ?? OperationsLog(format: options.logFormat)
        notifier = ServiceNotifier(environment: environment)
    }

    // MARK: admin port

    /// Binds and starts the admin listener unless `--admin-port off`; returns its port. Warns when
    /// the port is reachable off the host without a token.
    @discardableResult
    public func startAdmin(services: any AdminServices, token: [UInt8]?,
                           configure: (inout AdminListenerConfiguration) -> Void = { _ in }) throws -> UInt16? {
        guard let port = options.adminPort else { return nil }
        if options.isExposedWithoutToken(tokenConfigured: token != nil) {
            log.log(.warning, "config_warning", [("message", .string(
                "the admin port listens on \(options.adminHost) without a token: anyone who can reach it may call "
                + "/v1/...; set --auth-token-file or bind 127.0.0.1"))])
        }
        var configuration = AdminListenerConfiguration()
        configuration.host = options.adminHost
        configuration.port = port
        configure(&configuration)
        let router = AdminRouter(services: services, registry: registry, build: build,
                                 authorization: AdminAuthorization(token: token))
        let listener = try AdminListener(configuration: configuration, router: router,
                                         metrics: registry.makeWriter(name: "admin")) { [self] status, message in
            badHTTP(status: status, message: message)
        }
        listener.start()
        admin.withLock { $0 = listener }
        return listener.port
    }

    /// Stops the admin listener (at exit, after the drain).
    public func stopAdmin() {
        let listener = admin.withLock { listener -> AdminListener? in
            defer { listener = nil }
            return listener
        }
        listener?.stop()
    }

    public var adminOpenConnections: Int { admin.withLock { $0?.openConnections ?? 0 } }

    // MARK: life events

    public func started(port: UInt16, adminPort: UInt16?, workers: Int, kernels: String) {
        log.log(.info, "start", [
            ("version", .string(build.version)), ("port", .int(Int(port))),
            ("admin_port", adminPort.map { .int(Int($0)) } ?? .string("off")),
            ("workers", .int(workers)), ("kernels", .string(kernels)),
        ])
    }

    public func modelLoaded(_ model: ModelMetrics) {
        log.log(.info, "model_loaded", [
            ("model", .string(model.labels.model)), ("version", .int(Int(model.labels.version))),
            ("family", .string(model.labels.family)), ("items", .int(model.itemCount)),
            ("load_s", .double(model.loadSeconds)), ("table_bytes", .int(Int(clamping: model.tableBytes))),
        ])
    }

    /// Logs `ready` and tells systemd READY=1.
    public func ready(port: UInt16, adminPort: UInt16?, models: [String]) {
        log.log(.info, "ready", [
            ("port", .int(Int(port))), ("admin_port", adminPort.map { .int(Int($0)) } ?? .string("off")),
            ("models", .string(models.joined(separator: ","))),
        ])
        notify("READY=1")
    }

    /// Logs `drain` and tells systemd STOPPING=1.
    public func draining(signal: Int32, delayMilliseconds: Int, graceMilliseconds: Int) {
        log.log(.warning, "drain", [
            ("signal", .int(Int(signal))), ("delay_ms", .int(delayMilliseconds)), ("grace_ms", .int(graceMilliseconds)),
        ])
        notify("STOPPING=1")
    }

    public func stopped(_ fields: [(String, LogValue)]) {
        log.log(.info, "stop", fields)
    }

    public func configError(_ message: String) {
        log.log(.error, "config_error", [("message", .string(message))])
    }

    // MARK: bad clients and requests

    /// A request the admin port's HTTP layer refused (rate-limited).
    public func badHTTP(status: HTTPStatus, message: String) {
        guard let suppressed = badHTTPLimiter.admit(now: MonotonicClock.now()) else { return }
        log.log(.warning, "bad_http", [("status", .int(status.rawValue)), ("message", .string(message)),
                                        ("suppressed", .int(suppressed))])
    }

    /// A binary-protocol connection closed for a framing violation (rate-limited).
    public func badFrame(message: String) {
        guard let suppressed = badFrameLimiter.admit(now: MonotonicClock.now()) else { return }
        log.log(.warning, "bad_frame", [("message", .string(message)), ("suppressed", .int(suppressed))])
    }

    /// Whether a finished request gets a line, by `--log-requests`; cheap when off.
    @inline(__always)
    public var logsRequests: Bool { options.logRequests != .off }

    /// One finished recommend request (only scalar facts: never its session or ids).
    public func requestFinished(requestID: UInt64, transport: String, model: String, version: UInt32,
                                status: StatusCode, durationNanoseconds: UInt64) {
        guard logsRequests else { return }
        let ordinal = requestOrdinal.wrappingAdd(1, ordering: .relaxed).oldValue
        guard options.logRequests.shouldLog(ordinal: ordinal, failed: status != .ok) else { return }
        log.log(status == .ok ? .info : .warning, "request", [
            ("request_id", .int(Int(truncatingIfNeeded: requestID))), ("transport", .string(transport)),
            ("model", .string(model)), ("version", .int(Int(version))), ("status", .string(status.name)),
            ("duration_s", .double(Double(durationNanoseconds) / 1e9)),
        ])
    }

    private func notify(_ state: String) {
        do {
            try notifier.notify(state)
        } catch {
            log.log(.warning, "config_warning", [("message", .string("sd_notify \(state): \(error)"))])
        }
    }
}

// The admin API (docs/OPERATIONS.md §6): probes, metrics, and the JSON model endpoints, mapped
// from requests to answers. Pure apart from the services it calls, so every route is tested in
// memory; the listener owns the sockets.
import SeqRecProtocol

public final class AdminRouter: Sendable {
    private let services: any AdminServices
    /// The model lifecycle's endpoints (nil: they answer UNIMPLEMENTED).
    private let lifecycle: (any LifecycleServices)?
    private let registry: MetricsRegistry
    private let build: BuildInfo
    private let authorization: AdminAuthorization
    private static let jsonType = "application/json"

    public init(services: any AdminServices, registry: MetricsRegistry, build: BuildInfo, authorization: AdminAuthorization) {
        self.services = services
        lifecycle = services as? any LifecycleServices
        self.registry = registry
        self.build = build
        self.authorization = authorization
    }

    /// Answers `request`; `respond` is called exactly once, at once or (recommend) from another thread.
    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let path = request.path
        switch path {
        case "/livez":
            guard allow(request, ["GET", "HEAD"], respond) else { return }
            respond(probe(services.liveness(), okText: "live"))
        case "/readyz":
            guard allow(request, ["GET", "HEAD"], respond) else { return }
            respond(probe(services.readiness(), okText: "ready"))
        case "/metrics":
            guard allow(request, ["GET", "HEAD"], respond) else { return }
            let text = OperationsMetrics.render(
                snapshot: registry.snapshot(), gauges: services.gauges(), models: services.modelMetrics(),
                catalogues: services.itemAttributes()?.catalogueMetrics() ?? [], build: build, process: ProcessMetrics.current())
            respond(HTTPResponse(status: .ok, contentType: PrometheusText.contentType, body: text))
        default:
            routeAPI(request, path: path, respond: respond)
        }
    }

    private func routeAPI(_ request: HTTPRequest, path: Substring, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let collection = segments.dropFirst().first
        guard segments.count >= 2, segments.first == "v1", collection == "models" || collection == "repository" else {
            respond(Self.error(.notFound, "no endpoint \(path.prefix(100)); see docs/OPERATIONS.md §6"))
            return
        }
        guard authorization.permits(authorizationHeader: request.header("authorization")) else {
            var response = Self.error(.unauthenticated, "this endpoint needs 'Authorization: Bearer <token>' (--auth-token-file)")
            response.headers.append(("WWW-Authenticate", "Bearer"))
            respond(response)
            return
        }
        let rest = Array(segments.dropFirst(2))
        if collection == "repository" {
            guard rest == ["reload"] else {
                respond(Self.error(.notFound, "no endpoint \(path.prefix(100)); see docs/OPERATIONS.md §11.6"))
                return
            }
            guard allow(request, ["POST"], respond, json: true) else { return }
            reload(model: nil, respond: respond)
            return
        }
        if collection == "models", rest.count >= 2, rest[1] == "items" {   // item attributes (ItemRoutes.swift)
            ItemRoutes.handle(request, rest: rest, services: services.itemAttributes(), respond: respond)
            return
        }
        switch rest.count {
        case 0:
            guard allow(request, ["GET", "HEAD"], respond, json: true) else { return }
            respond(HTTPResponse(status: .ok, contentType: Self.jsonType, body: RecommendJSON.renderModels(services.models())))
        case 1, 2:
            guard let name = PercentDecoding.decode(rest[0]), !name.isEmpty else {
                respond(Self.error(.invalidArgument, "the model name in the path is empty or badly percent-encoded"))
                return
            }
            if rest.count == 1 {
                guard allow(request, ["GET", "HEAD"], respond, json: true) else { return }
                guard let model = services.models().first(where: { $0.name == name }) else {
                    respond(Self.error(.notFound, "no model named '\(name.prefix(100))'; GET /v1/models lists them"))
                    return
                }
                respond(HTTPResponse(status: .ok, contentType: Self.jsonType, body: RecommendJSON.renderModel(model) + "\n"))
            } else {
                modelAction(request, model: name, action: rest[1], path: path, respond: respond)
            }
        default:
            respond(Self.error(.notFound, "no endpoint \(path.prefix(100)); see docs/OPERATIONS.md §6"))
        }
    }

    /// POST/GET/PUT /v1/models/{name}/{action}. New per-model endpoints are one more case here.
    private func modelAction(_ request: HTTPRequest, model: String, action: Substring, path: Substring,
                             respond: @escaping @Sendable (HTTPResponse) -> Void) {
        switch action {
        case "recommend":
            guard allow(request, ["POST"], respond, json: true) else { return }
            recommend(request, model: model, respond: respond)
        case "reload":
            guard allow(request, ["POST"], respond, json: true) else { return }
            reload(model: model, respond: respond)
        case "traffic":
            guard allow(request, ["GET", "HEAD", "PUT"], respond, json: true) else { return }
            guard let lifecycle = lifecycleServices(respond) else { return }
            if request.method == "PUT" {
                let update: TrafficUpdate
                do {
                    update = try LifecycleJSON.trafficUpdate(from: request.body)
                } catch {
                    respond(Self.error(.invalidArgument, error.description))
                    return
                }
                respond(Self.traffic(lifecycle.setTraffic(model: model, update)))
            } else {
                respond(Self.traffic(lifecycle.traffic(model: model)))
            }
        case "rollback":
            guard allow(request, ["POST"], respond, json: true) else { return }
            guard let lifecycle = lifecycleServices(respond) else { return }
            respond(Self.traffic(lifecycle.rollback(model: model)))
        default:
            respond(Self.error(.notFound, "no endpoint \(path.prefix(100)); see docs/OPERATIONS.md §6"))
        }
    }

    private func lifecycleServices(_ respond: (HTTPResponse) -> Void) -> (any LifecycleServices)? {
        guard let lifecycle else {
            respond(Self.error(.unimplemented, "this server has no model lifecycle endpoints"))
            return nil
        }
        return lifecycle
    }

    private func reload(model: String?, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let lifecycle = lifecycleServices(respond) else { return }
        lifecycle.reload(model: model) { outcome in
            switch outcome {
            case .success(let report):
                respond(HTTPResponse(status: .ok, contentType: Self.jsonType, body: LifecycleJSON.render(report)))
            case .failure(let failure):
                respond(Self.error(failure.code, failure.message))
            }
        }
    }

    private static func traffic(_ outcome: Result<TrafficState, LifecycleFailure>) -> HTTPResponse {
        switch outcome {
        case .success(let state): HTTPResponse(status: .ok, contentType: jsonType, body: LifecycleJSON.render(state))
        case .failure(let failure): error(failure.code, failure.message)
        }
    }

    private func recommend(_ request: HTTPRequest, model: String, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        if let type = request.header("content-type"),
           type.split(separator: ";").first.map({ $0.trimmingSpaces.lowercased() }) != Self.jsonType {
            respond(Self.error(.invalidArgument, "the body must be application/json", status: .unsupportedMediaType))
            return
        }
        let parsed: (request: RecommendRequest, timeoutMicroseconds: UInt32)
        do {
            parsed = try RecommendJSON.request(from: request.body, model: model, limits: services.protocolLimits)
        } catch {
            respond(Self.error(.invalidArgument, error.description))
            return
        }
        services.recommend(parsed.request, timeoutMicroseconds: parsed.timeoutMicroseconds) { outcome in
            switch outcome {
            case .answered(let response, let titles, let becauseTitles):
                respond(HTTPResponse(status: .ok, contentType: Self.jsonType,
                                     body: RecommendJSON.render(response, titles: titles, becauseTitles: becauseTitles)))
            case .failed(let code, let message, let retryAfter):
                var response = Self.error(code, message)
                if let retryAfter, code == .resourceExhausted || code == .unavailable {
                    // Retry-After is in whole seconds; round up so a client never retries too early.
                    response.headers.append(("Retry-After", String(max(1, (Int(retryAfter) + 999) / 1_000))))
                }
                respond(response)
            }
        }
    }

    private func probe(_ state: Readiness, okText: String) -> HTTPResponse {
        state.ready ? .text(.ok, okText) : .text(.serviceUnavailable, state.reason.isEmpty ? "not \(okText)" : state.reason)
    }

    /// Answers 405 with `Allow` when the method is not one of `methods`.
    private func allow(_ request: HTTPRequest, _ methods: [String], _ respond: (HTTPResponse) -> Void, json: Bool = false) -> Bool {
        if methods.contains(request.method) { return true }
        let message = "\(request.method.prefix(20)) is not allowed here; use \(methods.joined(separator: " or "))"
        var response = json ? Self.error(.unimplemented, message, status: .methodNotAllowed) : .text(.methodNotAllowed, message)
        response.headers.append(("Allow", methods.joined(separator: ", ")))
        respond(response)
        return false
    }

    /// The HTTP status of a protocol status (docs/OPERATIONS.md §6.4).
    public static func httpStatus(of code: StatusCode) -> HTTPStatus {
        switch code {
        case .ok: .ok
        case .invalidArgument, .outOfRange, .failedPrecondition: .badRequest
        case .notFound: .notFound
        case .resourceExhausted: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .deadlineExceeded: .gatewayTimeout
        case .unauthenticated, .permissionDenied: .unauthorized
        case .unimplemented: .notImplemented
        case .cancelled, .unknown, .alreadyExists, .aborted, .internal, .dataLoss: .internalServerError
        }
    }

    static func error(_ code: StatusCode, _ message: String, status: HTTPStatus? = nil) -> HTTPResponse {
        HTTPResponse(status: status ?? httpStatus(of: code), contentType: jsonType, body: RecommendJSON.renderError(code, message))
    }
}

/// Strict %XX decoding of one path segment; nil for a bad escape or invalid UTF-8.
enum PercentDecoding {
    static func decode(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 55
        default: nil
        }
    }
}

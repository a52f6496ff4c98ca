// The seam between the admin port and the server: everything the admin API needs from the
// server, as one protocol the server implements (tests use fakes). Every method is called on the
// admin thread and must not block on the binary protocol's event loop.
import SeqRecProtocol

/// How a recommend submitted through the admin port ended.
public enum AdminRecommendOutcome: Sendable, Equatable {
    /// The answer, and optionally a display title per item and per explained contributor.
    case answered(RecommendResponse, titles: [String?]?, becauseTitles: [[String?]]? = nil)
    /// A protocol status other than OK; `retryAfterMilliseconds` for RESOURCE_EXHAUSTED/UNAVAILABLE.
    case failed(StatusCode, message: String, retryAfterMilliseconds: UInt32?)
}

/// Whether the server takes traffic, and why not.
public struct Readiness: Sendable, Equatable {
    public var ready: Bool
    /// Why not ready (e.g. "draining", "loading model m"); empty when ready.
    public var reason: String

    public init(ready: Bool, reason: String = "") {
        self.ready = ready
        self.reason = reason
    }
}

public protocol AdminServices: AnyObject, Sendable {
    /// The serving loops make progress (not wedged); never depends on models or downstream state.
    func liveness() -> Readiness
    /// Every model loaded and warm, and not draining.
    func readiness() -> Readiness
    /// What MODEL_LIST answers.
    func models() -> [ModelDescription]
    /// The limits the binary protocol applies to the same request.
    var protocolLimits: ProtocolLimits { get }
    /// Submits `request` through the same batcher as binary requests; `completion` is called exactly
    /// once, on any thread.
    func recommend(_ request: RecommendRequest, timeoutMicroseconds: UInt32,
                   completion: @escaping @Sendable (AdminRecommendOutcome) -> Void)
    /// Gauges for /metrics.
    func gauges() -> ServerGauges
    /// Loaded model versions for /metrics.
    func modelMetrics() -> [ModelMetrics]
    /// The item-attribute endpoints' services (ItemRoutes.swift; default nil: none).
    func itemAttributes() -> (any ItemAttributeServices)?
}

/// The model lifecycle (docs/OPERATIONS.md §11). Servers without a model repository (and test fakes)
/// keep the defaults, which answer UNIMPLEMENTED.
public protocol LifecycleServices: AnyObject, Sendable {
    /// Rescans the repository (`model` nil: every model), loads and warms what the version policies
    /// want off the serving path, then switches atomically; `completion` runs once, when done.
    func reload(model: String?, completion: @escaping @Sendable (Result<LifecycleReport, LifecycleFailure>) -> Void)
    /// A model's routing.
    func traffic(model: String) -> Result<TrafficState, LifecycleFailure>
    /// Replaces a model's split (and pinned default), durably when a state directory is set.
    func setTraffic(model: String, _ update: TrafficUpdate) -> Result<TrafficState, LifecycleFailure>
    /// Restores the routing before the last change.
    func rollback(model: String) -> Result<TrafficState, LifecycleFailure>
}

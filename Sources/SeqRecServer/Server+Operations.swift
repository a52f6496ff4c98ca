// The server behind the admin port (docs/OPERATIONS.md): `attach` gives the core its metrics slab
// and series, and returns the `AdminServices` the admin listener calls from its own thread. Each
// call takes the server's lock briefly, never waits for a batch, and wakes the crew for new work.
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol

extension Server {
    /// Registers every model version's metrics series and starts counting; call before `run()`.
    /// Versions loaded later register theirs when they are published.
    package func attach(_ runtime: OperationsRuntime) throws -> any AdminServices {
        let writer = runtime.registry.makeWriter(name: "server")
        try monitor.withLock {
            for (slot, loaded) in core.models.serving {
                let info = loaded.info
                core.models.setMetricsSeries(
                    try runtime.registry.series(model: info.name, version: info.version, family: info.family), ofSlot: slot)
            }
            core.metrics = writer
            core.operations = runtime
        }
        return ServerAdminServices(self, runtime: runtime)
    }

    /// What /metrics says about each loaded model version.
    package var modelMetrics: [ModelMetrics] {
        monitor.withLock { core.models.serving.map { Self.metrics(of: $0.loaded) } }
    }

    static func metrics(of loaded: LoadedVersion) -> ModelMetrics {
        let info = loaded.info
        return ModelMetrics(
            labels: SeriesLabels(model: info.name, version: info.version, family: info.family),
            loadSeconds: loaded.loadSeconds,
            // The f32 item table the catalogue scan streams: items × width × 4 bytes.
            tableBytes: UInt64(info.itemCount) * UInt64(info.embeddingWidth) * 4,
            itemCount: Int(info.itemCount),
            stateCache: loaded.backend.stateCacheUsage.map { usage in
                StateCacheMetrics(budgetBytes: UInt64(usage.budgetBytes), liveBytes: UInt64(max(0, usage.liveBytes)),
                                  entries: UInt64(max(0, usage.entries)), evictions: UInt64(usage.evictions),
                                  expirations: UInt64(usage.expirations))
            },
            scanTable: loaded.backend.scanTable)
    }
}

final class ServerAdminServices: AdminServices, @unchecked Sendable {
    // safe to share: `server` is thread-safe (its state is behind its lock or atomic); `runtime` is Sendable.
    private let server: Server
    private let runtime: OperationsRuntime
    /// A leader takes the loop at least every 100 ms unless the process is wedged.
    private static let wedgedAfterNanoseconds: UInt64 = 5_000_000_000

    init(_ server: Server, runtime: OperationsRuntime) {
        self.server = server
        self.runtime = runtime
    }

    func liveness() -> Readiness {
        let last = server.lastLead.load(ordering: .relaxed)
        let now = MonotonicClock.now()
        guard last == 0 || now &- last < Self.wedgedAfterNanoseconds else {
            return Readiness(ready: false, reason: "the serving loop has not run for \((now &- last) / 1_000_000) ms")
        }
        return Readiness(ready: true)
    }

    func readiness() -> Readiness {
        // The drain request counts at once, before the leader has seen it: 503 precedes GOAWAY.
        if server.drainRequests.load(ordering: .sequentiallyConsistent) > 0 {
            return Readiness(ready: false, reason: "draining")
        }
        if server.lastLead.load(ordering: .relaxed) == 0 { return Readiness(ready: false, reason: "starting") }
        let serving = server.monitor.withLock { server.core.isServing }
        return serving ? Readiness(ready: true) : Readiness(ready: false, reason: "draining")
    }

    func models() -> [ModelDescription] { server.monitor.withLock { server.core.models.descriptions() } }

    var protocolLimits: ProtocolLimits { server.monitor.withLock { server.core.limits } }

    func recommend(_ request: RecommendRequest, timeoutMicroseconds: UInt32,
                   completion: @escaping @Sendable (AdminRecommendOutcome) -> Void) {
        server.monitor.withLock {
            server.core.acceptAdmin(request, timeoutMicroseconds: timeoutMicroseconds, now: MonotonicClock.now(),
                                    completion: completion)
            // A follower may run the batch now; else the leader sees it when epoll returns.
            server.monitor.signal()
        }
        server.wakeup.signal()
    }

    func gauges() -> ServerGauges {
        var gauges = server.monitor.withLock { server.core.operationsGauges }
        gauges.adminOpenConnections = runtime.adminOpenConnections
        gauges.ready = readiness().ready
        gauges.draining = server.drainRequests.load(ordering: .relaxed) > 0
        return gauges
    }

    func modelMetrics() -> [ModelMetrics] { server.modelMetrics }

    func itemAttributes() -> (any ItemAttributeServices)? { server.catalogues }
}

extension ServerAdminServices: LifecycleServices {
    func reload(model: String?, completion: @escaping @Sendable (Result<LifecycleReport, LifecycleFailure>) -> Void) {
        server.requestReload(model: model, completion: completion)
    }

    func traffic(model: String) -> Result<TrafficState, LifecycleFailure> { server.trafficState(model: model) }

    func setTraffic(model: String, _ update: TrafficUpdate) -> Result<TrafficState, LifecycleFailure> {
        server.setTraffic(model: model, update)
    }

    func rollback(model: String) -> Result<TrafficState, LifecycleFailure> { server.rollBack(model: model) }
}

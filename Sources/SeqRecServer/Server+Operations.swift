// The server behind the admin port (docs/OPERATIONS.md): `attach` gives the core its metrics slab
// and series, and returns the `AdminServices` the admin listener calls from its own thread. Each
// call takes the server's lock briefly, never waits for a batch, and wakes the crew for new work.
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol

extension Server {
    /// Registers every model's metrics series and starts counting; call before `run()`.
    package func attach(_ runtime: OperationsRuntime) throws -> any AdminServices {
        var series: [Int] = []
        for backend in backends {
            series.append(try runtime.registry.series(model: backend.info.name, version: backend.info.version,
                                                       family: backend.info.family))
        }
        let writer = runtime.registry.makeWriter(name: "server")
        monitor.withLock {
            core.metrics = writer
            core.metricsSeries = series
            core.operations = runtime
        }
        return ServerAdminServices(self, runtime: runtime)
    }

    /// What /metrics says about each loaded model version.
    package var modelMetrics: [ModelMetrics] {
        backends.enumerated().map { index, backend in
            let info = backend.info
            return ModelMetrics(
                labels: SeriesLabels(model: info.name, version: info.version, family: info.family),
                loadSeconds: index < modelLoadSeconds.count ? modelLoadSeconds[index] : 0,
                // The f32 item table the catalogue scan streams: items × width × 4 bytes.
                tableBytes: UInt64(info.itemCount) * UInt64(info.embeddingWidth) * 4,
                itemCount: Int(info.itemCount))
        }
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

    func models() -> [ModelDescription] {
        server.backends.enumerated().map { position, backend in
            var description = backend.info
            description.isDefault = position == 0
            return description
        }
    }

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

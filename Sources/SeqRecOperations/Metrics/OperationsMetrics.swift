// The metric set of docs/OPERATIONS.md §4, rendered from a snapshot of the registry, the server's
// gauges, what is loaded, and /proc/self. Names follow Prometheus conventions: `seqrec_` prefix,
// base units, `_total` counters, `_seconds` histograms; no session or user value is ever a label.
import SeqRecProtocol

/// Gauges the server reads when scraped.
public struct ServerGauges: Sendable, Equatable {
    public var openConnections = 0
    public var inFlightRequests = 0
    public var queueDepth = 0
    public var adminOpenConnections = 0
    public var ready = false
    public var draining = false

    public init() {}
}

/// What a loaded model version contributes to `seqrec_model_*`.
public struct ModelMetrics: Sendable, Equatable {
    public var labels: SeriesLabels
    public var loadSeconds: Double
    public var tableBytes: UInt64
    public var itemCount: Int
    /// nil: the model has no state cache.
    public var stateCache: StateCacheMetrics?
    /// The reduced scan table the model scans first ("int8"); nil: it scans fp32 only.
    public var scanTable: String?

    public init(labels: SeriesLabels, loadSeconds: Double, tableBytes: UInt64, itemCount: Int,
                stateCache: StateCacheMetrics? = nil, scanTable: String? = nil) {
        self.scanTable = scanTable
        self.labels = labels
        self.loadSeconds = loadSeconds
        self.tableBytes = tableBytes
        self.itemCount = itemCount
        self.stateCache = stateCache
    }
}

/// A model's state cache when scraped (its hits and lookups are counted per batch in the registry).
public struct StateCacheMetrics: Sendable, Equatable {
    public var budgetBytes: UInt64
    public var liveBytes: UInt64
    public var entries: UInt64
    public var evictions: UInt64
    public var expirations: UInt64

    public init(budgetBytes: UInt64, liveBytes: UInt64, entries: UInt64, evictions: UInt64, expirations: UInt64) {
        self.budgetBytes = budgetBytes
        self.liveBytes = liveBytes
        self.entries = entries
        self.evictions = evictions
        self.expirations = expirations
    }
}

public struct BuildInfo: Sendable, Equatable {
    public var version: String
    public var kernels: String

    public init(version: String, kernels: String) {
        self.version = version
        self.kernels = kernels
    }
}

public enum OperationsMetrics {
    /// The whole exposition.
    public static func render(snapshot: MetricsSnapshot, gauges: ServerGauges, models: [ModelMetrics],
                              catalogues: [CatalogueMetrics] = [], build: BuildInfo, process: ProcessMetrics?) -> String {
        var out = PrometheusText()
        renderRequests(snapshot, into: &out)
        renderEvents(snapshot, into: &out)
        renderGauges(gauges, into: &out)
        renderModels(models, into: &out)
        renderScans(snapshot, models, into: &out)
        renderCatalogues(catalogues, into: &out)
        out.family("seqrec_build_info", .gauge, help: "Always 1; labels say which build runs.")
        out.sample("seqrec_build_info", [("version", build.version), ("kernels", build.kernels)], UInt64(1))
        if let process { renderProcess(process, into: &out) }
        return out.text
    }

    static func seriesLabels(_ labels: SeriesLabels) -> [(String, String)] {
        [("model", labels.model), ("version", labels.model.isEmpty ? "" : String(labels.version))]
    }

    private static func renderRequests(_ snapshot: MetricsSnapshot, into out: inout PrometheusText) {
        let indices = Array(snapshot.series.indices)
        out.family("seqrec_requests_total", .counter,
                   help: "Recommend requests answered (binary protocol and JSON), by model, version and gRPC status name.")
        for series in indices {
            for code in 0..<UInt16(MetricsShape.codeCount) {
                let count = snapshot.requests(series: series, code: code)
                // Codes never seen are left out: every series would otherwise carry 17 lines of zeros.
                if count == 0, code != 0 { continue }
                let name = StatusCode(rawValue: code)?.name ?? "UNKNOWN"
                out.sample("seqrec_requests_total", seriesLabels(snapshot.series[series]) + [("code", name)], count)
            }
        }
        let histograms: [(MetricsSnapshot.Histogram, String, String, HistogramLayout)] = [
            (.duration, "seqrec_request_duration_seconds", "Time from receiving a request to writing its answer.", .seconds),
            (.queueWait, "seqrec_queue_wait_seconds", "Time a request waited in the queue for a worker.", .seconds),
            (.compute, "seqrec_compute_seconds", "Time of one model call (a whole batch).", .seconds),
            (.batchSize, "seqrec_batch_size", "Requests carried by one model call.", .batchSize),
        ]
        for (histogram, name, help, layout) in histograms {
            out.family(name, .histogram, help: help)
            for series in indices {
                let (buckets, sum) = snapshot.histogram(histogram, series: series)
                if series == 0, buckets.allSatisfy({ $0 == 0 }) { continue }
                out.histogram(name, seriesLabels(snapshot.series[series]), layout: layout, buckets: buckets, sum: sum)
            }
        }
        out.family("seqrec_state_cache_lookups_total", .counter, help: "Sessions looked up in the workers' state caches.")
        for series in indices.dropFirst() {
            out.sample("seqrec_state_cache_lookups_total", seriesLabels(snapshot.series[series]), snapshot.stateCache(series: series).lookups)
        }
        out.family("seqrec_state_cache_hits_total", .counter, help: "Sessions resumed from a stored state instead of computed in full.")
        for series in indices.dropFirst() {
            out.sample("seqrec_state_cache_hits_total", seriesLabels(snapshot.series[series]), snapshot.stateCache(series: series).hits)
        }
        out.family("seqrec_state_cache_misses_total", .counter, help: "Sessions looked up in the state cache and computed in full.")
        for series in indices.dropFirst() {
            let counts = snapshot.stateCache(series: series)
            out.sample("seqrec_state_cache_misses_total", seriesLabels(snapshot.series[series]), counts.lookups &- min(counts.hits, counts.lookups))
        }
    }

    private static func renderEvents(_ snapshot: MetricsSnapshot, into out: inout PrometheusText) {
        for event in MetricsEvent.allCases {
            out.family(event.metricName, .counter, help: event.help)
            out.sample(event.metricName, [], snapshot.events(event))
        }
        out.family("seqrec_admin_responses_total", .counter, help: "Admin-port (HTTP) answers by status code.")
        for status in HTTPStatus.allCases where status != .continue {
            let count = snapshot.adminResponses(status)
            if count == 0, status != .ok { continue }
            out.sample("seqrec_admin_responses_total", [("code", String(status.rawValue))], count)
        }
    }

    private static func renderGauges(_ gauges: ServerGauges, into out: inout PrometheusText) {
        let values: [(String, String, Int)] = [
            ("seqrec_connections_open", "Open binary-protocol connections.", gauges.openConnections),
            ("seqrec_admin_connections_open", "Open admin-port connections.", gauges.adminOpenConnections),
            ("seqrec_requests_in_flight", "Recommend requests accepted and not yet answered.", gauges.inFlightRequests),
            ("seqrec_queue_depth", "Requests waiting in the batcher's queues.", gauges.queueDepth),
            ("seqrec_ready", "1 when every model is loaded and warm and the server is not draining (as /readyz).", gauges.ready ? 1 : 0),
            ("seqrec_draining", "1 from SIGTERM (or an admin drain) until exit.", gauges.draining ? 1 : 0),
        ]
        for (name, help, value) in values {
            out.family(name, .gauge, help: help)
            out.sample(name, [], UInt64(max(0, value)))
        }
    }

    private static func renderModels(_ models: [ModelMetrics], into out: inout PrometheusText) {
        out.family("seqrec_model_info", .gauge, help: "Always 1 for each loaded model version; labels name its family.")
        for model in models {
            out.sample("seqrec_model_info", seriesLabels(model.labels) + [("family", model.labels.family)], UInt64(1))
        }
        out.family("seqrec_model_load_seconds", .gauge, help: "Time taken to open, validate and warm the model version.")
        for model in models { out.sample("seqrec_model_load_seconds", seriesLabels(model.labels), model.loadSeconds) }
        out.family("seqrec_model_table_bytes", .gauge, help: "Bytes of the model's item table (the catalogue scan's working set).")
        for model in models { out.sample("seqrec_model_table_bytes", seriesLabels(model.labels), model.tableBytes) }
        out.family("seqrec_model_items", .gauge, help: "Scorable items of the model version.")
        for model in models { out.sample("seqrec_model_items", seriesLabels(model.labels), UInt64(max(0, model.itemCount))) }
        renderStateCaches(models, into: &out)
    }

    private static func renderProcess(_ process: ProcessMetrics, into out: inout PrometheusText) {
        out.family("process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.")
        out.sample("process_cpu_seconds_total", [], process.cpuSeconds)
        out.family("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", [], process.residentBytes)
        out.family("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.")
        out.sample("process_virtual_memory_bytes", [], process.virtualBytes)
        out.family("process_open_fds", .gauge, help: "Number of open file descriptors.")
        out.sample("process_open_fds", [], UInt64(max(0, process.openFileDescriptors)))
        out.family("process_max_fds", .gauge, help: "Maximum number of open file descriptors.")
        out.sample("process_max_fds", [], process.maxFileDescriptors)
        out.family("process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.")
        out.sample("process_start_time_seconds", [], process.startTimeSeconds)
    }
}

extension OperationsMetrics {
    /// `seqrec_state_cache_*` read from each model's cache when scraped (docs/OPERATIONS.md, "State cache").
    fileprivate static func renderStateCaches(_ models: [ModelMetrics], into out: inout PrometheusText) {
        let cached = models.compactMap { model in model.stateCache.map { (model.labels, $0) } }
        let families: [(String, PrometheusText.Kind, String, KeyPath<StateCacheMetrics, UInt64>)] = [
            ("seqrec_state_cache_evictions_total", .counter,
             "Stored states dropped for room while they could still have been resumed.", \.evictions),
            ("seqrec_state_cache_expirations_total", .counter,
             "Stored states dropped after --state-cache-idle-s without use.", \.expirations),
            ("seqrec_state_cache_bytes", .gauge, "Bytes of the stored states that can be resumed.", \.liveBytes),
            ("seqrec_state_cache_budget_bytes", .gauge, "The state cache's budget (--state-cache-mb).", \.budgetBytes),
            ("seqrec_state_cache_entries", .gauge, "Stored states that can be resumed.", \.entries),
        ]
        for (name, kind, help, value) in families {
            out.family(name, kind, help: help)
            for (labels, metrics) in cached { out.sample(name, seriesLabels(labels), metrics[keyPath: value]) }
        }
    }
}

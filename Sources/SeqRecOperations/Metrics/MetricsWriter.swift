// One thread's slab of counters. Each thread that counts (the event loop, every inference worker,
// the admin listener) owns one writer and is its only writer, so an update is a relaxed load and a
// relaxed store of a word the thread owns: no lock, no read-modify-write, no allocation. A scrape
// reads every slab with relaxed loads and sums (docs/OPERATIONS.md §4, "Cost").
import Synchronization

public final class MetricsWriter: @unchecked Sendable {
    // safe to share: the slab is allocated once in init and freed in deinit; only the owning thread
    // stores into it, every other thread only loads, and each word is an Atomic.
    private let slab: UnsafeMutablePointer<Atomic<UInt64>>
    let shape: MetricsShape
    public let name: String
    // Copies of the layouts, so an update reads stored properties instead of lazily initialised statics.
    private let seconds = HistogramLayout.seconds
    private let batchSize = HistogramLayout.batchSize

    init(name: String, shape: MetricsShape) {
        self.name = name
        self.shape = shape
        slab = .allocate(capacity: shape.slotCount)
        for index in 0..<shape.slotCount { (slab + index).initialize(to: Atomic(0)) }
    }

    deinit {
        slab.deinitialize(count: shape.slotCount)
        slab.deallocate()
    }

    @inline(__always)
    private func add(_ slot: Int, _ amount: UInt64) {
        // Single writer: a plain load and store cannot lose an update, and a concurrent scrape sees
        // either the old or the new value of the word.
        slab[slot].store(slab[slot].load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    @inline(__always)
    private func observe(_ histogram: Int, _ layout: HistogramLayout, _ value: UInt64) {
        add(histogram + layout.bucket(of: value), 1)
        add(histogram + layout.bucketCount, value)
    }

    /// One finished request of `series` with its status code and its time from receipt to the
    /// answer being written. `series` comes from `MetricsRegistry.series`; out-of-range values go
    /// to the unattributed series instead of trapping.
    @inline(__always)
    public func countRequest(series: Int, code: UInt16, durationNanoseconds: UInt64) {
        let base = shape.seriesBase(series)
        add(base + MetricsShape.requestsOffset + min(Int(code), MetricsShape.codeCount - 1), 1)
        observe(base + shape.durationOffset, seconds, durationNanoseconds)
    }

    /// One model call of `series`: its batch size, and its compute time.
    @inline(__always)
    public func countBatch(series: Int, size: Int, computeNanoseconds: UInt64) {
        let base = shape.seriesBase(series)
        observe(base + shape.batchSizeOffset, batchSize, UInt64(max(0, size)))
        observe(base + shape.computeOffset, seconds, computeNanoseconds)
    }

    /// The time one request of `series` waited in the queue for a worker.
    @inline(__always)
    public func observeQueueWait(series: Int, nanoseconds: UInt64) {
        observe(shape.seriesBase(series) + shape.queueWaitOffset, seconds, nanoseconds)
    }

    /// State-cache lookups and hits of `series` since the last call.
    @inline(__always)
    public func countStateCache(series: Int, lookups: Int, hits: Int) {
        let base = shape.seriesBase(series)
        add(base + shape.stateCacheOffset, UInt64(max(0, lookups)))
        add(base + shape.stateCacheOffset + 1, UInt64(max(0, hits)))
    }

    /// Reduced-table (int8) scans of `series` since the last call: sessions answered from the reduced
    /// table, sessions that fell back to the fp32 scan, rows re-scored in fp32.
    @inline(__always)
    public func countScan(series: Int, reduced: Int, fallbacks: Int, rescored: Int) {
        let base = shape.seriesBase(series) + shape.scanOffset
        add(base, UInt64(max(0, reduced)))
        add(base + 1, UInt64(max(0, fallbacks)))
        add(base + 2, UInt64(max(0, rescored)))
    }

    /// One answer of the admin port, by HTTP status.
    @inline(__always)
    public func countAdminResponse(_ status: HTTPStatus) {
        add(shape.adminBase + (HTTPStatus.allCases.firstIndex(of: status) ?? 0), 1)
    }

    /// One event of a process-wide counter.
    @inline(__always)
    public func count(_ event: MetricsEvent, _ amount: Int = 1) {
        add(shape.eventBase + event.rawValue, UInt64(max(0, amount)))
    }

    /// Adds this slab's words to `totals` (same shape).
    func accumulate(into totals: inout [UInt64]) {
        for index in 0..<shape.slotCount { totals[index] &+= slab[index].load(ordering: .relaxed) }
    }
}

/// Process-wide counters without model labels.
public enum MetricsEvent: Int, CaseIterable, Sendable {
    /// Binary-protocol connections accepted.
    case connectionsAccepted
    /// Binary-protocol connections closed for a framing violation.
    case framingErrors
    /// Admin-port connections accepted.
    case adminConnectionsAccepted
    /// Requests refused with RESOURCE_EXHAUSTED before reaching a model.
    case rejectedOverload
    /// Requests whose deadline passed while queued.
    case expiredInQueue
    /// Model versions published by a reload (docs/OPERATIONS.md §11.3).
    case modelVersionsLoaded
    /// Model versions a reload refused (unreadable, corrupt or incompatible); the old version kept serving.
    case modelVersionsRefused
    /// Retired model versions released after their last request.
    case modelVersionsReleased

    var metricName: String {
        switch self {
        case .connectionsAccepted: "seqrec_connections_accepted_total"
        case .framingErrors: "seqrec_framing_errors_total"
        case .adminConnectionsAccepted: "seqrec_admin_connections_accepted_total"
        case .rejectedOverload: "seqrec_requests_rejected_overload_total"
        case .expiredInQueue: "seqrec_requests_expired_in_queue_total"
        case .modelVersionsLoaded: "seqrec_model_versions_loaded_total"
        case .modelVersionsRefused: "seqrec_model_versions_refused_total"
        case .modelVersionsReleased: "seqrec_model_versions_released_total"
        }
    }

    var help: String {
        switch self {
        case .connectionsAccepted: "Binary-protocol connections accepted."
        case .framingErrors: "Binary-protocol connections closed for a framing violation."
        case .adminConnectionsAccepted: "Admin-port (HTTP) connections accepted."
        case .rejectedOverload: "Requests refused with RESOURCE_EXHAUSTED (queue or in-flight limit) before reaching a model."
        case .expiredInQueue: "Requests whose deadline passed while they waited in the queue (the model did not run)."
        case .modelVersionsLoaded: "Model versions a reload loaded, warmed and published."
        case .modelVersionsRefused: "Model versions a reload refused (unreadable, corrupt or incompatible); the serving version stayed."
        case .modelVersionsReleased: "Retired model versions released (unmapped) after their last request."
        }
    }
}

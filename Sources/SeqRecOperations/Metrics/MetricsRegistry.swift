// The registry: the series (model, version) known so far and every thread's slab. Registering a
// series or a writer takes a lock (start-up and model loads only); counting never does.
import Synchronization

/// The labels of one series. Series 0 is the unattributed series (`model=""`, `version=""`):
/// requests that failed before a model was chosen (unknown model, malformed body).
public struct SeriesLabels: Sendable, Equatable {
    public var model: String
    public var version: UInt32
    public var family: String

    public init(model: String, version: UInt32, family: String) {
        self.model = model
        self.version = version
        self.family = family
    }
}

public struct MetricsRegistryFullError: Error, CustomStringConvertible, Sendable {
    public let maxSeries: Int
    public var description: String {
        "the metrics registry holds at most \(maxSeries) model versions; unload versions or raise the limit"
    }
}

public final class MetricsRegistry: Sendable {
    let shape: MetricsShape
    private let state = Mutex<(series: [SeriesLabels], writers: [MetricsWriter])>(
        ([SeriesLabels(model: "", version: 0, family: "")], []))

    /// `maxSeries` bounds the model versions counted over the process's life (each costs a block of
    /// every slab, about 0.8 KiB).
    public init(maxSeries: Int = 64) {
        shape = MetricsShape(maxSeries: max(2, maxSeries))
    }

    /// The index of a model version's series, registering it on first use.
    public func series(model: String, version: UInt32, family: String) throws(MetricsRegistryFullError) -> Int {
        let labels = SeriesLabels(model: model, version: version, family: family)
        let index = state.withLock { state -> Int? in
            if let existing = state.series.firstIndex(of: labels) { return existing }
            guard state.series.count < shape.maxSeries else { return nil }
            state.series.append(labels)
            return state.series.count - 1
        }
        guard let index else { throw MetricsRegistryFullError(maxSeries: shape.maxSeries) }
        return index
    }

    /// A new slab for one thread; it stays part of every scrape while the registry lives.
    public func makeWriter(name: String) -> MetricsWriter {
        let writer = MetricsWriter(name: name, shape: shape)
        state.withLock { $0.writers.append(writer) }
        return writer
    }

    /// The sum of every slab now.
    public func snapshot() -> MetricsSnapshot {
        let (series, writers) = state.withLock { ($0.series, $0.writers) }
        var totals = [UInt64](repeating: 0, count: shape.slotCount)
        for writer in writers { writer.accumulate(into: &totals) }
        return MetricsSnapshot(shape: shape, series: series, totals: totals)
    }
}

/// Summed counters at one moment.
public struct MetricsSnapshot: Sendable {
    let shape: MetricsShape
    public let series: [SeriesLabels]
    let totals: [UInt64]

    /// Requests of `series` answered with gRPC `code`.
    public func requests(series: Int, code: UInt16) -> UInt64 {
        totals[shape.seriesBase(series) + MetricsShape.requestsOffset + Int(code)]
    }

    /// Requests of `series` over every code.
    public func requests(series: Int) -> UInt64 {
        (0..<UInt16(MetricsShape.codeCount)).reduce(0) { $0 + requests(series: series, code: $1) }
    }

    public enum Histogram: Sendable, CaseIterable {
        case duration, queueWait, compute, batchSize
    }

    func histogramBase(_ histogram: Histogram, series: Int) -> (Int, HistogramLayout) {
        let base = shape.seriesBase(series)
        switch histogram {
        case .duration: return (base + shape.durationOffset, .seconds)
        case .queueWait: return (base + shape.queueWaitOffset, .seconds)
        case .compute: return (base + shape.computeOffset, .seconds)
        case .batchSize: return (base + shape.batchSizeOffset, .batchSize)
        }
    }

    /// Per-bucket (not cumulative) counts including +Inf, and the sum in the observed unit.
    public func histogram(_ histogram: Histogram, series: Int) -> (buckets: [UInt64], sum: UInt64) {
        let (base, layout) = histogramBase(histogram, series: series)
        return (Array(totals[base..<(base + layout.bucketCount)]), totals[base + layout.bucketCount])
    }

    /// Observations of a histogram.
    public func count(_ histogram: Histogram, series: Int) -> UInt64 {
        self.histogram(histogram, series: series).buckets.reduce(0, +)
    }

    public func stateCache(series: Int) -> (lookups: UInt64, hits: UInt64) {
        let base = shape.seriesBase(series) + shape.stateCacheOffset
        return (totals[base], totals[base + 1])
    }

    public func scan(series: Int) -> (reduced: UInt64, fallbacks: UInt64, rescored: UInt64) {
        let base = shape.seriesBase(series) + shape.scanOffset
        return (totals[base], totals[base + 1], totals[base + 2])
    }

    public func adminResponses(_ status: HTTPStatus) -> UInt64 {
        totals[shape.adminBase + (HTTPStatus.allCases.firstIndex(of: status) ?? 0)]
    }

    public func events(_ event: MetricsEvent) -> UInt64 {
        totals[shape.eventBase + event.rawValue]
    }
}

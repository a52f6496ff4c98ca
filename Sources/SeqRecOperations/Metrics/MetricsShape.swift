// Where each counter lives in a slab: a block per series (model and version), then the admin
// port's answers by status, then the process-wide events. Every slab of a registry has this shape.

struct MetricsShape: Sendable, Equatable {
    /// gRPC codes 0…16.
    static let codeCount = 17
    static let requestsOffset = 0

    let maxSeries: Int
    var durationOffset: Int { Self.codeCount }
    var queueWaitOffset: Int { durationOffset + HistogramLayout.seconds.slotCount }
    var computeOffset: Int { queueWaitOffset + HistogramLayout.seconds.slotCount }
    var batchSizeOffset: Int { computeOffset + HistogramLayout.seconds.slotCount }
    var stateCacheOffset: Int { batchSizeOffset + HistogramLayout.batchSize.slotCount }
    var seriesStride: Int { stateCacheOffset + 2 }
    var adminBase: Int { maxSeries * seriesStride }
    var eventBase: Int { adminBase + HTTPStatus.allCases.count }
    var slotCount: Int { eventBase + MetricsEvent.allCases.count }

    /// The first word of `series`; an unknown index counts as series 0 (unattributed).
    @inline(__always)
    func seriesBase(_ series: Int) -> Int {
        (series >= 0 && series < maxSeries ? series : 0) * seriesStride
    }
}

// Where each counter lives in a slab: a block per series (model and version), then the admin
// port's answers by status, then the process-wide events. Every slab of a registry has this shape.

struct MetricsShape: Sendable, Equatable {
    /// gRPC codes 0…16.
    static let codeCount = 17
    static let requestsOffset = 0

    let maxSeries: Int
    // Stored, not computed: the hot path reads them on every update.
    let durationOffset: Int
    let queueWaitOffset: Int
    let computeOffset: Int
    let batchSizeOffset: Int
    let stateCacheOffset: Int
    /// Reduced-table scans: sessions answered, fp32 fallbacks, rows re-scored.
    let scanOffset: Int
    let seriesStride: Int
    let adminBase: Int
    let eventBase: Int
    let slotCount: Int

    init(maxSeries: Int) {
        self.maxSeries = maxSeries
        durationOffset = Self.codeCount
        queueWaitOffset = durationOffset + HistogramLayout.seconds.slotCount
        computeOffset = queueWaitOffset + HistogramLayout.seconds.slotCount
        batchSizeOffset = computeOffset + HistogramLayout.seconds.slotCount
        stateCacheOffset = batchSizeOffset + HistogramLayout.batchSize.slotCount
        scanOffset = stateCacheOffset + 2
        seriesStride = scanOffset + 3
        adminBase = maxSeries * seriesStride
        eventBase = adminBase + HTTPStatus.allCases.count
        slotCount = eventBase + MetricsEvent.allCases.count
    }

    /// The first word of `series`; an unknown index counts as series 0 (unattributed).
    @inline(__always)
    func seriesBase(_ series: Int) -> Int {
        (series >= 0 && series < maxSeries ? series : 0) * seriesStride
    }
}

// `seqrec_catalogue_*` (docs/OPERATIONS.md §12.5): one series per model name that has item attributes
// (labels: `model` only — the attributes belong to the name and outlive its versions). Gauges are read
// from the catalogue when scraped; the update counters and the PATCH duration histogram are kept by
// the server per name.

public struct CatalogueMetrics: Sendable, Equatable {
    public var model: String
    /// Items with attributes, distinct categories.
    public var items: Int
    public var categories: Int
    /// In the newest loaded version: items marked unavailable; items whose `expires_at` has passed.
    public var unavailable: Int
    public var expired: Int
    /// Journal bytes not yet compacted.
    public var journalBytes: Int
    /// Item updates and PATCH batches applied (acknowledged) since start.
    public var updates: UInt64
    public var batches: UInt64
    /// Unix time of the last applied batch, 0 when none since start.
    public var lastUpdateSeconds: Double
    /// PATCH durations (parse, journal + fsync, apply, publish) in `HistogramLayout.seconds` buckets
    /// (+Inf included), and their sum in nanoseconds.
    public var durationBuckets: [UInt64]
    public var durationNanoseconds: UInt64

    public init(model: String, items: Int, categories: Int, unavailable: Int, expired: Int, journalBytes: Int,
                updates: UInt64, batches: UInt64, lastUpdateSeconds: Double, durationBuckets: [UInt64],
                durationNanoseconds: UInt64) {
        self.model = model
        self.items = items
        self.categories = categories
        self.unavailable = unavailable
        self.expired = expired
        self.journalBytes = journalBytes
        self.updates = updates
        self.batches = batches
        self.lastUpdateSeconds = lastUpdateSeconds
        self.durationBuckets = durationBuckets
        self.durationNanoseconds = durationNanoseconds
    }
}

extension OperationsMetrics {
    static func renderCatalogues(_ catalogues: [CatalogueMetrics], into out: inout PrometheusText) {
        guard !catalogues.isEmpty else { return }
        let counts: [(String, PrometheusText.Kind, String, (CatalogueMetrics) -> UInt64)] = [
            ("seqrec_catalogue_items", .gauge, "Items with attributes (every external id given any).", { UInt64($0.items) }),
            ("seqrec_catalogue_categories", .gauge, "Distinct category names of the model's items.", { UInt64($0.categories) }),
            ("seqrec_catalogue_items_unavailable", .gauge, "Items marked available: false (newest loaded version).", { UInt64($0.unavailable) }),
            ("seqrec_catalogue_items_expired", .gauge, "Items whose expires_at has passed (newest loaded version).", { UInt64($0.expired) }),
            ("seqrec_catalogue_journal_bytes", .gauge, "Bytes of acknowledged updates in the journal, not yet compacted.", { UInt64($0.journalBytes) }),
            ("seqrec_catalogue_updates_total", .counter, "Item updates applied (acknowledged after fsync) since start.", \.updates),
            ("seqrec_catalogue_update_batches_total", .counter, "PATCH /v1/models/{name}/items batches applied since start.", \.batches),
        ]
        for (name, kind, help, value) in counts {
            out.family(name, kind, help: help)
            for catalogue in catalogues { out.sample(name, [("model", catalogue.model)], value(catalogue)) }
        }
        out.family("seqrec_catalogue_last_update_timestamp_seconds", .gauge, help: "Unix time of the last applied batch (0: none since start).")
        for catalogue in catalogues {
            out.sample("seqrec_catalogue_last_update_timestamp_seconds", [("model", catalogue.model)], catalogue.lastUpdateSeconds)
        }
        out.family("seqrec_catalogue_update_duration_seconds", .histogram,
                   help: "One PATCH of item attributes: parse, journal append + fsync, apply, publish.")
        for catalogue in catalogues {
            out.histogram("seqrec_catalogue_update_duration_seconds", [("model", catalogue.model)], layout: .seconds,
                          buckets: catalogue.durationBuckets, sum: catalogue.durationNanoseconds)
        }
    }
}

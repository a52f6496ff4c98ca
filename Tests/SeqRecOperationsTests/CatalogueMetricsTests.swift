// `seqrec_catalogue_*` (docs/OPERATIONS.md §12.5): every family, labelled by model only, with the
// PATCH duration histogram in the latency buckets of §4; nothing at all without catalogues.
import Testing
@testable import SeqRecOperations

@Suite struct CatalogueMetricsTests {
    @Test func everyFamilyByModel() {
        var buckets = [UInt64](repeating: 0, count: HistogramLayout.seconds.bucketCount)
        buckets[HistogramLayout.seconds.bucket(of: 3_000_000)] = 2   // two PATCHes of 3 ms
        let shop = CatalogueMetrics(model: "shop", items: 5, categories: 2, unavailable: 1, expired: 3, journalBytes: 420,
                                    updates: 7, batches: 2, lastUpdateSeconds: 1_790_000_000.5, durationBuckets: buckets,
                                    durationNanoseconds: 6_000_000)
        let idle = CatalogueMetrics(model: "idle", items: 0, categories: 0, unavailable: 0, expired: 0, journalBytes: 0,
                                    updates: 0, batches: 0, lastUpdateSeconds: 0,
                                    durationBuckets: [UInt64](repeating: 0, count: HistogramLayout.seconds.bucketCount),
                                    durationNanoseconds: 0)
        var out = PrometheusText()
        OperationsMetrics.renderCatalogues([shop, idle], into: &out)
        let expected = [
            "# TYPE seqrec_catalogue_items gauge", #"seqrec_catalogue_items{model="shop"} 5"#, #"seqrec_catalogue_items{model="idle"} 0"#,
            #"seqrec_catalogue_categories{model="shop"} 2"#, #"seqrec_catalogue_items_unavailable{model="shop"} 1"#,
            #"seqrec_catalogue_items_expired{model="shop"} 3"#, #"seqrec_catalogue_journal_bytes{model="shop"} 420"#,
            "# TYPE seqrec_catalogue_updates_total counter", #"seqrec_catalogue_updates_total{model="shop"} 7"#,
            #"seqrec_catalogue_update_batches_total{model="shop"} 2"#,
            #"seqrec_catalogue_last_update_timestamp_seconds{model="shop"} 1790000000.5"#,
            #"seqrec_catalogue_last_update_timestamp_seconds{model="idle"} 0"#,
            "# TYPE seqrec_catalogue_update_duration_seconds histogram",
            #"seqrec_catalogue_update_duration_seconds_bucket{model="shop",le="0.0025"} 0"#,
            #"seqrec_catalogue_update_duration_seconds_bucket{model="shop",le="0.005"} 2"#,
            #"seqrec_catalogue_update_duration_seconds_bucket{model="shop",le="+Inf"} 2"#,
            #"seqrec_catalogue_update_duration_seconds_sum{model="shop"} 0.006"#,
            #"seqrec_catalogue_update_duration_seconds_count{model="shop"} 2"#,
            #"seqrec_catalogue_update_duration_seconds_count{model="idle"} 0"#,
        ]
        let lines = Set(out.text.split(separator: "\n").map(String.init))
        for line in expected { #expect(lines.contains(line), "missing: \(line)\n\(out.text)") }
        var none = PrometheusText()
        OperationsMetrics.renderCatalogues([], into: &none)
        #expect(none.text.isEmpty)
    }
}

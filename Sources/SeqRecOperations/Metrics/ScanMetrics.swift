// `seqrec_scan_*` (docs/OPERATIONS.md §4, "Reduced-table scans"): what the exact scans over a reduced
// (int8) table did, per model version that has one. Counted per batch by the workers into the registry
// (allocation-free adds); labelled here with the table the version scans.
extension OperationsMetrics {
    static func renderScans(_ snapshot: MetricsSnapshot, _ models: [ModelMetrics], into out: inout PrometheusText) {
        let scanned = models.compactMap { model in
            model.scanTable.flatMap { table in snapshot.series.firstIndex(of: model.labels).map { (model.labels, table, $0) } }
        }
        let families = [
            ("seqrec_scan_reduced_sessions_total",
             "Full-catalogue sessions answered exactly from the reduced scan table plus fp32 re-scoring."),
            ("seqrec_scan_fp32_fallbacks_total",
             "Full-catalogue sessions the reduced scan could not bound tightly enough, scanned in fp32 instead."),
            ("seqrec_scan_rescored_rows_total", "Rows re-scored in fp32 after the reduced scan."),
        ]
        for (index, (name, help)) in families.enumerated() {
            out.family(name, .counter, help: help)
            for (labels, table, series) in scanned {
                let counts = snapshot.scan(series: series)
                out.sample(name, seriesLabels(labels) + [("table", table)], [counts.reduced, counts.fallbacks, counts.rescored][index])
            }
        }
    }
}

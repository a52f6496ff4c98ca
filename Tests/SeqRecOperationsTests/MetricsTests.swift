// The metrics registry: per-thread slabs summed exactly at scrape time, histogram buckets, and an
// exposition that `promtool check metrics` accepts (run when promtool is installed; .ci/run
// installs it).
import Foundation
import Testing
@testable import SeqRecOperations

@Suite struct MetricsTests {
    @Test func concurrentWritersAreSummedExactly() throws {
        let registry = MetricsRegistry(maxSeries: 8)
        let series = try registry.series(model: "m", version: 3, family: "recbole-sasrec")
        #expect(try registry.series(model: "m", version: 3, family: "recbole-sasrec") == series)
        let threads = 4, perThread = 100_000
        let writers = (0..<threads).map { registry.makeWriter(name: "worker-\($0)") }
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            let writer = writers[index]
            for step in 0..<perThread {
                writer.countRequest(series: series, code: step % 10 == 0 ? 8 : 0, durationNanoseconds: UInt64(step % 1_000) * 1_000)
                writer.countBatch(series: series, size: 1 + step % 64, computeNanoseconds: 1_000)
                writer.observeQueueWait(series: series, nanoseconds: 5_000)
            }
            writer.countStateCache(series: series, lookups: 10, hits: 7)
        }
        let snapshot = registry.snapshot()
        #expect(snapshot.requests(series: series) == UInt64(threads * perThread))
        #expect(snapshot.requests(series: series, code: 8) == UInt64(threads * perThread / 10))
        #expect(snapshot.count(.duration, series: series) == UInt64(threads * perThread))
        #expect(snapshot.count(.batchSize, series: series) == UInt64(threads * perThread))
        #expect(snapshot.histogram(.queueWait, series: series).sum == UInt64(threads * perThread * 5_000))
        #expect(snapshot.stateCache(series: series) == (UInt64(40), UInt64(28)))
        #expect(snapshot.requests(series: 0) == 0)
    }

    @Test func bucketsFollowTheirUpperBounds() throws {
        let registry = MetricsRegistry()
        let series = try registry.series(model: "m", version: 1, family: "f")
        let writer = registry.makeWriter(name: "t")
        // 10 µs is the first bound (inclusive), 10_001 ns the second bucket, 11 s the +Inf bucket.
        for nanoseconds: UInt64 in [0, 10_000, 10_001, 11_000_000_000] {
            writer.countRequest(series: series, code: 0, durationNanoseconds: nanoseconds)
        }
        let (buckets, sum) = registry.snapshot().histogram(.duration, series: series)
        #expect(buckets.count == HistogramLayout.seconds.bucketCount)
        #expect(buckets[0] == 2 && buckets[1] == 1 && buckets.last == 1)
        #expect(sum == 11_000_020_001)
    }

    @Test func registryRefusesSeriesBeyondItsCapacity() throws {
        let registry = MetricsRegistry(maxSeries: 3)
        _ = try registry.series(model: "a", version: 1, family: "f")
        _ = try registry.series(model: "b", version: 1, family: "f")
        #expect(throws: MetricsRegistryFullError.self) { try registry.series(model: "c", version: 1, family: "f") }
        // An out-of-range index counts as unattributed instead of trapping.
        registry.makeWriter(name: "t").countRequest(series: 99, code: 99, durationNanoseconds: 1)
        #expect(registry.snapshot().requests(series: 0, code: 16) == 1)
    }

    static func sampleExposition() throws -> String {
        let registry = MetricsRegistry()
        let series = try registry.series(model: "sasrec \"quoted\"\n", version: 2, family: "recbole-sasrec")
        let writer = registry.makeWriter(name: "t")
        writer.countRequest(series: series, code: 0, durationNanoseconds: 1_234_567)
        writer.countRequest(series: 0, code: 5, durationNanoseconds: 1_000)
        writer.countBatch(series: series, size: 3, computeNanoseconds: 900_000)
        writer.observeQueueWait(series: series, nanoseconds: 20_000)
        writer.countStateCache(series: series, lookups: 3, hits: 1)
        writer.countAdminResponse(.notFound)
        writer.count(.connectionsAccepted, 2)
        var gauges = ServerGauges()
        gauges.openConnections = 2
        gauges.ready = true
        let model = ModelMetrics(labels: SeriesLabels(model: "sasrec \"quoted\"\n", version: 2, family: "recbole-sasrec"),
                                 loadSeconds: 0.25, tableBytes: 1 << 20, itemCount: 1_682)
        return OperationsMetrics.render(snapshot: registry.snapshot(), gauges: gauges, models: [model],
                                        build: BuildInfo(version: "test", kernels: "auto"), process: ProcessMetrics.current())
    }

    @Test func expositionHasTheConventionalShape() throws {
        let text = try Self.sampleExposition()
        #expect(text.contains("seqrec_requests_total{model=\"sasrec \\\"quoted\\\"\\n\",version=\"2\",code=\"OK\"} 1\n"))
        #expect(text.contains("seqrec_requests_total{model=\"\",version=\"\",code=\"NOT_FOUND\"} 1\n"))
        #expect(text.contains("seqrec_request_duration_seconds_bucket{model=\"sasrec \\\"quoted\\\"\\n\",version=\"2\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("seqrec_request_duration_seconds_sum{model=\"sasrec \\\"quoted\\\"\\n\",version=\"2\"} 0.001234567\n"))
        #expect(text.contains("seqrec_batch_size_bucket{model=\"sasrec \\\"quoted\\\"\\n\",version=\"2\",le=\"4\"} 1\n"))
        #expect(text.contains("seqrec_model_info{model=\"sasrec \\\"quoted\\\"\\n\",version=\"2\",family=\"recbole-sasrec\"} 1\n"))
        #expect(text.contains("seqrec_admin_responses_total{code=\"404\"} 1\n"))
        #expect(text.contains("seqrec_connections_accepted_total 2\n"))
        #expect(text.contains("seqrec_ready 1\n"))
        #expect(text.contains("process_resident_memory_bytes "))
        // Every sample belongs to the family declared last (no interleaving).
        var family = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { family = String(line.split(separator: " ")[2]) }
            else if !line.hasPrefix("#") { #expect(line.hasPrefix(family), "\(line) outside \(family)") }
        }
    }

    /// The exposition passes `promtool check metrics` (the Prometheus linter) when it is installed.
    @Test func promtoolAcceptsTheExposition() throws {
        guard let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: FileManager.default.isExecutableFile) else {
            print("promtool not installed (apt-get install prometheus); skipping the lint")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(try Self.sampleExposition().utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(report)")
        #expect(report.isEmpty, "promtool lint: \(report)")
    }

    @Test func procStatParsing() {
        let stat = "1234 (seq rec (x)) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 5 0 1000 123456789 2048 rest"
        let parsed = ProcessMetrics.parse(stat: stat, systemStat: "cpu 1 2\nbtime 1700000000\n", openFileDescriptors: 7,
                                          maxFileDescriptors: 1024, ticksPerSecond: 100, pageSize: 4096)
        #expect(parsed == ProcessMetrics(cpuSeconds: 4, residentBytes: 2048 * 4096, virtualBytes: 123_456_789,
                                         openFileDescriptors: 7, maxFileDescriptors: 1024, startTimeSeconds: 1_700_000_010))
        #expect(ProcessMetrics.parse(stat: "garbage", systemStat: "", openFileDescriptors: 0, maxFileDescriptors: 0,
                                     ticksPerSecond: 100, pageSize: 4096) == nil)
        #expect(ProcessMetrics.current() != nil)
    }
}

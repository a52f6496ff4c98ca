// In-process latency of one model configuration: B full-length sessions per call through
// `InferenceContext.recommend`, timed per call after warm-up, heap allocations counted. By default the
// GRU state cache is off, so every call does the whole forward pass (what ORT and PyTorch are compared
// with); `growing` sessions with the cache on measure a gateway's click stream instead: each call's
// sessions are the previous call's plus one item, cycling through lengths 1…L.
import Foundation
import SeqRecCore

/// What to measure.
public struct InProcessConfiguration: Sendable {
    public var modelPath: String
    public var batch: Int
    public var k: Int
    public var kernels: String
    public var sessionLength: Int
    public var plan: TimingPlan
    /// GRU windows whose states each context keeps (0: none, every call computes everything).
    public var stateCacheMegabytes = 0
    /// Sessions grow by one item per call (1…sessionLength, then again) instead of repeating.
    public var growing = false

    public init(modelPath: String, batch: Int, k: Int, kernels: String, sessionLength: Int, plan: TimingPlan) {
        self.modelPath = modelPath
        self.batch = batch
        self.k = k
        self.kernels = kernels
        self.sessionLength = sessionLength
        self.plan = plan
    }
}

/// The result, in the JSON shape `seqrec bench --format json` prints.
public struct InProcessReport: Sendable, Codable {
    public var model: String
    public var family: String
    public var items: Int
    public var batch: Int
    public var k: Int
    public var kernels: String
    public var sessionLength: Int
    /// "fixed" (the same full-length sessions every call) or "growing" (one item more per call).
    public var sessions: String
    /// GRU windows kept per context (0: every call computes the whole forward pass).
    public var stateCacheMegabytes: Int
    public var warmup: Int
    /// Timed calls per repeat (the smallest over repeats).
    public var iterations: Int
    public var repeats: Int
    /// Medians across repeats of each repeat's percentile, µs per call.
    public var p50Us: Double
    public var p90Us: Double
    public var p99Us: Double
    public var p999Us: Double
    public var meanUs: Double
    public var p50Spread: Spread
    public var p99Spread: Spread
    public var perRequestP50Us: Double
    /// Requests per second of one thread at the median mean latency.
    public var throughputRPS: Double
    /// Heap allocations per request in the timed calls (worst repeat); nil when the malloc
    /// interposer is not active in this process.
    public var allocsPerRequest: Double?
    /// The first session's top-k (items best first and scores), to check engines agree.
    public var topItems: [Int32]
    public var topScores: [Float]
    public var runs: [LatencySummary]

    enum CodingKeys: String, CodingKey {
        case model, family, items, batch, k, kernels, warmup, iterations, repeats, runs
        case sessions, stateCacheMegabytes = "state_cache_mb"
        case sessionLength = "session_length", p50Us = "p50_us", p90Us = "p90_us", p99Us = "p99_us"
        case p999Us = "p999_us", meanUs = "mean_us", p50Spread = "p50_spread", p99Spread = "p99_spread"
        case perRequestP50Us = "per_request_p50_us", throughputRPS = "throughput_rps"
        case allocsPerRequest = "allocs_per_request", topItems = "top_items", topScores = "top_scores"
    }
}

public enum InProcessBenchmark {
    public static func kernelSelection(_ name: String) throws(BenchUsageError) -> KernelSelection {
        guard let selection = KernelSelection(name: name) else {
            throw BenchUsageError("--kernels must be one of \(KernelSelection.acceptedNames.joined(separator: ", ")), got '\(name)'")
        }
        do { try selection.checkSupported(detected: InstructionSet.detected) } catch {
            throw BenchUsageError(error.description)
        }
        return selection
    }

    public static func run(_ configuration: InProcessConfiguration) throws -> InProcessReport {
        configureBLASThreads(1)
        let selection = try kernelSelection(configuration.kernels)
        let recommender = try Recommender(path: configuration.modelPath, name: "bench", kernels: selection,
                                          maxBatch: configuration.batch, tableMemory: TableMemory.fromEnvironment(),
                                          stateCache: StateCacheSettings(megabytes: configuration.stateCacheMegabytes),
                                          scanTable: ScanTablePolicy.fromEnvironment(),
                                          scanThreads: ScanThreads.shared(count: ScanThreads.countFromEnvironment()))
        let info = recommender.info
        let firstItem = info.firstItem
        // One batch per session length used: just the full length, or every length for growing sessions.
        let lengths = configuration.growing ? Array(1...configuration.sessionLength) : [configuration.sessionLength]
        let batches = lengths.map { length in
            (0..<configuration.batch).map { session in
                SessionQuery(items: (0..<length).map { position in
                    BenchSessions.item(session: session, position: position, itemCount: info.itemCount, firstItem: firstItem)
                }, k: configuration.k)
            }
        }
        for query in batches.joined() { try recommender.validate(query) }
        let context = recommender.makeContext()
        var results = [Recommendation](repeating: Recommendation(), count: configuration.batch)
        var call = 0
        var failure: (any Error)?   // cannot happen: every query was validated above
        let runs = TimingLoop.measure(configuration.plan) {
            do { try context.recommend(batches[call % batches.count][...], into: &results) } catch { failure = error }
            call += 1
        }
        if let failure { throw failure }
        if let exact = context.exactScanStatistics {   // stderr: the report's JSON/text stay unchanged
            let sessions = exact.approximate + exact.fallbacks
            let table = (try? ScanTablePolicy.fromEnvironment())?.rawValue ?? "auto"
            FileHandle.standardError.write(Data(("exact scan (SEQREC_SCAN_TABLE=\(table)): \(sessions) sessions, \(exact.fallbacks) fp32 fallbacks, "
                + "\(exact.approximate > 0 ? exact.rescored / exact.approximate : 0) rows re-scored per session, "
                + "\(exact.split) split over scan threads\n").utf8))
        }
        let latencies = runs.map(\.latency)
        let requests = runs.map { Double($0.calls * configuration.batch) }
        let allocations = AllocationCounts.isActive
            ? zip(runs, requests).map { Double($0.allocations) / $1 }.max() : nil
        let p50 = Spread(latencies.map(\.p50))
        let mean = Spread(latencies.map(\.mean)).median
        return InProcessReport(
            model: configuration.modelPath, family: info.family, items: info.itemCount,
            batch: configuration.batch, k: configuration.k, kernels: configuration.kernels,
            sessionLength: configuration.sessionLength, sessions: configuration.growing ? "growing" : "fixed",
            stateCacheMegabytes: configuration.stateCacheMegabytes, warmup: configuration.plan.warmup,
            iterations: runs.map(\.calls).min() ?? 0, repeats: runs.count,
            p50Us: p50.median, p90Us: Spread(latencies.map(\.p90)).median,
            p99Us: Spread(latencies.map(\.p99)).median, p999Us: Spread(latencies.map(\.p999)).median,
            meanUs: mean, p50Spread: p50, p99Spread: Spread(latencies.map(\.p99)),
            perRequestP50Us: p50.median / Double(configuration.batch),
            throughputRPS: Double(configuration.batch) / mean * 1e6,
            allocsPerRequest: allocations, topItems: results[0].items, topScores: results[0].scores,
            runs: latencies)
    }
}

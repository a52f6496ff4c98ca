// One thread's model runner: its own worker per model version (workspaces are per thread),
// reusable batch buffers, and the deadline check that answers a request that expired in the queue
// without running the model. It touches only the request slots of the batch it was given, which no
// other thread touches until the batch is handed back to the core. Workers are kept by version slot
// and generation: a slot reused by another version never runs on the old version's worker.
import SeqRecCore

final class BatchRunner {
    private var workers: [(generation: UInt32, worker: any InferenceWorker)?] = []
    /// Each worker's state-cache counts when last reported.
    private var stateCacheSeen: [(lookups: Int, hits: Int)] = []
    /// Each worker's exact-scan counts when last reported.
    private var scanSeen: [ExactScanStatistics] = []
    /// The model set's release count when this runner last dropped workers of released versions.
    private var releasesSeen = 0
    private var runnable: [Int] = []
    private var queries: [SessionQuery] = []
    private var results: [ScoredItems]

    init(maxBatch: Int) {
        runnable.reserveCapacity(maxBatch)
        queries.reserveCapacity(maxBatch)
        results = Array(repeating: ScoredItems(), count: maxBatch)
    }

    /// What one batch did, for the server's counters.
    struct Report {
        var ran = 0
        var stateCacheLookups = 0
        var stateCacheHits = 0
        /// Reduced-table scans: sessions answered, fp32 fallbacks, rows re-scored.
        var scan = ExactScanStatistics()
    }

    /// With the server's lock held, before `run`: takes a worker the loader warmed for this version
    /// when the runner has none yet, so the version's first request here does not build a workspace.
    func adoptWarmWorker(model: Int, version: LoadedVersion, generation: UInt32) {
        grow(toInclude: model)
        guard workers[model]?.generation != generation, let warm = version.takeWarmWorker() else { return }
        workers[model] = (generation, warm)
        stateCacheSeen[model] = (0, 0)
        scanSeen[model] = ExactScanStatistics()
    }

    /// Room for version slot `model` (a new slot appears only when a reload adds one).
    private func grow(toInclude model: Int) {
        while workers.count <= model {
            workers.append(nil)
            stateCacheSeen.append((lookups: 0, hits: 0))
            scanSeen.append(ExactScanStatistics())
        }
    }

    /// With the server's lock held: moves the workers of released versions into `graveyard` (the
    /// caller drops them off the serving path). Cheap when nothing was released since the last call.
    func dropReleasedWorkers(_ models: ModelSet, into graveyard: inout [AnyObject]) {
        guard releasesSeen != models.releaseCount else { return }
        releasesSeen = models.releaseCount
        for index in workers.indices {
            guard let held = workers[index], models.generation(ofSlot: index) != held.generation else { continue }
            graveyard.append(held.worker)
            workers[index] = nil
        }
    }

    /// Runs the requests of `slots` on version slot `model` as one model call, setting each slot's outcome.
    func run(_ slots: [Int], model: Int, version: LoadedVersion, generation: UInt32, pool: RequestPool, now: UInt64)
        -> Report
    {
        var report = Report()
        for slot in slots {
            if pool[slot].deadline <= now {
                pool[slot].outcome = .expired
            } else {
                runnable.append(slot)
                queries.append(pool[slot].query)
            }
        }
        if !queries.isEmpty {
            grow(toInclude: model)
            // Made on first use (unless warmed): a thread that never runs a model never pays for its workspace.
            if workers[model]?.generation != generation {
                workers[model] = (generation, version.backend.makeWorker())
                stateCacheSeen[model] = (0, 0)
                scanSeen[model] = ExactScanStatistics()
            }
            let worker = workers[model]!.worker
            worker.recommend(queries[...], into: &results)
            report.ran = queries.count
            if let counts = worker.stateCacheStatistics {
                report.stateCacheLookups = max(0, counts.lookups - stateCacheSeen[model].lookups)
                report.stateCacheHits = max(0, counts.hits - stateCacheSeen[model].hits)
                stateCacheSeen[model] = counts
            }
            if let counts = worker.exactScanStatistics {
                let seen = scanSeen[model]
                report.scan.approximate = max(0, counts.approximate - seen.approximate)
                report.scan.fallbacks = max(0, counts.fallbacks - seen.fallbacks)
                report.scan.rescored = max(0, counts.rescored - seen.rescored)
                scanSeen[model] = counts
            }
            for position in runnable.indices {
                let slot = runnable[position]
                // The slot takes the fresh answer; the worker keeps the old buffers for the next batch.
                swap(&pool[slot].result, &results[position])
                pool[slot].outcome = .answered
            }
        }
        // Dropping our references keeps the slots' query buffers uniquely owned (no copy on reuse).
        queries.removeAll(keepingCapacity: true)
        runnable.removeAll(keepingCapacity: true)
        return report
    }
}

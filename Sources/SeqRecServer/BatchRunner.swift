// One thread's model runner: its own worker per model (workspaces are per thread), reusable batch
// buffers, and the deadline check that answers a request that expired in the queue without running
// the model. It touches only the request slots of the batch it was given, which no other thread
// touches until the batch is handed back to the core.
import SeqRecCore

final class BatchRunner {
    private let backends: [any InferenceBackend]
    private var workers: [(any InferenceWorker)?]
    /// Each worker's state-cache counts when last reported.
    private var stateCacheSeen: [(lookups: Int, hits: Int)]
    private var runnable: [Int] = []
    private var queries: [SessionQuery] = []
    private var results: [ScoredItems]

    init(backends: [any InferenceBackend], maxBatch: Int) {
        self.backends = backends
        workers = Array(repeating: nil, count: backends.count)
        stateCacheSeen = Array(repeating: (0, 0), count: backends.count)
        runnable.reserveCapacity(maxBatch)
        queries.reserveCapacity(maxBatch)
        results = Array(repeating: ScoredItems(), count: maxBatch)
    }

    /// What one batch did, for the server's counters.
    struct Report {
        var ran = 0
        var stateCacheLookups = 0
        var stateCacheHits = 0
    }

    /// Runs the requests of `slots` for `model` as one model call, setting each slot's outcome.
    func run(_ slots: [Int], model: Int, pool: RequestPool, now: UInt64) -> Report {
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
            // Made on first use: a thread that never runs a model never pays for its workspace.
            let worker = workers[model] ?? backends[model].makeWorker()
            workers[model] = worker
            worker.recommend(queries[...], into: &results)
            report.ran = queries.count
            if let counts = worker.stateCacheStatistics {
                report.stateCacheLookups = max(0, counts.lookups - stateCacheSeen[model].lookups)
                report.stateCacheHits = max(0, counts.hits - stateCacheSeen[model].hits)
                stateCacheSeen[model] = counts
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

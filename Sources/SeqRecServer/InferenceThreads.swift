// The worker threads: each takes due batches from the batcher, drops requests whose deadline
// passed in the queue, runs the rest as one model call with its own per-model worker, and hands
// the finished slots back to the event loop.
import SeqRecCore
import Foundation
import Synchronization

/// Finished slots on their way back to the event loop, which an eventfd wakes.
package final class CompletionQueue: Sendable {
    private let finished = Mutex<[Int]>([])
    private let wake: @Sendable () -> Void

    package init(wake: @escaping @Sendable () -> Void) { self.wake = wake }

    package func post(_ slots: [Int]) {
        let wasEmpty = finished.withLock { list in
            let wasEmpty = list.isEmpty
            list.append(contentsOf: slots)
            return wasEmpty
        }
        // One wakeup per non-empty transition: the loop takes the whole list each time.
        if wasEmpty { wake() }
    }

    /// Moves every finished slot into `slots` (cleared first); the two arrays swap storage.
    package func take(into slots: inout [Int]) {
        slots.removeAll(keepingCapacity: true)
        finished.withLock { swap(&$0, &slots) }
    }
}

package final class InferenceThreads: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let count: Int

    /// Starts `count` threads; each makes its own worker for every backend before serving.
    package init(count: Int, backends: [any InferenceBackend], batcher: Batcher, pool: RequestPool,
                 completions: CompletionQueue, counters: ServerCounters, maxBatch: Int) {
        self.count = count
        for index in 0..<count {
            let thread = Thread { [done] in
                let loop = WorkerLoop(backends: backends, pool: pool, counters: counters, maxBatch: maxBatch)
                loop.run(batcher: batcher, completions: completions)
                done.signal()
            }
            thread.name = "seqrec-worker-\(index)"
            thread.start()
        }
    }

    /// Waits until every thread has returned (after `Batcher.stop()`).
    package func join() {
        for _ in 0..<count { done.wait() }
    }
}

/// One thread's state: its workers and reusable batch buffers.
private final class WorkerLoop {
    private let workers: [any InferenceWorker]
    /// Each worker's state-cache counts when last added to the server's counters.
    private var stateCacheSeen: [(lookups: Int, hits: Int)]
    private let pool: RequestPool
    private let counters: ServerCounters
    private var batch: [Int] = []
    private var runnable: [Int] = []
    private var queries: [SessionQuery] = []
    private var results: [ScoredItems]

    init(backends: [any InferenceBackend], pool: RequestPool, counters: ServerCounters, maxBatch: Int) {
        workers = backends.map { $0.makeWorker() }
        stateCacheSeen = Array(repeating: (0, 0), count: backends.count)
        self.pool = pool
        self.counters = counters
        batch.reserveCapacity(maxBatch)
        runnable.reserveCapacity(maxBatch)
        queries.reserveCapacity(maxBatch)
        results = Array(repeating: ScoredItems(), count: maxBatch)
    }

    func run(batcher: Batcher, completions: CompletionQueue) {
        while let model = batcher.nextBatch(into: &batch) {
            let now = System.monotonicNanoseconds()
            for slot in batch {
                if pool[slot].deadline <= now {
                    pool[slot].outcome = .expired
                } else {
                    runnable.append(slot)
                    queries.append(pool[slot].query)
                }
            }
            if !queries.isEmpty {
                workers[model].recommend(queries[...], into: &results)
                counters.add(\.batches)
                counters.add(\.batchedRequests, queries.count)
                countStateCache(model)
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
            completions.post(batch)
        }
    }

    /// Adds what worker `model`'s state cache did since the last batch to the server's counters.
    private func countStateCache(_ model: Int) {
        guard let now = workers[model].stateCacheStatistics else { return }
        let seen = stateCacheSeen[model]
        if now.lookups > seen.lookups { counters.add(\.stateCacheLookups, now.lookups - seen.lookups) }
        if now.hits > seen.hits { counters.add(\.stateCacheHits, now.hits - seen.hits) }
        stateCacheSeen[model] = now
    }
}

// The one background thread of the model lifecycle (docs/OPERATIONS.md §11.3): it opens, validates
// and warms new versions, and drops released ones (unmapping their files and freeing their
// huge-page tables), one job at a time, so none of that runs on a serving thread. It runs at nice
// 10: on a busy machine the serving threads win the cores, so a reload costs running requests
// little (Benchmarks/RESULTS.md, "Model lifecycle").
import Foundation
import Glibc

final class LifecycleThread: @unchecked Sendable {
    // safe: `jobs`, `busy`, `stopping` and `started` are used only with `monitor` held.
    private let monitor = Monitor()
    private var jobs: [() -> Void] = []
    private var busy = false
    private var stopping = false
    private var started = false
    private let done = DispatchSemaphore(value: 0)
    static let niceness: Int32 = 10

    /// Queues `job`; the thread starts on first use.
    func submit(_ job: @escaping () -> Void) {
        let start = monitor.withLock { () -> Bool in
            guard !stopping else { return false }  // the server has stopped: nothing more runs
            jobs.append(job)
            monitor.broadcast()
            defer { started = true }
            return !started && !stopping
        }
        guard start else { return }
        let thread = Thread { [self] in
            _ = nice(Self.niceness)  // Linux: the calling thread only
            loop()
            done.signal()
        }
        thread.name = "seqrec-lifecycle"
        thread.start()
    }

    private func loop() {
        monitor.lock()
        while true {
            if let job = jobs.first {
                jobs.removeFirst()
                busy = true
                monitor.unlock()
                job()
                monitor.lock()
                busy = false
                monitor.broadcast()
                continue
            }
            if stopping { break }
            monitor.wait(until: nil)
        }
        monitor.unlock()
    }

    /// Waits until every job queued so far has finished (tests, reload calls that answer when done).
    func waitUntilIdle() {
        monitor.withLock {
            while busy || !jobs.isEmpty { monitor.wait(until: nil) }
        }
    }

    /// Finishes the queued jobs and ends the thread.
    func stop() {
        let wasStarted = monitor.withLock { () -> Bool in
            stopping = true
            monitor.broadcast()
            return started
        }
        if wasStarted { done.wait() }
    }
}

// The one background thread of the model lifecycle (docs/OPERATIONS.md §11.3): it opens, validates
// and warms new versions, and drops released ones (unmapping their files and freeing their
// huge-page tables), one job at a time, so none of that runs on a serving thread. It runs at nice
// 10: on a busy machine the serving threads win the cores, so a reload costs running requests
// little (Benchmarks/RESULTS.md, "Model lifecycle").
import Foundation
import Glibc
import SeqRecPosix

final class LifecycleThread: @unchecked Sendable {
    // safe: `jobs`, `busy`, `stopping` and `started` are used only with `monitor` held.
    private let monitor = Monitor()
    private var jobs: [() -> Void] = []
    private var busy = false
    private var stopping = false
    private var started = false
    /// A job repeated every `period` nanoseconds (the repository poll), and when it is next due.
    private var periodic: (period: UInt64, job: () -> Void)?
    private var nextPeriodic: UInt64 = 0
    private let done = DispatchSemaphore(value: 0)
    static let niceness: Int32 = 10

    /// Queues `job`; the thread starts on first use.
    func submit(_ job: @escaping () -> Void) {
        let start = monitor.withLock { () -> Bool in
            guard !stopping else { return false }  // the server has stopped: nothing more runs
            jobs.append(job)
            monitor.broadcast()
            defer { started = true }
            return !started
        }
        if start { startThread() }
    }

    /// Runs `job` every `seconds` seconds (first after one period), between queued jobs.
    func repeatEvery(seconds: Int, _ job: @escaping () -> Void) {
        let start = monitor.withLock { () -> Bool in
            guard !stopping else { return false }
            periodic = (UInt64(seconds) * 1_000_000_000, job)
            nextPeriodic = MonotonicClock.now() &+ UInt64(seconds) * 1_000_000_000
            monitor.broadcast()
            defer { started = true }
            return !started
        }
        if start { startThread() }
    }

    private func startThread() {        let thread = Thread { [self] in
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
            if let periodic {
                let now = MonotonicClock.now()
                if now >= nextPeriodic {
                    nextPeriodic = now &+ periodic.period
                    busy = true
                    monitor.unlock()
                    periodic.job()
                    monitor.lock()
                    busy = false
                    monitor.broadcast()
                    continue
                }
                monitor.wait(until: nextPeriodic)
            } else {
                monitor.wait(until: nil)
            }
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

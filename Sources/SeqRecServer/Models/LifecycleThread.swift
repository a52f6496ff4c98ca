// A background thread of the model lifecycle (docs/OPERATIONS.md §11.3): runs jobs one at a time,
// off the serving path. A server has two:
// - `lifecycle` (nice 10) runs reload jobs and publishes their results under the server's lock;
// - `loader` (SCHED_IDLE) does the heavy work: opening, checksumming and warming a new version, and
//   dropping a released one (munmap, freeing its huge-page table). A SCHED_IDLE thread runs only on
//   CPU time no other thread of its scheduling group wants and is preempted the moment a serving
//   thread wakes (what that buys and costs, measured: Benchmarks/RESULTS.md, "Issue 13 follow-up").
// Two threads because a SCHED_IDLE thread must never hold the server's lock (preempted while holding
// it, it would stall every serving thread for as long as the machine stays busy) and an unprivileged
// thread cannot leave SCHED_IDLE again (that needs RLIMIT_NICE or CAP_SYS_NICE).
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
    private let name: String
    let scheduling: ThreadScheduling

    init(name: String, scheduling: ThreadScheduling) {
        self.name = name
        self.scheduling = scheduling
    }

    /// Reload jobs and publishing (takes the server's lock): low priority, but never SCHED_IDLE.
    static func publisher() -> LifecycleThread { LifecycleThread(name: "seqrec-lifecycle", scheduling: .normal(nice: 10)) }

    /// Loading, warming and dropping versions (never takes the server's lock): idle time only.
    static func loader() -> LifecycleThread { LifecycleThread(name: "seqrec-loader", scheduling: .idle) }

    /// Queues `job`; the thread starts on first use. False when the thread has stopped (nothing runs).
    @discardableResult
    func submit(_ job: @escaping () -> Void) -> Bool {
        let (queued, start) = monitor.withLock { () -> (Bool, Bool) in
            guard !stopping else { return (false, false) }  // the server has stopped: nothing more runs
            jobs.append(job)
            monitor.broadcast()
            defer { started = true }
            return (true, !started)
        }
        if start { startThread() }
        return queued
    }

    /// Runs `body` on this thread and waits for its result (call from another thread). After `stop`
    /// it runs on the caller instead, so a job finishing during shutdown still completes.
    func perform<T>(_ body: @escaping () -> T) -> T {
        let outcome = Outcome<T>()
        guard submit({ outcome.set(body()) }) else { return body() }
        return outcome.wait()
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

    private func startThread() {
        let thread = Thread { [self] in
            // Best effort: where the policy cannot be set (a seccomp profile), versions still load,
            // at the server's own priority.
            try? scheduling.apply()
            loop()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    private func loop() {
        monitor.lock()
        while true {
            if !jobs.isEmpty {
                let job = jobs.removeFirst()
                busy = true
                monitor.unlock()
                job()  // its captures (a dropped version) are released here, on this thread
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

/// One `perform` result, handed from the thread that computes it to the one that waits.
private final class Outcome<T>: @unchecked Sendable {
    // safe: `value` is written once before `ready` is signalled and read only after waiting on it.
    private var value: T?
    private let ready = DispatchSemaphore(value: 0)

    func set(_ value: T) {
        self.value = value
        ready.signal()
    }

    func wait() -> T {
        ready.wait()
        return value!
    }
}

// Per-thread scheduling: what `apply` sets is what the kernel reports for that thread, and only for it.
import Foundation
import Testing
@testable import SeqRecPosix

@Suite struct ThreadSchedulingTests {
    /// Runs `body` on a fresh thread (scheduling changes must not leak into the test runner's threads).
    private func onFreshThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let box = ResultBox<T>()
        let thread = Thread {
            box.value = body()
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return box.value!
    }

    @Test func idleIsReportedForTheThreadThatSetIt() {
        let (after, outer) = onFreshThread { () -> (ThreadScheduling?, ThreadScheduling?) in
            let before = ThreadScheduling.current()
            let applied = (try? ThreadScheduling.idle.apply()) != nil
            return (applied ? ThreadScheduling.current() : nil, before)
        }
        #expect(after == .idle)
        #expect(outer != .idle, "a new thread starts with its creator's policy, not idle")
        #expect(ThreadScheduling.current() != .idle, "the test thread is untouched")
    }

    @Test func niceIsPerThread() {
        let mine = ThreadScheduling.current()
        let theirs = onFreshThread { () -> ThreadScheduling? in
            guard (try? ThreadScheduling.normal(nice: 10).apply()) != nil else { return nil }
            return ThreadScheduling.current()
        }
        #expect(theirs == .normal(nice: 10))
        #expect(ThreadScheduling.current() == mine)
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    // safe: written by one thread before `done` is signalled, read after waiting on it.
    var value: T?
    let done = DispatchSemaphore(value: 0)
}

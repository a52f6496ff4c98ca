// The extra threads of the server's crew: each runs the same body (lead, run batches, or wait) until
// the server stops.
import Foundation

final class CrewThreads: @unchecked Sendable {
    // safe: immutable after init; DispatchSemaphore is thread-safe.
    private let done = DispatchSemaphore(value: 0)
    private let count: Int

    init(count: Int, body: @escaping @Sendable () -> Void) {
        self.count = count
        for index in 0..<count {
            let thread = Thread { [done] in
                body()
                done.signal()
            }
            thread.name = "seqrec-crew-\(index + 1)"
            thread.start()
        }
    }

    /// Waits until every thread has returned.
    func join() {
        for _ in 0..<count { done.wait() }
    }
}

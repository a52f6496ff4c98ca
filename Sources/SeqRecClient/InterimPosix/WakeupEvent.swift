// INTERIM COPY of the server branch's SeqRecPosix (work in progress there): deleted when SeqRecPosix merges.
// Descriptors that carry no data, only readiness: an eventfd other threads use to wake a poller,
// and a timerfd armed at absolute monotonic times (nanosecond resolution where epoll's own timeout
// has only milliseconds).
import CLinux
import Glibc

/// An eventfd: `signal()` from any thread makes it readable until `reset()`.
package final class WakeupEvent: @unchecked Sendable {
    // safe to share: immutable; eventfd reads and writes are atomic in the kernel.
    package let descriptor: Int32

    package init() throws(SystemError) {
        descriptor = try Retry.call("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }

    deinit { _ = Glibc.close(descriptor) }

    /// Adds one to the counter; a full counter already guarantees a wakeup, so EAGAIN is fine.
    package func signal() {
        var one: UInt64 = 1
        while Glibc.write(descriptor, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the counter to zero (not readable any more).
    package func reset() {
        var value: UInt64 = 0
        while Glibc.read(descriptor, &value, 8) < 0 && errno == EINTR {}
    }
}


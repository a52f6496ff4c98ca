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

/// A CLOCK_MONOTONIC timerfd: readable once the armed time has passed, until `acknowledge()`.
package final class DeadlineTimer {
    package let descriptor: Int32

    package init() throws(SystemError) {
        descriptor = try Retry.call("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC) | Int32(TFD_NONBLOCK))
        }
    }

    deinit { _ = Glibc.close(descriptor) }

    /// Fires once at `nanoseconds` on `MonotonicClock` (at once if that has passed).
    package func arm(at nanoseconds: UInt64) throws(SystemError) {
        var specification = itimerspec()
        specification.it_value = timespec(max(nanoseconds, 1))
        let fd = descriptor
        _ = try Retry.call("timerfd_settime") { timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &specification, nil) }
    }

    /// Consumes the expiry count so the descriptor stops being readable.
    package func acknowledge() {
        var expirations: UInt64 = 0
        _ = Glibc.read(descriptor, &expirations, MemoryLayout<UInt64>.size)
    }
}

// The one clock of SeqRec: CLOCK_MONOTONIC in nanoseconds, the base of every deadline, timeout and
// latency measurement in the server, the client and the benchmarks.
import Glibc

package enum MonotonicClock {
    /// Nanoseconds since an arbitrary start; never allocates, safe inside timed regions.
    @inline(__always)
    package static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        // safe: CLOCK_MONOTONIC is non-negative and far below 2^63 ns (292 years of uptime).
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Sleeps until `deadline` on this clock (returns at once if it has passed).
    package static func sleep(until deadline: UInt64) {
        var target = timespec(deadline)
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}

extension timespec {
    /// A monotonic time in nanoseconds as a timespec.
    init(_ nanoseconds: UInt64) {
        self.init(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}

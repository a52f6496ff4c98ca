#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds from CLOCK_MONOTONIC: no allocation, safe to call inside the timed region.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    // safe: CLOCK_MONOTONIC is non-negative and far below 2^63 ns (292 years of uptime).
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Sleeps until the given monotonic time (returns at once if it has passed).
public func sleepUntil(nanoseconds deadline: UInt64) {
    var target = timespec()
    target.tv_sec = Int(deadline / 1_000_000_000)
    target.tv_nsec = Int(deadline % 1_000_000_000)
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
}

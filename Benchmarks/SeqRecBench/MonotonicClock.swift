// The benchmarks' names for SeqRecPosix's one monotonic clock.
import SeqRecPosix

/// Nanoseconds from CLOCK_MONOTONIC: no allocation, safe to call inside the timed region.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 { MonotonicClock.now() }

/// Sleeps until the given monotonic time (returns at once if it has passed).
public func sleepUntil(nanoseconds deadline: UInt64) { MonotonicClock.sleep(until: deadline) }

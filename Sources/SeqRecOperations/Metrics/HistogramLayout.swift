// Bucket boundaries of the server's histograms, fixed at compile time so a worker's slab has a
// fixed shape and an observation is a short binary search over a constant array.

public struct HistogramLayout: Sendable, Equatable {
    /// Upper bounds in the observed unit (nanoseconds, or a plain count), ascending; +Inf is implicit.
    public let upperBounds: [UInt64]
    /// Multiplies an observed value into the exposed unit (1e-9 turns nanoseconds into seconds).
    public let scale: Double

    /// Latencies from 10 µs to 10 s: a few µs of queue wait and a 1M-item scan both land mid-range.
    public static let seconds = HistogramLayout(
        upperBounds: [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000,
                      250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000].map { $0 * 1_000 },
        scale: 1e-9)

    /// Requests per model call: powers of two up to the largest --max-batch.
    public static let batchSize = HistogramLayout(upperBounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024], scale: 1)

    /// Buckets including +Inf.
    public var bucketCount: Int { upperBounds.count + 1 }

    /// Counters a histogram occupies in a slab: every bucket, then the sum.
    var slotCount: Int { bucketCount + 1 }

    /// The bucket `value` falls in (the first bound ≥ value; the last bucket is +Inf).
    @inline(__always)
    public func bucket(of value: UInt64) -> Int {
        upperBounds.withUnsafeBufferPointer { bounds in
            // Lower bound by halving: about 5 steps for 19 bounds wherever the value lands.
            // safe: low + half < low + count ≤ bounds.count at every read.
            var low = 0, count = bounds.count
            while count > 0 {
                let half = count / 2
                if value > bounds[low + half] {
                    low += half + 1
                    count -= half + 1
                } else {
                    count = half
                }
            }
            return low
        }
    }
}

// A fixed-size log-linear latency histogram (the HdrHistogram idea, written for this project):
// exact below 128 ns, then 64 linear sub-buckets per power of two, so any recorded value is
// reproduced within 1/64 (1.6 %). Recording never allocates, so load-generator threads can
// record at full rate, and histograms of several threads merge by adding counts.

#if canImport(Glibc)
import Glibc
#endif

public struct LatencyHistogram: Sendable {
    private static let subBucketBits = 6
    private static let subBuckets = 1 << subBucketBits
    /// Covers values below 2^40 ns (18 minutes); larger values land in the top bucket.
    private static let maximumExponent = 40
    private static let bucketCount = (maximumExponent - subBucketBits + 1) * subBuckets + subBuckets

    private var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var minimum: UInt64 = .max
    public private(set) var maximum: UInt64 = 0
    private var total: Double = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    @inline(__always)
    private static func index(of value: UInt64) -> Int {
        if value < UInt64(2 * subBuckets) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // ≥ subBucketBits + 1
        let shift = Swift.min(exponent, maximumExponent) - subBucketBits
        let clamped = Swift.min(value, (UInt64(1) << UInt64(maximumExponent + 1)) - 1)
        // sub is in subBuckets ..< 2·subBuckets, and shift ≥ 1.
        let sub = Int(clamped >> UInt64(shift))
        return shift * subBuckets + sub
    }

    /// The largest value that maps to bucket `index` (what percentiles report: never optimistic).
    private static func upperBound(of index: Int) -> UInt64 {
        if index < 2 * subBuckets { return UInt64(index) }
        let shift = index / subBuckets - 1
        let sub = index - shift * subBuckets
        return ((UInt64(sub) + 1) << UInt64(shift)) - 1
    }

    /// Records one latency in nanoseconds.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        counts[Self.index(of: nanoseconds)] &+= 1
        count &+= 1
        total += Double(nanoseconds)
        if nanoseconds < minimum { minimum = nanoseconds }
        if nanoseconds > maximum { maximum = nanoseconds }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
        count &+= other.count
        total += other.total
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
    }

    /// Nearest-rank percentile in nanoseconds (bucket upper bound, capped at the true maximum).
    public func percentile(_ percent: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(UInt64((percent / 100 * Double(count)).rounded(.up)), 1)
        var seen: UInt64 = 0
        for (index, bucket) in counts.enumerated() where bucket > 0 {
            seen &+= bucket
            if seen >= rank { return Swift.min(Self.upperBound(of: index), maximum) }
        }
        return maximum
    }

    public var meanNanoseconds: Double { count == 0 ? 0 : total / Double(count) }

    /// The histogram as a latency summary in microseconds.
    public var summary: LatencySummary {
        LatencySummary(count: Int(count), p50: Double(percentile(50)) / 1000,
                       p90: Double(percentile(90)) / 1000, p99: Double(percentile(99)) / 1000,
                       p999: Double(percentile(99.9)) / 1000, mean: meanNanoseconds / 1000,
                       min: count == 0 ? 0 : Double(minimum) / 1000, max: Double(maximum) / 1000)
    }

    /// (percentile, latency µs) points for a percentile-spectrum plot: `pointsPerDecade` points per
    /// "nine" (p90, p99, p99.9 …), up to the resolution the sample count supports.
    public func spectrum(pointsPerDecade: Int = 8) -> [(percent: Double, microseconds: Double)] {
        guard count > 0 else { return [] }
        let nines = Swift.min(5.0, Swift.max(1.0, log10(Double(count))))
        let steps = Int(nines * Double(pointsPerDecade))
        return (0...steps).map { step in
            let percent = 100 * (1 - pow(10, -Double(step) / Double(pointsPerDecade)))
            return (percent, Double(percentile(Swift.max(percent, 0.0001))) / 1000)
        }
    }
}

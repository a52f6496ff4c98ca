// Percentiles of a set of latency samples, and the spread of one statistic across repeats.
//
// Percentiles use the nearest-rank definition (the smallest sample with at least p % of the
// samples at or below it), the same rule as Benchmarks/pycompare/timing.py, so the Swift and the
// Python engines are summarised identically.

/// Latency statistics of one measured run, in microseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var mean: Double
    public var min: Double
    public var max: Double

    /// Summarises samples given in nanoseconds; sorts `samples` in place.
    public init(sortingNanoseconds samples: inout [UInt64]) {
        precondition(!samples.isEmpty, "a latency summary needs at least one sample")
        samples.sort()
        count = samples.count
        p50 = Self.microseconds(Self.nearestRank(samples, percent: 50))
        p90 = Self.microseconds(Self.nearestRank(samples, percent: 90))
        p99 = Self.microseconds(Self.nearestRank(samples, percent: 99))
        p999 = Self.microseconds(Self.nearestRank(samples, percent: 99.9))
        var total: Double = 0
        for sample in samples { total += Double(sample) }
        mean = total / Double(samples.count) / 1000
        min = Self.microseconds(samples[0])
        max = Self.microseconds(samples[samples.count - 1])
    }

    public init(count: Int, p50: Double, p90: Double, p99: Double, p999: Double,
                mean: Double, min: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.mean = mean
        self.min = min
        self.max = max
    }

    /// Nearest-rank percentile of ascending samples; `percent` in 0…100.
    public static func nearestRank<T>(_ sorted: [T], percent: Double) -> T {
        precondition(!sorted.isEmpty, "percentile of no samples")
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }

    private static func microseconds(_ nanoseconds: UInt64) -> Double {
        Double(nanoseconds) / 1000
    }
}

/// Median and range of one statistic over repeated runs of the same configuration.
public struct Spread: Sendable, Equatable, Codable {
    public var median: Double
    public var min: Double
    public var max: Double

    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "a spread needs at least one value")
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
    }
}

/// Spreads of the main percentiles across repeats.
public struct RepeatedSummary: Sendable, Codable {
    public var repeats: [LatencySummary]
    public var p50: Spread
    public var p90: Spread
    public var p99: Spread
    public var p999: Spread

    public init(_ repeats: [LatencySummary]) {
        self.repeats = repeats
        p50 = Spread(repeats.map(\.p50))
        p90 = Spread(repeats.map(\.p90))
        p99 = Spread(repeats.map(\.p99))
        p999 = Spread(repeats.map(\.p999))
    }
}

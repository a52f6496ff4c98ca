// The in-process timing loop: warm-up, then one wall-clock sample per call, with the heap
// allocations of the timed calls counted by the malloc interposer.

/// How long to measure one configuration.
public struct TimingPlan: Sendable, Codable {
    /// Untimed calls first: page faults, lazy buffers and branch predictors settle here. Capped
    /// at `maxWarmupSeconds` (but at least two calls) so slow configurations stay affordable.
    public var warmup: Int
    public var maxWarmupSeconds: Double = 0.5
    /// Upper bound on timed calls per repeat.
    public var iterations: Int
    /// A repeat stops early after this many seconds, but never before `minimumIterations`.
    public var maxSeconds: Double
    public var minimumIterations: Int
    /// Independent repeats (each with its own warm-up): the spread across them shows noise.
    public var repeats: Int

    public init(warmup: Int = 100, iterations: Int = 5_000, maxSeconds: Double = 3,
                minimumIterations: Int = 20, repeats: Int = 3) {
        precondition(warmup >= 0 && iterations >= 1 && repeats >= 1 && minimumIterations >= 1,
                     "timing plan needs warmup ≥ 0, iterations ≥ 1, repeats ≥ 1")
        self.warmup = warmup
        self.iterations = iterations
        self.maxSeconds = maxSeconds
        self.minimumIterations = minimumIterations
        self.repeats = repeats
    }
}

/// One repeat: its latency statistics and the heap allocations seen during the timed calls.
public struct TimedRun: Sendable, Codable {
    public var latency: LatencySummary
    public var allocations: UInt64
    public var calls: Int
}

public enum TimingLoop {
    /// Runs `body` per the plan and returns one `TimedRun` per repeat. Between two clock reads
    /// there is only `body`; the sample array is reserved up front, so the loop itself allocates
    /// nothing and the allocation count (this thread's: the body runs here) is the body's own.
    public static func measure(_ plan: TimingPlan, _ body: () -> Void) -> [TimedRun] {
        var runs: [TimedRun] = []
        var samples: [UInt64] = []
        samples.reserveCapacity(plan.iterations)
        for _ in 0..<plan.repeats {
            let warmupEnd = monotonicNanoseconds() + UInt64(plan.maxWarmupSeconds * 1e9)
            for index in 0..<plan.warmup {
                body()
                if index >= 1 && monotonicNanoseconds() > warmupEnd { break }
            }
            samples.removeAll(keepingCapacity: true)
            let budget = UInt64(plan.maxSeconds * 1e9)
            let before = AllocationCounts.thisThread()
            let start = monotonicNanoseconds()
            while samples.count < plan.iterations {
                let callStart = monotonicNanoseconds()
                body()
                let callEnd = monotonicNanoseconds()
                samples.append(callEnd &- callStart)
                if samples.count >= plan.minimumIterations && callEnd &- start > budget { break }
            }
            let allocations = AllocationCounts.thisThread().allocationsSince(before)
            let calls = samples.count
            runs.append(TimedRun(latency: LatencySummary(sortingNanoseconds: &samples),
                                 allocations: allocations, calls: calls))
        }
        return runs
    }
}

import Testing
@testable import SeqRecBench

@Suite(.serialized) struct MeasurementTests {
    @Test func interposerSeesSwiftRuntimeAllocations() {
        #expect(AllocationCounts.isActive, "malloc interposer must be linked and exported")
        let before = AllocationCounts.now()
        let threadBefore = AllocationCounts.thisThread()
        var arrays: [[Int]] = []
        for index in 0..<10 { arrays.append([Int](repeating: index, count: 100 + index)) }
        let counted = AllocationCounts.now().allocationsSince(before)
        let countedHere = AllocationCounts.thisThread().allocationsSince(threadBefore)
        #expect(counted >= 10, "ten array buffers were allocated, counted \(counted)")
        #expect(countedHere >= 10 && countedHere <= counted)
        #expect(arrays.count == 10)
    }

    @Test func timingLoopReportsZeroAllocationsForAllocationFreeBody() {
        var sink = 0
        let runs = TimingLoop.measure(TimingPlan(warmup: 5, iterations: 200, maxSeconds: 5, repeats: 2)) {
            for value in 0..<100 { sink &+= value }
        }
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { $0.calls == 200 && $0.allocations == 0 })
        #expect(sink != 0)
    }

    @Test func timingLoopCountsAllocationsOfTheBody() {
        let runs = TimingLoop.measure(TimingPlan(warmup: 0, iterations: 50, maxSeconds: 5, repeats: 1)) {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)
            buffer.deallocate()
        }
        #expect(runs[0].allocations == 50)
    }

    @Test func timingLoopStopsAtTheTimeBudgetAfterTheMinimum() {
        let runs = TimingLoop.measure(TimingPlan(warmup: 0, iterations: 1_000_000, maxSeconds: 0.01,
                                                 minimumIterations: 5, repeats: 1)) {
            sleepUntil(nanoseconds: monotonicNanoseconds() + 1_000_000)
        }
        #expect(runs[0].calls >= 5 && runs[0].calls < 100)
        #expect(runs[0].latency.p50 >= 1000, "each call sleeps ≥ 1 ms")
    }

    @Test func bandwidthProbeReportsConsistentBound() {
        let result = BandwidthProbe.run(rows: 20_000, dim: 64, repeats: 2)
        #expect(result.bytes == 20_000 * 64 * 4)
        #expect(result.gbPerS > 0 && result.gbPerS >= result.readBestGBPerS && result.gbPerS >= result.scoreBestGBPerS)
        let expected = Double(result.bytes) / result.gbPerS / 1000
        #expect(abs(result.boundUs - expected) < 1e-6 * expected)
        // every element is Float(i % 97)·0.01 − 0.48; the read pass sums them all, twice
        #expect(result.checksum.isFinite)
    }
}

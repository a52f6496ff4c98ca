@testable import SeqRecBench
import SeqRecTestSupport
import Testing

@Suite struct StatisticsTests {
    @Test func nearestRankPercentilesOfOneToHundred() {
        var samples = (1...100).reversed().map { UInt64($0) * 1000 }
        let summary = LatencySummary(sortingNanoseconds: &samples)
        #expect(summary.p50 == 50)
        #expect(summary.p90 == 90)
        #expect(summary.p99 == 99)
        #expect(summary.p999 == 100)
        #expect(summary.min == 1 && summary.max == 100)
        #expect(summary.mean == 50.5)
        #expect(samples.first == 1000, "summarising sorts the samples in place")
    }

    @Test func singleSampleIsEveryPercentile() {
        var samples: [UInt64] = [2500]
        let summary = LatencySummary(sortingNanoseconds: &samples)
        #expect(summary.p50 == 2.5 && summary.p999 == 2.5)
    }

    @Test func spreadIsMedianAndRange() {
        let odd = Spread([3, 1, 2])
        #expect(odd.median == 2 && odd.min == 1 && odd.max == 3)
        let even = Spread([4, 1, 3, 2])
        #expect(even.median == 2.5)
    }

    @Test func histogramIsExactBelow128AndWithinOnePart64Above() {
        var histogram = LatencyHistogram()
        for value in [5, 127] { histogram.record(UInt64(value)) }
        #expect(histogram.percentile(50) == 5)
        #expect(histogram.percentile(100) == 127)
        for value: UInt64 in [128, 1000, 123_456, 9_876_543_210, 1 << 45] {
            var single = LatencyHistogram()
            single.record(value)
            single.record(1)  // keeps the maximum cap from hiding the bucket bound
            single.record(UInt64.max / 2)
            let reported = single.percentile(50)
            if value < (1 << 41) {
                #expect(reported >= value, "bucket upper bound is never optimistic")
                #expect(Double(reported - value) <= Double(value) / 64, "relative error ≤ 1/64 for \(value)")
            } else {
                #expect(reported >= (1 << 40), "values past the range land in the top bucket")
            }
        }
    }

    @Test func histogramPercentilesMatchSortedSamples() {
        var histogram = LatencyHistogram()
        var generator = SplitMix64(seed: 42)
        var samples: [UInt64] = []
        for _ in 0..<20_000 {
            let value = 10_000 + generator.next() % 5_000_000
            samples.append(value)
            histogram.record(value)
        }
        var sorted = samples
        let exact = LatencySummary(sortingNanoseconds: &sorted)
        let approximate = histogram.summary
        for (a, e) in [(approximate.p50, exact.p50), (approximate.p99, exact.p99), (approximate.p999, exact.p999)] {
            #expect(a >= e && a <= e * (1 + 1.0 / 64) + 0.001, "seed 42: \(a) vs exact \(e)")
        }
        #expect(approximate.max == exact.max && approximate.min == exact.min)
    }

    @Test func mergedHistogramsAddCounts() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        for value: UInt64 in 1...100 { a.record(value) }
        for value: UInt64 in 101...200 { b.record(value) }
        a.merge(b)
        #expect(a.count == 200)
        #expect(a.minimum == 1 && a.maximum == 200)
        #expect(a.percentile(50) == 100)
    }
}

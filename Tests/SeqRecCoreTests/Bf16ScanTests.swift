// The bf16 scan: rounding to bf16, the query split, every Bf16Dot path within the rounding bound the exact
// scan assumes (docs/KERNELS.md, "Exact top-k from the bf16 scan") on awkward shapes, and the exact bf16
// top-k against the fp32 fused scan (same items, bit-identical scores) on adversarial tables, on every
// Bf16Dot path this CPU has (naiveSplit, vdpbf16ps emulated in Swift, runs the AVX-512 arithmetic — DAZ, FTZ,
// its order — on CPUs without AVX-512 BF16).
import Foundation
import Testing
@testable import SeqRecCore
import SeqRecTestSupport

@Suite("Bf16 scan")
struct Bf16ScanTests {
    static var paths: [Bf16Dot] { Bf16Dot.allCases.filter(\.isSupported) }

    /// The nearest bf16 by exhaustive comparison with both neighbours (ties: the even one), in Double.
    static func nearest(_ x: Float) -> UInt16 {
        let down = UInt16(truncatingIfNeeded: x.bitPattern >> 16), up = down &+ 1
        let distanceDown = abs(Double(x) - Double(Bf16ScanTable.widen(down)))
        let distanceUp = abs(Double(x) - Double(Bf16ScanTable.widen(up)))   // up may be ±∞: distance ∞
        if distanceDown != distanceUp { return distanceDown < distanceUp ? down : up }
        return down & 1 == 0 ? down : up
    }

    @Test func roundingIsToNearestTiesToEven() {
        #expect(Bf16ScanTable.rounded(1) == 0x3F80)
        #expect(Bf16ScanTable.rounded(Float(bitPattern: 0x3F80_8000)) == 0x3F80)   // tie → even (down)
        #expect(Bf16ScanTable.rounded(Float(bitPattern: 0x3F81_8000)) == 0x3F82)   // tie → even (up)
        #expect(Bf16ScanTable.rounded(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(Bf16ScanTable.rounded(-Float(bitPattern: 0x3F80_7FFF)) == 0xBF80)
        #expect(Bf16ScanTable.rounded(.greatestFiniteMagnitude) == 0x7F80)          // rounds to +∞
        #expect(!Bf16ScanTable.isFinite(Bf16ScanTable.rounded(.nan)))
        #expect(Bf16ScanTable.rounded(Float(bitPattern: 0x0000_8000)) == 0)        // subnormal tie → even (0)
        var rng = SplitMix64(seed: 16)
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard x.isFinite, x.magnitude < 3e38 else { continue }
            #expect(Bf16ScanTable.rounded(x) == Self.nearest(x), "\(x)")
        }
    }

    @Test func splitPartsAreBf16WithinTheirResidual() {
        var rng = SplitMix64(seed: 17)
        let u = rng.floats(67, scale: 3) + [subnormal(1e-39), -3e-38, 0, 1.5, Float(bitPattern: 0x3F80_8001)]
        var hi = [UInt16](repeating: 0, count: u.count), lo = hi
        let split = Bf16ScanTable.split(u, width: u.count, hi: &hi, lo: &lo)!
        var residual = 0.0, norm = 0.0
        for j in u.indices {
            let h = Double(Bf16ScanTable.widen(hi[j])), l = Double(Bf16ScanTable.widen(lo[j]))
            #expect(!Bf16ScanTable.isSubnormal(hi[j]) && !Bf16ScanTable.isSubnormal(lo[j]))
            #expect(abs(Double(u[j]) - h - l) <= abs(Double(u[j])) * 0x1p-16 + 0x1p-125, "element \(j)")
            residual += (Double(u[j]) - h - l) * (Double(u[j]) - h - l)
            norm += (abs(h) + abs(l)) * (abs(h) + abs(l))
        }
        #expect(split.delta >= residual.squareRoot() && split.norm >= norm.squareRoot())
        #expect(hi[u.count - 5] == 0 && lo[u.count - 5] == 0)   // 1e-39 is subnormal: both parts zero
        #expect(Bf16ScanTable.split([3.4e38], width: 1, hi: &hi, lo: &lo) == nil)
    }

    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4096])
    func dotPathsStayWithinTheirRoundingBound(width: Int) {
        var rng = SplitMix64(seed: testSeed(19, width))
        for count in [0, 1, 3, 4, 5, 9] {
            var values = rng.floats(count * width, scale: 4)
            if count > 1 { for j in 0..<width { values[j] = j % 2 == 0 ? 3e30 : -1e-30 } }   // wide magnitudes
            if count > 2 {   // subnormal and just-normal elements: read as zero by vdpbf16ps, subnormal products
                for j in 0..<width { values[width + j] = [subnormal(1e-39), -2e-38, 3e-38, subnormal(-7e-40)][j % 4] * (1 + values[width + j] / 8) }
            }
            let rows = values.map(Bf16ScanTable.rounded)
            var query = rng.floats(width, scale: 2)
            for j in stride(from: 3, to: width, by: 5) { query[j] *= 1e-3 }   // × 2·10⁻³⁸: products below 2⁻¹²⁶
            var hi = [UInt16](repeating: 0, count: width), lo = hi
            _ = Bf16ScanTable.split(query, width: width, hi: &hi, lo: &lo)
            for path in Self.paths {
                var out = [Float](repeating: -7, count: count + 1)   // one guard entry past the end
                path.dots(count: count, width: width, rows: rows, query: query, hi: hi, lo: lo, into: &out)
                let n = Double(path.roundings(width: width) - 1), gamma = n * 0x1p-24 / (1 - n * 0x1p-24)
                // Underflow (KERNELS.md step 3): split paths read β̂ (subnormal elements as zero) and may flush
                // each of their 2P + 1 operations' results below 2⁻¹²⁶ (P = 2w terms); fp32-query paths lose
                // at most 2⁻¹⁵⁰ per rounding with gradual underflow.
                let absolute = path.splitsQuery ? Double(2 * 2 * width + 1) * 0x1p-126 : Double(width + 1) * 0x1p-149
                for i in 0..<count {
                    var exact = 0.0, magnitude = 0.0
                    for j in 0..<width {
                        let bits = rows[i * width + j]
                        let r = path.splitsQuery && Bf16ScanTable.isSubnormal(bits) ? 0 : Double(Bf16ScanTable.widen(bits))
                        let parts = path.splitsQuery
                            ? [Double(Bf16ScanTable.widen(hi[j])), Double(Bf16ScanTable.widen(lo[j]))] : [Double(query[j])]
                        for q in parts { exact += r * q; magnitude += abs(r * q) }
                    }
                    #expect(abs(Double(out[i]) - exact) <= gamma * magnitude + absolute,
                            "\(path) width \(width) row \(i): \(out[i]) vs \(exact)")
                }
                #expect(out[count] == -7, "\(path) wrote past the end")
            }
        }
    }

    /// naiveSplit follows Intel's vdpbf16ps pseudo-code: per lane the odd element first, each step one
    /// fused multiply-add rounded to nearest even; subnormal inputs read as zero, subnormal results flushed.
    @Test func naiveSplitEmulatesVdpbf16ps() {
        func dot(_ row: [UInt16], _ hi: [UInt16], _ lo: [UInt16]) -> Float {
            var out: [Float] = [0]
            Bf16Dot.naiveSplit.dots(count: 1, width: row.count, rows: row, query: row.map(Bf16ScanTable.widen),
                                    hi: hi, lo: lo, into: &out)
            return out[0]
        }
        let one: UInt16 = 0x3F80, two24: UInt16 = 0x4B80, minusTwo24: UInt16 = 0xCB80
        // Lane 0 sums 1·2²⁴ (odd, hi), 1·0 (even, hi), 1·1 (odd, lo) → 2²⁴ (tie to even), 1·(−2²⁴) (even, lo) → 0;
        // the even element first would give 1.
        #expect(dot([one, one], [0, two24], [minusTwo24, one]) == 0)
        #expect(dot([0x0040, one], [one, 0], [0, 0]) == 0)                     // DAZ: subnormal 2⁻¹²⁷ × 1 reads as 0
        #expect(dot([0x0D80, one], [0x3180, 0], [0, 0]) == 0)                  // FTZ: 2⁻¹⁰⁰ × 2⁻²⁸ = 2⁻¹²⁸ is flushed
        #expect(dot([0x0D80, one], [0x3380, 0], [0, 0]) == 0x1p-124)           // 2⁻¹⁰⁰ × 2⁻²⁴ is normal: kept
        #expect(dot([one, 0x0040], [one, one], [0, 0]) == 1)                     // odd element 2⁻¹²⁷ read as 0
    }

    // MARK: Exact top-k

    /// Runs `queries` through a scorer with the bf16 table (on `path`) and, one session at a time, through
    /// the fp32 fused scan; returns both and the exact scan's statistics.
    func run(_ table: Int8ScanTests.Table, _ queries: [SessionQuery], _ readouts: [Float], path: Bf16Dot)
        -> (exact: [Recommendation], fp32: [Recommendation], statistics: ExactScanStatistics) {
        let rows = table.values.map(Bf16ScanTable.rounded)
        var exact = [Recommendation](repeating: Recommendation(), count: queries.count)
        var fp32 = exact
        var statistics = ExactScanStatistics()
        table.values.withUnsafeBufferPointer { t in
            readouts.withUnsafeBufferPointer { readout in
                let body = { (bias: UnsafePointer<Float>?) in
                    let scoring = ScoringTable(table: t.baseAddress!, bias: bias, rows: table.rows, width: table.width,
                                               firstItem: table.firstItem)
                    rows.withUnsafeBufferPointer { b in
                        let bf16 = try! Bf16ScanTable(fp32: scoring, rows: b.baseAddress!, rowsShape: [table.rows, table.width],
                                                      storage: nil)
                        let scorer = CatalogScorer(table: scoring, maxBatch: queries.count, reduced: .bf16(bf16))
                        scorer.bf16DotOverride = path
                        scorer.select(queries[...], readout: readout.baseAddress!, into: &exact, offset: 0,
                                      kernels: Kernels(.automatic))
                        statistics = scorer.exactScanStatistics!
                    }
                    let reference = CatalogScorer(table: scoring, maxBatch: 1)
                    for b in queries.indices {
                        reference.select(queries[b...b], readout: readout.baseAddress! + b * table.width,
                                         into: &fp32, offset: b, kernels: Kernels(.automatic))
                    }
                }
                if let bias = table.bias { bias.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
            }
        }
        return (exact, fp32, statistics)
    }

    func expectSame(_ table: Int8ScanTests.Table, _ queries: [SessionQuery], _ readouts: [Float], _ label: String)
        -> [ExactScanStatistics] {
        Self.paths.map { path in
            let (exact, fp32, statistics) = run(table, queries, readouts, path: path)
            for b in queries.indices {
                #expect(exact[b].items == fp32[b].items, "\(label) [\(path)] session \(b)")
                #expect(exact[b].scores == fp32[b].scores, "\(label) [\(path)] session \(b): scores differ")
                #expect(!exact[b].items.isEmpty, "\(label) [\(path)] session \(b)")
            }
            return statistics
        }
    }

    /// Int8ScanTests' mix (exclude-seen, deny lists, candidate sessions) plus an allow-list session.
    static func queries(_ count: Int, rows: Int) -> [SessionQuery] {
        var queries = Int8ScanTests.queries(count, rows: rows)
        if count >= 3 { queries[2].allow = (1..<Int32(rows)).filter { $0 % 2 == 1 } }
        return queries
    }

    @Test(arguments: [1, 3, 8], [13, 64])
    func randomTablesGiveTheFp32TopKWithoutFallback(sessions: Int, width: Int) {
        var rng = SplitMix64(seed: testSeed(sessions, width, 16))
        let rows = 5003
        let table = Int8ScanTests.Table(rows: rows, width: width, firstItem: 1, values: rng.floats(rows * width), bias: nil)
        let readouts = rng.floats(sessions * width, scale: 2) + [0]
        for statistics in expectSame(table, Self.queries(sessions, rows: rows), readouts, "random") {
            #expect(statistics.fallbacks == 0)
            #expect(statistics.approximate > 0)
            #expect(statistics.rescored < 400 * statistics.approximate)
        }
    }

    /// Rows that differ from the best one in the last bits (identical in bf16): fp32 re-scoring orders them.
    @Test func nearTiesAndBias() {
        var rng = SplitMix64(seed: 32)
        let rows = 3000, width = 32
        var values = rng.floats(rows * width)
        for i in 100..<300 { for j in 0..<width { values[i * width + j] = values[j] * (1 + Float(i % 7) * 0x1p-22) } }
        let bias = (0..<rows).map { i in i % 11 == 0 ? Float(1e-7) * Float(i % 3) : 0 }
        let readouts = (0..<(4 * width)).map { j in values[j % width] } + [0]
        for statistics in expectSame(Int8ScanTests.Table(rows: rows, width: width, firstItem: 0, values: values, bias: bias),
                                     Self.queries(4, rows: rows), readouts, "near ties") {
            // Answered by the bound, not by the fp32 fallback (allow-list sessions are not full-catalogue ones).
            #expect(statistics.approximate >= 1 && statistics.fallbacks == 0, "\(statistics)")
        }
    }

    /// Thousands of copies of the best row: the session falls back to fp32 (counted), same answer.
    @Test func duplicatedRowsFallBackAndAreCounted() {
        var rng = SplitMix64(seed: 78)
        let rows = 9000, width = 16
        var values = rng.floats(rows * width)
        for i in 1..<(ExactScanPart.candidateCapacity + 200) { for j in 0..<width { values[i * width + j] = values[width + j] } }
        let readouts = Array(values[width..<(2 * width)]) + [0]
        var query = SessionQuery(items: [3], k: 10)
        query.deny = [1, 2]
        for statistics in expectSame(Int8ScanTests.Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil),
                                     [query], readouts, "duplicates") {
            #expect(statistics.fallbacks == 1 && statistics.approximate == 0)
        }
    }

    /// Rows of norm 10¹⁵, 10⁻¹⁵, 0 and subnormal side by side (subnormal bf16 values: what vdpbf16ps
    /// reads as zero), and a table of tiny rows only.
    @Test func hugeTinyAndSubnormalNorms() {
        var rng = SplitMix64(seed: 13)
        let rows = 2000, width = 24
        var values = rng.floats(rows * width)
        for i in 0..<rows {
            let factor: Float = [1e15, 1e-15, 0, 1, subnormal(1e-39)][i % 5]
            for j in 0..<width { values[i * width + j] *= factor }
        }
        let readouts = rng.floats(3 * width) + [0]
        let tiny = values.enumerated().map { $0.element == 0 ? 0 : Float(1e-20) * Float($0.offset % 13 + 1) }
        // A readout with subnormal and huge elements next to ordinary ones (its split parts flush to zero).
        var odd = rng.floats(width)
        odd[0] = subnormal(1e-39); odd[1] = subnormal(-2e-40); odd[2] = 1e10
        let cases: [(values: [Float], queries: [SessionQuery], readouts: [Float], label: String)] = [
            (values, Self.queries(3, rows: rows), readouts, "norms"),
            (tiny, Self.queries(3, rows: rows), readouts, "tiny"),
            (values, [SessionQuery(items: [4], k: 10)], odd + [0], "subnormal readout"),
        ]
        for (values, queries, readouts, label) in cases {
            for statistics in expectSame(Int8ScanTests.Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil),
                                         queries, readouts, label) {
                #expect(statistics.approximate >= 1 && statistics.fallbacks == 0, "\(label): \(statistics)")
            }
        }
    }

    /// Rows near 10⁻³⁸ mixing subnormal and normal elements, near-tied (2⁻¹² relative in fp32) with all-normal
    /// rows, readouts near 10³⁰ (scores near 10⁻⁶, normal; the overflow guard passes). On the split paths a
    /// row's bf16 copy loses its subnormal elements (β̂ ≠ β): only ρ's ‖β − β̂‖ term keeps those rows in the
    /// candidate set, and the test fails without it (KERNELS.md).
    @Test func competingSubnormalRows() {
        var rng = SplitMix64(seed: 38)
        let rows = 1500, width = 32
        var values = rng.floats(rows * width, scale: 1.5e-38)   // background: subnormal and normal elements
        for r in 0..<12 {
            let normal = 3e-38 * (1 + Float(r) * 0.02), subnormal = 1.1e-38 - Float(r) * SeqRecCoreTests.subnormal(0.05e-38), mean = (normal + subnormal) / 2
            for j in 0..<width {
                values[(100 + 3 * r) * width + j] = j % 2 == 0 ? normal : subnormal
                values[(101 + 3 * r) * width + j] = mean * (1 - 0x1p-12)
                values[(102 + 3 * r) * width + j] = mean * (1 + 0x1p-12)
            }
        }
        #expect(values.contains { $0.isSubnormal } && Bf16ScanTable.isSubnormal(Bf16ScanTable.rounded(values[101 * width - 31])))
        var readouts = [Float](repeating: 1e30, count: width)
        readouts += (0..<width).map { _ in 1e30 * (1 + rng.nextFloat() / 10) }
        readouts += (0..<width).map { j in j % 4 == 1 ? 1e-3 : 1e30 * (1 + rng.nextFloat() / 10) }   // subnormal products
        let queries = [SessionQuery(items: [1], k: 10), SessionQuery(items: [2], k: 1), SessionQuery(items: [3], k: 5)]
        for statistics in expectSame(Int8ScanTests.Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil),
                                     queries, readouts + [0], "competing subnormal rows") {
            #expect(statistics.approximate == 3 && statistics.fallbacks == 0, "\(statistics)")
        }
    }

    /// The AVX-512 kernel stages the query in stack arrays of ScanTensors.maxWidth: wider tables are refused.
    @Test(arguments: [0, ScanTensors.maxWidth + 1])
    func widthOutsideTheKernelsRangeIsALoadError(width: Int) {
        let values = [Float](repeating: 1, count: Swift.max(width, 1)), rows = [UInt16](repeating: 0x3F80, count: values.count)
        values.withUnsafeBufferPointer { t in
            rows.withUnsafeBufferPointer { b in
                let scoring = ScoringTable(table: t.baseAddress!, bias: nil, rows: 1, width: width, firstItem: 0)
                do {
                    _ = try Bf16ScanTable(fp32: scoring, rows: b.baseAddress!, rowsShape: [1, width], storage: nil)
                    Issue.record("width \(width) was accepted")
                } catch {
                    #expect(String(describing: error).contains("width \(width), outside 1 … \(ScanTensors.maxWidth)"), "\(error)")
                }
            }
        }
    }

    /// A readout that could overflow Float in the fp32 scores: fp32 fallback, counted.
    @Test func guardsFallBack() {
        var rng = SplitMix64(seed: 4)
        let rows = 500, width = 8
        let table = Int8ScanTests.Table(rows: rows, width: width, firstItem: 1, values: rng.floats(rows * width, scale: 1e20), bias: nil)
        let readouts = rng.floats(width, scale: 1e15) + [0]
        for statistics in expectSame(table, [SessionQuery(items: [1], k: 5)], readouts, "overflow guard") {
            #expect(statistics.fallbacks == 1)
        }
    }
}

/// A subnormal test value: a Float literal below the normal range draws a compiler warning, so it is
/// written as a Double and converted at run time (to the same nearest Float).
func subnormal(_ value: Double) -> Float { Float(value) }

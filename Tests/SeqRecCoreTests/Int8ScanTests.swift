// The int8 scan: every Int8Dot path against the naive twin on awkward shapes, and the exact int8 top-k
// against the fp32 fused scan (same items, bit-identical scores) on adversarial tables, on every Int8Dot
// path this CPU has (a CPU without VNNI runs the same tests on AVX2 and the portable path).
import Foundation
import CSeqRecKernels
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

@Suite("Int8 scan")
struct Int8ScanTests {
    static var paths: [Int8Dot] { Int8Dot.allCases.filter(\.isSupported) }

    @Test(arguments: [1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 4096])
    func dotPathsMatchTheNaiveTwin(width: Int) {
        var rng = SplitMix64(seed: testSeed(18, width))
        for count in [0, 1, 3, 4, 5, 9] {
            // The full int8 range, −128 included, and rows of extremes.
            var rows = (0..<(count * width)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            if count > 1 { for j in 0..<width { rows[j] = -128; rows[width + j] = 127 } }
            var query = (0..<width).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            if width > 2 { query[0] = -128; query[1] = 127 }
            let sums = (0..<count).map { i in (0..<width).reduce(Int32(0)) { $0 + Int32(rows[i * width + $1]) } }
            var expected = [Int32](repeating: 0, count: count)
            Int8Dot.naiveDots(count: count, width: width, rows: rows, query: query, into: &expected)
            for path in Self.paths {
                var actual = [Int32](repeating: -1, count: count + 1)   // one guard entry past the end
                path.dots(count: count, width: width, rows: rows, query: query, rowSums: sums, into: &actual)
                #expect(Array(actual.prefix(count)) == expected, "\(path) width \(width) count \(count)")
                #expect(actual[count] == -1, "\(path) wrote past the end")
            }
        }
    }

    @Test func quantizedRowsStayWithinHalfAStep() {
        var rng = SplitMix64(seed: 5)
        let row = rng.floats(64, scale: 3) + [0]
        var q = [Int8](repeating: 0, count: 64)
        let scale = row.withUnsafeBufferPointer { Int8ScanTable.quantize($0.baseAddress!, width: 64, into: &q) }
        #expect(scale == row.map(abs).max()! / 127)
        for j in 0..<64 { #expect(abs(row[j] - scale * Float(q[j])) <= scale / 2 * 1.0001) }
        var zeros = [Int8](repeating: 1, count: 4)
        #expect([Float](repeating: 0, count: 4).withUnsafeBufferPointer {
            Int8ScanTable.quantize($0.baseAddress!, width: 4, into: &zeros) } == 0)
        #expect(zeros == [0, 0, 0, 0])
    }

    /// The fused AVX2 pass (dots and bound in one loop) returns, in row order, exactly the rows whose U_i
    /// reaches τ, with L_i and U_i as the formula gives them (evaluated here in Double from the naive dots: the
    /// Float evaluation may differ by a few roundings, so rows within 10⁻⁵ of τ are not judged), and
    /// declines widths that are not whole 32-byte chunks and queries holding −128.
    @Test(arguments: [32, 64, 96, 256], [false, true])
    func fusedPassReturnsTheRowsThatReachTheThreshold(width: Int, biased: Bool) throws {
        try #require(Int8Dot.avx2.isSupported)
        var rng = SplitMix64(seed: testSeed(width, biased ? 1 : 0))
        let count = 1027   // 128 blocks of 8 and 3 leftovers
        var rows = (0..<(count * width)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        for j in 0..<width { rows[j] = -128; rows[width + j] = 127 }
        var query = (0..<width).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        for j in 0..<width where query[j] == -128 { query[j] = -127 }
        query[0] = -127; query[1] = 127
        let scales = rng.floats(count).map { abs($0) * 1e-3 }, norms = rng.floats(count).map { abs($0) }
        let residuals = rng.floats(count).map { abs($0) * 1e-2 }, bias = rng.floats(count)
        let constants: [Float] = [0.01, 3e-3, 2.5, 1e-6, 0x1p-22, 0x1p-100]
        var dots = [Int32](repeating: 0, count: count)
        Int8Dot.naiveDots(count: count, width: width, rows: rows, query: query, into: &dots)
        let bounds: [(lower: Double, upper: Double)] = (0..<count).map { i in
            let b = biased ? Double(bias[i]) : 0
            let a = Double(dots[i]) * Double(scales[i] * constants[0]) + b
            let e = Double(norms[i]) * Double(constants[1]) + Double(residuals[i]) * Double(constants[2])
                + abs(b) * Double(constants[3]) + abs(a) * Double(constants[4]) + Double(constants[5])
            return (a - e, a + e)
        }
        let tau = Float(bounds.map(\.upper).sorted()[count * 9 / 10])
        var items = [Int32](repeating: -1, count: count), lower = [Float](repeating: 0, count: count)
        var upper = lower
        let passing = seqrec_scan_i8_bound_avx2(count, width, rows, query, scales, norms, residuals,
                                                biased ? bias : nil, constants, tau, &items, &lower, &upper)
        let returned = Array(items.prefix(Swift.max(passing, 0)))
        #expect(returned == returned.sorted() && Set(returned).count == returned.count)
        for i in 0..<count where abs(bounds[i].upper - Double(tau)) > 1e-5 * Swift.max(1, abs(Double(tau))) {
            #expect(returned.contains(Int32(i)) == (bounds[i].upper >= Double(tau)), "row \(i)")
        }
        for (n, i) in returned.enumerated() {
            let scale = Swift.max(1, abs(bounds[Int(i)].upper))
            #expect(abs(Double(upper[n]) - bounds[Int(i)].upper) <= 1e-5 * scale, "U of row \(i)")
            #expect(abs(Double(lower[n]) - bounds[Int(i)].lower) <= 1e-5 * scale, "L of row \(i)")
        }
        #expect(passing > count / 20 && passing < count / 5)
        // Declined: a width that is not whole chunks, a query holding −128.
        #expect(seqrec_scan_i8_bound_avx2(count, width - 1, rows, query, scales, norms, residuals, nil, constants, tau,
                                          &items, &lower, &upper) == -1)
        query[2] = -128
        #expect(seqrec_scan_i8_bound_avx2(count, width, rows, query, scales, norms, residuals, nil, constants, tau,
                                          &items, &lower, &upper) == -1)
    }

    // MARK: Exact top-k

    /// An fp32 table with its bias, quantized the way `seqrec convert --scan-table int8` does.
    struct Table {
        let rows: Int, width: Int, firstItem: Int
        var values: [Float]
        var bias: [Float]?

        func quantized() -> (q: [Int8], scales: [Float]) {
            var q = [Int8](repeating: 0, count: rows * width), scales = [Float](repeating: 0, count: rows)
            values.withUnsafeBufferPointer { t in
                q.withUnsafeMutableBufferPointer { out in
                    for i in 0..<rows {
                        scales[i] = Int8ScanTable.quantize(t.baseAddress! + i * width, width: width,
                                                           into: out.baseAddress! + i * width)
                    }
                }
            }
            return (q, scales)
        }
    }

    /// Runs `queries` through a scorer with the int8 table (on `path`) and, one session at a time, through
    /// the fp32 fused scan; returns both and the exact scan's statistics.
    func run(_ table: Table, _ queries: [SessionQuery], _ readouts: [Float], path: Int8Dot, threads: ScanThreads?)
        -> (exact: [Recommendation], fp32: [Recommendation], statistics: ExactScanStatistics) {
        let (q, scales) = table.quantized()
        var exact = [Recommendation](repeating: Recommendation(), count: queries.count)
        var fp32 = exact
        var statistics = ExactScanStatistics()
        table.values.withUnsafeBufferPointer { t in
            readouts.withUnsafeBufferPointer { readout in
                let body = { (bias: UnsafePointer<Float>?) in
                    let scoring = ScoringTable(table: t.baseAddress!, bias: bias, rows: table.rows, width: table.width,
                                               firstItem: table.firstItem)
                    q.withUnsafeBufferPointer { rows in
                        scales.withUnsafeBufferPointer { s in
                            let int8 = try! Int8ScanTable(fp32: scoring, rows: rows.baseAddress!,
                                                          rowsShape: [table.rows, table.width], scales: s.baseAddress!,
                                                          storage: nil)
                            let scorer = CatalogScorer(table: scoring, maxBatch: queries.count, reduced: .int8(int8),
                                                       scanThreads: threads)
                            scorer.int8DotOverride = path
                            scorer.select(queries[...], readout: readout.baseAddress!, into: &exact, offset: 0,
                                          kernels: Kernels(.automatic))
                            statistics = scorer.exactScanStatistics!
                        }
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

    func expectSame(_ table: Table, _ queries: [SessionQuery], _ readouts: [Float], _ label: String,
                    threads: ScanThreads? = nil) -> [ExactScanStatistics] {
        Self.paths.map { path in
            let (exact, fp32, statistics) = run(table, queries, readouts, path: path, threads: threads)
            for b in queries.indices {
                #expect(exact[b].items == fp32[b].items, "\(label) [\(path)] session \(b)")
                #expect(exact[b].scores == fp32[b].scores, "\(label) [\(path)] session \(b): scores differ")
                #expect(exact[b].items.count == Swift.min(queries[b].k, table.rows), "\(label) [\(path)] session \(b)")
            }
            return statistics
        }
    }

    static func queries(_ count: Int, rows: Int, k: Int = 10) -> [SessionQuery] {
        (0..<count).map { b in
            var query = SessionQuery(items: [Int32(1 + b % (rows - 1)), Int32(1 + (7 * b + 3) % (rows - 1))], k: [k, 1, 50][b % 3])
            query.excludeSeen = b % 2 == 0
            if b % 3 == 1 { query.deny = [Int32(rows - 1), 5, 6, 7] }
            if b % 5 == 4 { query.candidates = (1..<Int32(rows)).filter { $0 % 3 == 0 } }
            return query
        }
    }

    @Test(arguments: [1, 3, 8, 9, 17, 33], [13, 64])
    func randomTablesGiveTheFp32TopKWithoutFallback(sessions: Int, width: Int) {
        var rng = SplitMix64(seed: testSeed(sessions, width))
        let rows = 5003
        let table = Table(rows: rows, width: width, firstItem: 1, values: rng.floats(rows * width), bias: nil)
        let readouts = rng.floats(sessions * width, scale: 2) + [0]
        for statistics in expectSame(table, Self.queries(sessions, rows: rows), readouts, "random") {
            #expect(statistics.fallbacks == 0)
            #expect(statistics.approximate > 0)
            // The bound is tight on random rows: a handful of rows per session, not the catalogue.
            #expect(statistics.rescored < 400 * statistics.approximate)
        }
    }

    /// Rows that differ from the best one in the last bits: the int8 scan cannot order them, fp32 re-scoring must.
    @Test(arguments: [4, 20])
    func nearTiesAndBias(sessions: Int) {
        var rng = SplitMix64(seed: 31)
        let rows = 3000, width = 32
        var values = rng.floats(rows * width)
        for i in 100..<300 { for j in 0..<width { values[i * width + j] = values[j] * (1 + Float(i % 7) * 0x1p-22) } }
        let bias = (0..<rows).map { i in i % 11 == 0 ? Float(1e-7) * Float(i % 3) : 0 }
        let readouts = (0..<(sessions * width)).map { j in values[j % width] } + [0]
        _ = expectSame(Table(rows: rows, width: width, firstItem: 0, values: values, bias: bias),
                       Self.queries(sessions, rows: rows), readouts, "near ties")
    }

    /// Thousands of copies of the best row: more candidates than the buffer holds, so the session falls back
    /// to fp32 (counted) and still returns the fp32 answer, lowest ids first.
    @Test(arguments: [1, 12], [16, 32])
    func duplicatedRowsFallBackAndAreCounted(sessions: Int, width: Int) {
        var rng = SplitMix64(seed: 77)
        let rows = 9000
        var values = rng.floats(rows * width)
        for i in 1..<(ExactScanPart.candidateCapacity + 200) { for j in 0..<width { values[i * width + j] = values[width + j] } }
        let readouts: [Float] = (0..<sessions).flatMap { _ in Array(values[width..<(2 * width)]) } + [0]
        var query = SessionQuery(items: [3], k: 10)
        query.deny = [1, 2]
        for statistics in expectSame(Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil),
                                     Array(repeating: query, count: sessions), readouts, "duplicates") {
            #expect(statistics.fallbacks == sessions && statistics.approximate == 0)
        }
    }

    /// Rows of norm 10¹⁵ next to rows of norm 10⁻¹⁵ (and zero rows): per-row scales keep each exact.
    @Test(arguments: [3, 19], [24, 64])
    func hugeAndTinyNorms(sessions: Int, width: Int) {
        var rng = SplitMix64(seed: 12)
        let rows = 2000
        var values = rng.floats(rows * width)
        for i in 0..<rows {
            let factor: Float = i % 5 == 0 ? 1e15 : i % 5 == 1 ? 1e-15 : i % 5 == 2 ? 0 : 1
            for j in 0..<width { values[i * width + j] *= factor }
        }
        let readouts = rng.floats(sessions * width) + [0]
        _ = expectSame(Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil),
                       Self.queries(sessions, rows: rows), readouts, "norms")
        // A table of tiny rows only: every score is tiny, the absolute term dominates; still exact.
        let tiny = values.enumerated().map { $0.element == 0 ? 0 : Float(1e-20) * Float($0.offset % 13 + 1) }
        _ = expectSame(Table(rows: rows, width: width, firstItem: 1, values: tiny, bias: nil),
                       Self.queries(sessions, rows: rows), readouts, "tiny")
    }

    /// A readout that could overflow Float in the fp32 scores, or is not finite: fp32 fallback, counted.
    @Test(arguments: [1, 10])
    func guardsFallBack(sessions: Int) {
        var rng = SplitMix64(seed: 3)
        let rows = 500, width = 8
        let table = Table(rows: rows, width: width, firstItem: 1, values: rng.floats(rows * width, scale: 1e20), bias: nil)
        let readout = rng.floats(width, scale: 1e15)
        let readouts: [Float] = (0..<sessions).flatMap { _ in readout } + [0]
        for statistics in expectSame(table, Array(repeating: SessionQuery(items: [1], k: 5), count: sessions), readouts,
                                     "overflow guard") {
            #expect(statistics.fallbacks == sessions)
        }
    }

    // MARK: Batched kernel and split scans

    @Test(arguments: [1, 3, 4, 5, 7, 13, 16, 63, 64, 65, 200, 4096])
    func batchDotPathsMatchTheNaiveTwin(width: Int) {
        var rng = SplitMix64(seed: testSeed(181, width))
        for (count, sessions) in [(0, 9), (1, 9), (7, 16), (8, 17), (9, 33), (17, 12)] {
            var rows = (0..<(count * width)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            if count > 1 { for j in 0..<width { rows[j] = -128; rows[width + j] = 127 } }
            var queries = (0..<(sessions * width)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            for j in 0..<width { queries[j] = -127; queries[width + j] = 127 }   // the query range is ±127
            for j in 0..<queries.count where queries[j] == -128 { queries[j] = -127 }
            let sums = (0..<count).map { i in (0..<width).reduce(Int32(0)) { $0 + Int32(rows[i * width + $1]) } }
            let stride = (sessions + 15) / 16 * 16
            var expected = [Int32](repeating: 0, count: count * stride)
            var packed = [UInt8](repeating: 0, count: Int8Dot.packedBytes(groups: stride / 16, width: width))
            Int8Dot.naive.batchDots(count: count, width: width, rows: rows, queries: queries, sessions: sessions,
                                    packed: packed, rowSums: sums, into: &expected)
            for path in Self.paths {
                path.pack(queries, count: sessions, width: width, into: &packed)
                var actual = [Int32](repeating: -1, count: count * stride + 1)   // one guard entry past the end
                path.batchDots(count: count, width: width, rows: rows, queries: queries, sessions: sessions,
                               packed: packed, rowSums: sums, into: &actual)
                for i in 0..<count {
                    #expect(Array(actual[(i * stride)..<(i * stride + sessions)]) == Array(expected[(i * stride)..<(i * stride + sessions)]),
                            "\(path) width \(width) rows \(count) sessions \(sessions) row \(i)")
                }
                #expect(actual[count * stride] == -1, "\(path) wrote past the end")
            }
        }
    }

    /// One request's rows split over 2 and 3 threads: each part's τ and candidates, merged, give the fp32
    /// answer alone and batched, with near ties across the part boundaries and a fallback in one part.
    @Test(arguments: [2, 3], [1, 3, 20])
    func splitScansGiveTheFp32TopK(threads count: Int, sessions: Int) throws {
        let threads = try ScanThreads(count: count)
        var rng = SplitMix64(seed: testSeed(count, sessions))
        let rows = 3 * ExactScan.minimumPartRows + 1000, width = 32
        var values = rng.floats(rows * width)
        // Near-copies of row 7 on both sides of every boundary, so the top k spans the parts.
        for i in stride(from: 7, to: rows, by: ExactScan.minimumPartRows / 3) {
            for j in 0..<width { values[i * width + j] = values[7 * width + j] * (1 + Float(i % 5) * 0x1p-22) }
        }
        var readouts: [Float] = []
        for s in 0..<sessions { readouts += s % 2 == 0 ? Array(values[(7 * width)..<(8 * width)]) : rng.floats(width) }
        readouts.append(0)
        let table = Table(rows: rows, width: width, firstItem: 1, values: values, bias: nil)
        for statistics in expectSame(table, Self.queries(sessions, rows: rows), readouts, "split \(count)", threads: threads) {
            #expect(statistics.fallbacks == 0)
            #expect(statistics.split == statistics.approximate && statistics.approximate > 0)
        }
    }
}


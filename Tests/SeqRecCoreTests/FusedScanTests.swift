// The fused catalog scan against its twins: `dot8` against the naive dot per row, and whole-catalog
// selection (fused, batched and blocked, every backend) against a brute-force sort, on awkward shapes.
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

@Suite("Fused catalog scan")
struct FusedScanTests {
    static let widths = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65]

    @Test(arguments: widths)
    func dot8MatchesTheNaiveDotPerRow(width: Int) {
        var rng = SplitMix64(seed: testSeed(8, width))
        let (rows, ld) = paddedMatrix(rows: 8, cols: width, padding: 3, rng: &rng)
        let v = rng.floats(Swift.max(width, 1))
        var actual = [Float](), expected = [Float](), magnitude = [Float]()
        rows.withUnsafeBufferPointer { r in
            v.withUnsafeBufferPointer { x in
                // safe: 8 rows of stride ld ≥ width, and x holds width floats.
                let sums = SIMDKernels.dot8(count: width, rows: r.baseAddress!, rowStride: ld, x.baseAddress!)
                for row in 0..<8 {
                    actual.append(sums[row])
                    expected.append(ReferenceKernels.dot(count: width, r.baseAddress! + row * ld, x.baseAddress!))
                    magnitude.append((0..<width).reduce(0) { $0 + abs(r[row * ld + $1] * x[$1]) })
                }
            }
        }
        expectClose(actual, expected, magnitude: magnitude, "dot8 width \(width)")
    }

    /// A table whose entries are multiples of ½ in [−2, 2]: every dot product is exact in Float whatever the
    /// summation order, so all paths must agree exactly, ties (frequent here) broken by the lower id.
    struct Catalog {
        let rows: Int, width: Int, firstItem: Int
        let values: [Float], bias: [Float]?

        init(rows: Int, width: Int, firstItem: Int, values: [Float], bias: [Float]?) {
            self.rows = rows
            self.width = width
            self.firstItem = firstItem
            self.values = values
            self.bias = bias
        }

        init(rows: Int, width: Int, firstItem: Int, withBias: Bool, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            self.rows = rows
            self.width = width
            self.firstItem = firstItem
            values = (0..<Swift.max(1, rows * width)).map { _ in Float(rng.next() % 9) / 2 - 2 }
            bias = withBias ? (0..<Swift.max(8, rows + 8)).map { _ in Float(rng.next() % 5) - 2 } : nil
        }

        func score(_ item: Int, _ u: [Float]) -> Float {
            (0..<width).reduce(Float(0)) { $0 + values[item * width + $1] * u[$1] } + (bias?[item] ?? 0)
        }

        func bruteForce(_ query: SessionQuery, _ u: [Float]) -> [Int32] {
            var excluded = Set(query.deny.map(Int.init))
            if query.excludeSeen { excluded.formUnion(query.items.map(Int.init)) }
            let pool = (firstItem..<Swift.max(firstItem, rows)).filter { !excluded.contains($0) }
            let scores = pool.map { score($0, u) }
            let ranked = zip(pool, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            return ranked.prefix(query.k).map { Int32($0.0) }
        }
    }

    static let shapes: [(rows: Int, width: Int)] = [(0, 64), (1, 64), (7, 64), (8, 64), (9, 64), (4097, 64),
                                                   (4097, 13), (1030, 7)]

    /// 9: one narrow BatchScan group padded from 1 session; 32: one wide group; 41: wide, narrow, padded narrow.
    @Test(arguments: [1, 3, 8, 9, 32, 41], [false, true])
    func fullCatalogSelectionMatchesBruteForce(sessions: Int, withBias: Bool) {
        for (rows, width) in Self.shapes {
            for firstItem in [0, 1] {
                let catalog = Catalog(rows: rows, width: width, firstItem: firstItem, withBias: withBias,
                                      seed: testSeed(rows, width, sessions))
                var rng = SplitMix64(seed: testSeed(width, rows, firstItem))
                let readouts = (0..<(sessions * width)).map { _ in Float(rng.next() % 9) / 2 - 2 } + [0]
                let queries = (0..<sessions).map { b in
                    var query = SessionQuery(items: rows == 0 ? [0] : [Int32(b % rows), Int32((3 * b + 1) % rows)],
                                             k: [1, 5, 10, Swift.min(rows + 5, SessionQuery.maxK)][b % 4])
                    query.excludeSeen = b % 2 == 0
                    if rows > 8 { query.deny = [Int32(rows - 1), Int32(rows / 2), 2] }
                    return query
                }
                for selection in selectionsUnderTest + [.forced(.naive)] {
                    let results = select(catalog, queries, readouts, selection)
                    for (b, query) in queries.enumerated() {
                        let u = Array(readouts[(b * width)..<((b + 1) * width)])
                        #expect(results[b].items == catalog.bruteForce(query, u),
                                "rows \(rows) width \(width) first \(firstItem) bias \(withBias) session \(b)/\(sessions) [\(selection)]")
                        #expect(results[b].scores == results[b].items.map { catalog.score(Int($0), u) })
                    }
                }
            }
        }
    }

    /// A huge bias must reach only real sessions: the padded columns of a BatchScan group must not pass it
    /// on to whichever session their stale index names. A +∞ score (finite weights that overflow) is never
    /// returned at all (FORMAT.md §11), by any scan.
    @Test(arguments: [Float(1e30), .infinity])
    func hugeBiasReachesOnlyRealSessions(_ huge: Float) {
        let rows = 100, width = 8
        var catalog = Catalog(rows: rows, width: width, firstItem: 1, withBias: true, seed: 99)
        var bias = catalog.bias!
        bias[37] = huge
        catalog = Catalog(rows: rows, width: width, firstItem: 1, values: catalog.values, bias: bias)
        var rng = SplitMix64(seed: 7)
        let readouts = (0..<(10 * width)).map { _ in Float(rng.next() % 9) / 2 - 2 } + [0]
        // The first session re-ranks candidates: item 37 must never appear in its answer. The other 9 scan
        // the catalog: a full narrow group and one with 7 padded columns.
        var queries = (0..<10).map { _ in SessionQuery(items: [2], k: 5) }
        queries[0].candidates = [3, 4, 5]
        queries[0].k = 3
        for selection in selectionsUnderTest + [.forced(.naive)] {
            let results = select(catalog, queries, readouts, selection)
            #expect(!results[0].items.contains(37), "[\(selection)] \(results[0].items)")
            #expect(results[0].items.count == 3)
            for b in 1..<10 {
                if huge.isFinite {
                    #expect(results[b].items.first == 37, "[\(selection)] session \(b)")
                } else {
                    #expect(!results[b].items.contains(37), "[\(selection)] session \(b): a +∞ score was returned")
                }
                #expect(results[b].items.count == 5 && results[b].scores.allSatisfy { $0.isFinite })
                #expect(Set(results[b].items).count == results[b].items.count, "[\(selection)] duplicates")
            }
        }
    }

    func select(_ catalog: Catalog, _ queries: [SessionQuery], _ readouts: [Float],
                _ selection: KernelSelection) -> [Recommendation] {
        var results = [Recommendation](repeating: Recommendation(), count: queries.count)
        catalog.values.withUnsafeBufferPointer { table in
            readouts.withUnsafeBufferPointer { readout in
                let run = { (bias: UnsafePointer<Float>?) in
                    let scoring = ScoringTable(table: table.baseAddress!, bias: bias, rows: catalog.rows,
                                               width: catalog.width, firstItem: catalog.firstItem)
                    CatalogScorer(table: scoring, maxBatch: queries.count)
                        .select(queries[...], readout: readout.baseAddress!, into: &results, offset: 0,
                                kernels: Kernels(selection))
                }
                if let bias = catalog.bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
        return results
    }

    @Test func dispatchRule() {
        for selection in [KernelSelection.automatic, .forced(.simd)] {
            #expect((1...8).allSatisfy { selection.catalogScan(sessions: $0) == .fused })
            #expect([9, 32, 41, 1_024].allSatisfy { selection.catalogScan(sessions: $0) == .batched })
        }
        for backend in [KernelBackend.blas, .naive] {
            #expect([1, 4, 9].allSatisfy { KernelSelection.forced(backend).catalogScan(sessions: $0) == .blocked })
        }
    }
}

// The batched catalog scan: many sessions against the table with the sessions in vector lanes. Each
// table value is broadcast once and multiplied into every session's accumulator, so no horizontal sums
// and no packing of the table are needed; scores stay in registers and are compared with the sessions'
// top-k thresholds a vector at a time.
//   table rows lo..<hi of [N, w] (+ bias [N]), a group's readouts transposed Rᵀ [w, G] (column s =
//   session s; G = 32 "wide" or 8 "narrow", unused columns zero), thresholds [G] (NaN on unused columns)
//   → the group's heaps (k best, excluded rows skipped)
// Twin: the blocked path in CatalogScorer (GEMM into a score block, then a threshold scan); FusedScanTests
// compares both with a brute-force sort.

/// One group of sessions scanned together.
struct ScanGroup {
    /// Rᵀ [w, width].
    let readouts: UnsafePointer<Float>
    /// [width]: each session's current heap threshold; NaN on unused columns, so no score passes there.
    let thresholds: UnsafeMutablePointer<Float>
    /// [width]: the batch index of each used column's session (its heap and exclusion bitset).
    let sessions: UnsafePointer<Int>
}

enum BatchScan {
    /// Sessions in a wide group: 4 vectors, two table rows at a time (8 accumulators).
    static var wide: Int { 4 * SIMDWidth.lanes }
    /// Sessions in a narrow group: 1 vector, eight table rows at a time (8 accumulators).
    static var narrow: Int { SIMDWidth.lanes }

    /// Columns of the next group when `remaining` sessions are left: wide while 32 remain, then narrow
    /// (the last narrow group padded).
    static func groupWidth(remaining: Int) -> Int { remaining >= wide ? wide : narrow }

    /// Scores `rows` for a wide group. An odd last row is computed twice and offered once.
    static func scanWide(_ table: ScoringTable, rows: Range<Int>, group: ScanGroup,
                         heaps: UnsafeMutablePointer<TopKHeap>, excluded: UnsafePointer<UInt64>, words: Int) {
        let w = table.width, lanes = SIMDWidth.lanes, readouts = group.readouts
        var row = rows.lowerBound
        while row < rows.upperBound {
            let second = Swift.min(row + 1, rows.upperBound - 1)
            // safe: row and second lie in rows, inside the table.
            let t0 = table.table + row * w, t1 = table.table + second * w
            var a0 = FloatLanes(), a1 = FloatLanes(), a2 = FloatLanes(), a3 = FloatLanes()
            var b0 = FloatLanes(), b1 = FloatLanes(), b2 = FloatLanes(), b3 = FloatLanes()
            for p in 0..<w {
                // safe: p < w; Rᵀ holds w columns of `wide` floats.
                let column = readouts + p * 4 * lanes
                let c0 = column.lanes(at: 0), c1 = column.lanes(at: lanes)
                let c2 = column.lanes(at: 2 * lanes), c3 = column.lanes(at: 3 * lanes)
                let x = FloatLanes(repeating: t0[p]), y = FloatLanes(repeating: t1[p])
                a0 = multiplyAdd(a0, x, c0); a1 = multiplyAdd(a1, x, c1)
                a2 = multiplyAdd(a2, x, c2); a3 = multiplyAdd(a3, x, c3)
                b0 = multiplyAdd(b0, y, c0); b1 = multiplyAdd(b1, y, c1)
                b2 = multiplyAdd(b2, y, c2); b3 = multiplyAdd(b3, y, c3)
            }
            if let bias = table.bias {
                let x = FloatLanes(repeating: bias[row]), y = FloatLanes(repeating: bias[second])
                a0 += x; a1 += x; a2 += x; a3 += x
                b0 += y; b1 += y; b2 += y; b3 += y
            }
            offer(a0, columns: 0, item: row, group, heaps, excluded, words)
            offer(a1, columns: lanes, item: row, group, heaps, excluded, words)
            offer(a2, columns: 2 * lanes, item: row, group, heaps, excluded, words)
            offer(a3, columns: 3 * lanes, item: row, group, heaps, excluded, words)
            if second != row {
                offer(b0, columns: 0, item: second, group, heaps, excluded, words)
                offer(b1, columns: lanes, item: second, group, heaps, excluded, words)
                offer(b2, columns: 2 * lanes, item: second, group, heaps, excluded, words)
                offer(b3, columns: 3 * lanes, item: second, group, heaps, excluded, words)
            }
            row += 2
        }
    }

    /// Scores `rows` for a narrow group, eight rows at a time; rows past the end repeat the last one and
    /// are not offered.
    static func scanNarrow(_ table: ScoringTable, rows: Range<Int>, group: ScanGroup,
                           heaps: UnsafeMutablePointer<TopKHeap>, excluded: UnsafePointer<UInt64>, words: Int) {
        let w = table.width, last = rows.upperBound - 1, readouts = group.readouts
        var row = rows.lowerBound
        while row < rows.upperBound {
            // safe: every row index is clamped into rows, inside the table.
            let t0 = table.table + row * w, t1 = table.table + Swift.min(row + 1, last) * w
            let t2 = table.table + Swift.min(row + 2, last) * w, t3 = table.table + Swift.min(row + 3, last) * w
            let t4 = table.table + Swift.min(row + 4, last) * w, t5 = table.table + Swift.min(row + 5, last) * w
            let t6 = table.table + Swift.min(row + 6, last) * w, t7 = table.table + Swift.min(row + 7, last) * w
            var s0 = FloatLanes(), s1 = FloatLanes(), s2 = FloatLanes(), s3 = FloatLanes()
            var s4 = FloatLanes(), s5 = FloatLanes(), s6 = FloatLanes(), s7 = FloatLanes()
            for p in 0..<w {
                // safe: p < w; Rᵀ holds w columns of `narrow` floats.
                let column = readouts.lanes(at: p * SIMDWidth.lanes)
                s0 = multiplyAdd(s0, FloatLanes(repeating: t0[p]), column)
                s1 = multiplyAdd(s1, FloatLanes(repeating: t1[p]), column)
                s2 = multiplyAdd(s2, FloatLanes(repeating: t2[p]), column)
                s3 = multiplyAdd(s3, FloatLanes(repeating: t3[p]), column)
                s4 = multiplyAdd(s4, FloatLanes(repeating: t4[p]), column)
                s5 = multiplyAdd(s5, FloatLanes(repeating: t5[p]), column)
                s6 = multiplyAdd(s6, FloatLanes(repeating: t6[p]), column)
                s7 = multiplyAdd(s7, FloatLanes(repeating: t7[p]), column)
            }
            let end = rows.upperBound
            offerRow(s0, item: row, end: end, table, group, heaps, excluded, words)
            offerRow(s1, item: row + 1, end: end, table, group, heaps, excluded, words)
            offerRow(s2, item: row + 2, end: end, table, group, heaps, excluded, words)
            offerRow(s3, item: row + 3, end: end, table, group, heaps, excluded, words)
            offerRow(s4, item: row + 4, end: end, table, group, heaps, excluded, words)
            offerRow(s5, item: row + 5, end: end, table, group, heaps, excluded, words)
            offerRow(s6, item: row + 6, end: end, table, group, heaps, excluded, words)
            offerRow(s7, item: row + 7, end: end, table, group, heaps, excluded, words)
            row += 8
        }
    }

    /// A narrow group's scores of one row, plus its bias, offered unless the row lies past `end`.
    @inline(__always)
    private static func offerRow(_ scores: FloatLanes, item: Int, end: Int, _ table: ScoringTable, _ group: ScanGroup,
                                 _ heaps: UnsafeMutablePointer<TopKHeap>, _ excluded: UnsafePointer<UInt64>, _ words: Int) {
        guard item < end else { return }
        let biased = table.bias.map { scores + FloatLanes(repeating: $0[item]) } ?? scores
        offer(biased, columns: 0, item: item, group, heaps, excluded, words)
    }

    /// Offers `item` to the heap of every column among `columns ..< columns + lanes` whose score reaches
    /// that column's threshold, and refreshes those thresholds.
    @inline(__always)
    private static func offer(_ scores: FloatLanes, columns first: Int, item: Int, _ group: ScanGroup,
                              _ heaps: UnsafeMutablePointer<TopKHeap>, _ excluded: UnsafePointer<UInt64>, _ words: Int) {
        let passing = scores .>= group.thresholds.lanes(at: first)   // NaN compares false: never offered
        guard any(passing) else { return }
        for lane in 0..<SIMDWidth.lanes where passing[lane] {
            // safe: a passing column is a used one (unused columns hold NaN), so its session index is valid.
            let b = group.sessions[first + lane]
            heaps[b].offer(scores[lane], item, excluded: excluded + b * words)
            group.thresholds[first + lane] = heaps[b].threshold
        }
    }
}

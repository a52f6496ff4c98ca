// Exact top-k from the int8 or bf16 scan (docs/KERNELS.md, "Exact top-k from the int8 scan" has the proof,
// "… the bf16 scan" its bf16 steps; ReducedScanTable holds what differs between the two):
//   per session: readout u → int8 query v (scale s_u) or bf16 parts, and the bound's constants A, B, G
//   per slab of 1024 rows, per session: p_i = D_i·(s_i·s_u) with D_i = q_i·v (Int8Dot, exact), or the
//     bf16 dot product (Bf16Dot); a_i = p_i + b_i,
//     E_i = m_i·A + r_i·B + |b_i|·G + |a_i|·2⁻²² + η ≥ |f_i − a_i| (f_i: the fp32 fused scan's score),
//     L_i = a_i − E_i into a k-heap (τ = its k-th best), candidates: rows with U_i = a_i + E_i ≥ τ
//   then: candidates with U_i ≥ final τ re-scored in fp32 exactly as FusedScan scores them → the heap.
// A session whose candidates overflow their buffer, whose readout is not finite, or whose scores could
// overflow Float is scanned in fp32 instead (FusedScan over the fp32 table) and counted as a fallback.
// Twin: FusedScan itself; Int8ScanTests and Bf16ScanTests compare both on adversarial tables, on every
// Int8Dot and Bf16Dot path.

/// Scans done by one context's exact (int8 or bf16) scan.
public struct ExactScanStatistics: Sendable, Equatable {
    /// Full-catalogue sessions answered from the int8 or bf16 scan plus fp32 re-scoring.
    public var approximate = 0
    /// Full-catalogue sessions that needed the fp32 scan (bound not tight enough, or guards).
    public var fallbacks = 0
    /// Rows re-scored in fp32 over all approximate sessions (per session: this / approximate).
    public var rescored = 0
}

final class ExactScan {
    static let slab = 1024
    /// Candidates one session may collect before it falls back to fp32.
    static let candidateCapacity = 4096
    private static let eta: Float = 0x1p-100

    let table: ScoringTable
    let reduced: ReducedScanTable
    private let maxBatch: Int
    private let queries: UnsafeMutablePointer<Int8>      // [maxBatch, w]: int8 queries
    private let parts: Bf16QueryParts                    // [maxBatch, w]: bf16 split queries
    private let approximate: UnsafeMutablePointer<Float> // [slab]: p_i
    private let bounds: UnsafeMutablePointer<SessionBound>
    private let lowerScores: UnsafeMutablePointer<Float> // [maxBatch, maxK]
    private let lowerItems: UnsafeMutablePointer<Int32>
    private let lowerHeaps: UnsafeMutablePointer<TopKHeap>
    private let candidates: UnsafeMutablePointer<Int32>  // [maxBatch, capacity]
    private let uppers: UnsafeMutablePointer<Float>      // [maxBatch, capacity]
    private let dots: UnsafeMutablePointer<Int32>        // [slab]
    private(set) var statistics = ExactScanStatistics()

    /// One session's query constants and progress.
    struct SessionBound {
        var scale: Float = 0, a: Float = 0, b: Float = 0, g: Float = 0
        var candidates = 0
        var active = false
    }

    init(table: ScoringTable, reduced: ReducedScanTable, maxBatch: Int) {
        self.table = table
        self.reduced = reduced
        self.maxBatch = maxBatch
        queries = .allocate(capacity: maxBatch * table.width)
        parts = Bf16QueryParts(capacity: maxBatch * table.width)
        approximate = .allocate(capacity: Self.slab)
        bounds = .allocate(capacity: maxBatch)
        bounds.initialize(repeating: SessionBound(), count: maxBatch)
        lowerScores = .allocate(capacity: maxBatch * SessionQuery.maxK)
        lowerItems = .allocate(capacity: maxBatch * SessionQuery.maxK)
        lowerHeaps = .allocate(capacity: maxBatch)
        candidates = .allocate(capacity: maxBatch * Self.candidateCapacity)
        uppers = .allocate(capacity: maxBatch * Self.candidateCapacity)
        dots = .allocate(capacity: Self.slab)
    }

    deinit {
        queries.deallocate(); bounds.deallocate(); lowerScores.deallocate(); lowerItems.deallocate()
        lowerHeaps.deallocate(); candidates.deallocate(); uppers.deallocate(); dots.deallocate()
        parts.deallocate(); approximate.deallocate()
    }

    /// Scans the whole table for `count` sessions (`readouts[f·w…]`, batch index `sessions[f]`) into
    /// `heaps[sessions[f]]`, skipping rows excluded in `excluded + sessions[f]·words`.
    func scan(count: Int, sessions: UnsafePointer<Int>, readouts: UnsafePointer<Float>, heaps: UnsafeMutablePointer<TopKHeap>,
              excluded: UnsafePointer<UInt64>, words: Int, dot: ReducedDotPaths) {
        let w = table.width
        for f in 0..<count {
            let b = sessions[f]
            (lowerHeaps + f).initialize(to: TopKHeap(scores: lowerScores + f * SessionQuery.maxK,
                                                     items: lowerItems + f * SessionQuery.maxK, capacity: heaps[b].capacity))
            bounds[f] = prepare(readouts + f * w, session: f, dot: dot)
        }
        var low = table.firstItem
        while low < table.rows {
            let high = Swift.min(low + Self.slab, table.rows)
            for f in 0..<count where bounds[f].active {
                scanSlab(low..<high, session: f, readout: readouts + f * w, excluded: excluded + sessions[f] * words, dot: dot)
            }
            low = high
        }
        for f in 0..<count {
            let b = sessions[f]
            if bounds[f].active {
                statistics.approximate += 1
                let threshold = lowerHeaps[f].threshold
                for c in 0..<bounds[f].candidates where uppers[f * Self.candidateCapacity + c] >= threshold {
                    let item = Int(candidates[f * Self.candidateCapacity + c])
                    heaps[b].offer(FusedScan.rowScore(table, row: item, readout: readouts + f * w), Int32(item))
                    statistics.rescored += 1
                }
            } else {
                statistics.fallbacks += 1
                FusedScan.scan(table, rows: table.firstItem..<table.rows, readout: readouts + f * w,
                               excluded: excluded + b * words, into: &heaps[b])
            }
        }
    }

    /// The reduced query and the bound's constants (KERNELS.md: A, B, G); inactive when u is not finite or
    /// the fp32 scores could come near Float's range.
    private func prepare(_ u: UnsafePointer<Float>, session f: Int, dot: ReducedDotPaths) -> SessionBound {
        let w = table.width
        var largest: Float = 0, squares = 0.0
        for j in 0..<w {
            guard u[j].isFinite else { return SessionBound() }
            largest = Swift.max(largest, abs(u[j]))
            squares += Double(u[j]) * Double(u[j])
        }
        let normU = squares.squareRoot() * (1 + 0x1p-40)
        let query: PreparedQuery
        switch reduced {
        case .int8: query = prepareInt8(u, largest: largest, normU: normU, into: queries + f * w)
        case .bf16:
            if dot.bf16.splitsQuery {
                guard let split = Bf16ScanTable.split(u, width: w, hi: parts.hi + f * w, lo: parts.lo + f * w) else {
                    return SessionBound()
                }
                query = PreparedQuery(delta: split.delta, norm: split.norm, roundings: dot.bf16.roundings(width: w))
            } else {
                query = PreparedQuery(delta: 0, norm: normU, roundings: dot.bf16.roundings(width: w))
            }
        }
        guard Double(reduced.maxNorm) * Swift.max(normU, query.norm) + Double(reduced.maxAbsBias) <= 1e30 else {
            return SessionBound()
        }
        func gamma(_ n: Int) -> Double { Double(n) * 0x1p-24 / (1 - Double(n) * 0x1p-24) }
        let margin = 1 + 0x1p-20, gw = gamma(w + 1), gq = gamma(query.roundings)
        var bound = SessionBound()
        bound.scale = query.scale
        bound.a = Int8ScanTable.roundedUp((gw * normU + query.delta + gq * query.norm) * margin)
        bound.b = Int8ScanTable.roundedUp(normU * margin)
        bound.g = Int8ScanTable.roundedUp((gw + gq) * margin)
        bound.active = true
        return bound
    }

    /// The int8 query v = round(u/s_u) with s_u = max|u_j|/127: δ = ‖u − s_u v‖, N = ‖u‖ + δ, four roundings
    /// in forming a_i (KERNELS.md, int8 step 3).
    private func prepareInt8(_ u: UnsafePointer<Float>, largest: Float, normU: Double, into v: UnsafeMutablePointer<Int8>)
        -> PreparedQuery {
        let scale = largest / 127
        var residual = 0.0
        for j in 0..<table.width {
            let q = scale > 0 ? Swift.max(-127, Swift.min(127, (u[j] / scale).rounded())) : 0
            v[j] = Int8(q)
            let error = Double(u[j]) - Double(scale) * Double(q)   // exact products in Double
            residual += error * error
        }
        let delta = residual.squareRoot() * (1 + 0x1p-40)
        return PreparedQuery(scale: scale, delta: delta, norm: normU + delta, roundings: 4)
    }

    /// approximate[j] = p_i for the slab's rows i = first + j.
    private func approximateScores(_ rows: Range<Int>, session f: Int, readout: UnsafePointer<Float>, dot: ReducedDotPaths) {
        let w = table.width, n = rows.count, first = rows.lowerBound
        switch reduced {
        case .int8(let int8):
            // safe: rows lie inside the table; dots and approximate hold slab ≥ n entries.
            dot.int8.dots(count: n, width: w, rows: int8.rows + first * w, query: queries + f * w,
                          rowSums: int8.rowSums + first, into: dots)
            let scale = bounds[f].scale, su = SIMD8<Float>(repeating: scale)
            var j = 0
            while j + 8 <= n {
                let d = SIMD8<Float>(UnsafeRawPointer(dots + j).loadUnaligned(as: SIMD8<Int32>.self))
                let s = UnsafeRawPointer(int8.scales + first + j).loadUnaligned(as: SIMD8<Float>.self)
                let c: SIMD8<Float> = s * su
                UnsafeMutableRawPointer(approximate + j).storeBytes(of: d * c, as: SIMD8<Float>.self)
                j += 8
            }
            while j < n {
                let c: Float = int8.scales[first + j] * scale
                approximate[j] = Float(dots[j]) * c
                j += 1
            }
        case .bf16(let bf16):
            // safe: rows lie inside the table; approximate holds slab ≥ n entries; parts hold session f's query.
            dot.bf16.dots(count: n, width: w, rows: bf16.rows + first * w, query: readout,
                          hi: parts.hi + f * w, lo: parts.lo + f * w, into: approximate)
        }
    }

    private func scanSlab(_ rows: Range<Int>, session f: Int, readout: UnsafePointer<Float>, excluded: UnsafePointer<UInt64>,
                          dot: ReducedDotPaths) {
        let n = rows.count, first = rows.lowerBound
        approximateScores(rows, session: f, readout: readout, dot: dot)
        let norms = reduced.norms, residuals = reduced.residuals
        var bound = bounds[f]
        let ca = SIMD8<Float>(repeating: bound.a)
        let cb = SIMD8<Float>(repeating: bound.b), cg = SIMD8<Float>(repeating: bound.g)
        let relative = SIMD8<Float>(repeating: 0x1p-22), eta = SIMD8<Float>(repeating: Self.eta)
        var threshold = SIMD8<Float>(repeating: lowerHeaps[f].threshold)
        var j = 0
        while j + 8 <= n {
            let i = first + j
            let p = UnsafeRawPointer(approximate + j).loadUnaligned(as: SIMD8<Float>.self)
            let m = UnsafeRawPointer(norms + i).loadUnaligned(as: SIMD8<Float>.self)
            let r = UnsafeRawPointer(residuals + i).loadUnaligned(as: SIMD8<Float>.self)
            let bias = table.bias.map { UnsafeRawPointer($0 + i).loadUnaligned(as: SIMD8<Float>.self) } ?? SIMD8<Float>()
            let a: SIMD8<Float> = p + bias
            var e: SIMD8<Float> = m * ca
            e += r * cb
            e += bias.replacing(with: -bias, where: bias .< 0) * cg
            e += a.replacing(with: -a, where: a .< 0) * relative
            e += eta
            let upper = a + e
            let passing = upper .>= threshold
            if any(passing) {
                let lower = a - e
                for lane in 0..<8 where passing[lane] {
                    offer(item: i + lane, lower: lower[lane], upper: upper[lane], session: f, bound: &bound, excluded: excluded)
                }
                threshold = SIMD8<Float>(repeating: lowerHeaps[f].threshold)
            }
            j += 8
        }
        while j < n {  // leftovers: the same formula one row at a time
            let i = first + j
            let bias = table.bias?[i] ?? 0
            let a: Float = approximate[j] + bias
            var e: Float = norms[i] * bound.a
            e += residuals[i] * bound.b
            e += abs(bias) * bound.g
            e += abs(a) * 0x1p-22
            e += Self.eta
            if a + e >= lowerHeaps[f].threshold {
                offer(item: i, lower: a - e, upper: a + e, session: f, bound: &bound, excluded: excluded)
            }
            j += 1
        }
        bounds[f] = bound
    }

    @inline(__always)
    private func offer(item: Int, lower: Float, upper: Float, session f: Int, bound: inout SessionBound,
                       excluded: UnsafePointer<UInt64>) {
        guard bound.active, excluded[item >> 6] & (1 << UInt64(item & 63)) == 0 else { return }
        lowerHeaps[f].offer(lower, Int32(item))
        guard upper >= lowerHeaps[f].threshold else { return }
        guard bound.candidates < Self.candidateCapacity else {
            bound.active = false   // too many candidates: this session is scanned in fp32 instead
            return
        }
        candidates[f * Self.candidateCapacity + bound.candidates] = Int32(item)
        uppers[f * Self.candidateCapacity + bound.candidates] = upper
        bound.candidates += 1
    }
}

// Exact top-k from the int8 or bf16 scan (docs/KERNELS.md, "Exact top-k from the int8 scan" has the proof,
// "… the bf16 scan" its bf16 steps, "Multi-core scans" the split; ReducedScanTable holds what differs
// between the two tables):
//   per session: readout u → int8 query v (scale s_u) or bf16 parts, and the bound's constants A, B, G
//   the rows split into up to `ScanThreads.count` ranges, one ExactScanPart each (helpers that are idle
//     take the other ranges; otherwise the calling thread scans them all as one range): per row
//     p_i = D_i·(s_i·s_u) with D_i = q_i·v (Int8Dot, exact) or the bf16 dot product (Bf16Dot), a_i = p_i + b_i,
//     E_i ≥ |f_i − a_i| (f_i: the fp32 fused scan's score), L_i = a_i − E_i into the part's k-heap,
//     candidates: rows with U_i = a_i + E_i ≥ the part's τ
//   merge: τ = the k-th best L over every part's heap; the candidates with U_i ≥ τ re-scored in fp32
//     exactly as FusedScan scores them → the session's heap.
// A session whose candidates overflow a part's buffer, whose readout is not finite, or whose scores could
// overflow Float is scanned in fp32 instead (FusedScan over the fp32 table) and counted as a fallback.
// Twin: FusedScan itself; Int8ScanTests (alone, batched and split) and Bf16ScanTests compare both on
// adversarial tables, on every Int8Dot and Bf16Dot path.

/// Scans done by one context's exact (int8 or bf16) scan.
public struct ExactScanStatistics: Sendable, Equatable {
    /// Full-catalogue sessions answered from the int8 or bf16 scan plus fp32 re-scoring.
    public var approximate = 0
    /// Full-catalogue sessions that needed the fp32 scan (bound not tight enough, or guards).
    public var fallbacks = 0
    /// Rows re-scored in fp32 over all approximate sessions (per session: this / approximate).
    public var rescored = 0
    /// Approximate sessions whose rows were split over more than one thread (`ScanThreads`).
    public var split = 0

    public init() {}
}

final class ExactScan: ScanPartJob {
    /// Fewest rows per part: below, handing a range to a helper costs more than it saves.
    static let minimumPartRows = 16 * ExactScanPart.slab

    let table: ScoringTable
    let reduced: ReducedScanTable
    private let threads: ScanThreads?
    private let parts: [ExactScanPart]
    private let queries: UnsafeMutablePointer<Int8>      // [maxBatch, w]: int8 queries
    private let bf16Queries: Bf16QueryParts              // [maxBatch, w]: bf16 split queries
    private let packed: UnsafeMutableRawPointer          // Int8Dot.pack's output
    private let bounds: UnsafeMutablePointer<SessionBound>
    private let helpers: UnsafeMutablePointer<Int>       // [threads − 1]: the helpers of the scan in hand
    private let ranges: UnsafeMutablePointer<Range<Int>> // [parts]: their rows
    /// The scan in hand, for the helpers' `runPart` (set before they start, read until they finish).
    private var inputs: ScanInputs?
    private(set) var statistics = ExactScanStatistics()

    init(table: ScoringTable, reduced: ReducedScanTable, maxBatch: Int, threads: ScanThreads? = nil) {
        self.table = table
        self.reduced = reduced
        self.threads = threads
        let partCount = threads?.count ?? 1
        parts = (0..<partCount).map { _ in ExactScanPart(table: table, reduced: reduced, maxBatch: maxBatch) }
        queries = .allocate(capacity: maxBatch * table.width)
        bf16Queries = Bf16QueryParts(capacity: maxBatch * table.width)
        let groups = (maxBatch + Int8Dot.groupLanes - 1) / Int8Dot.groupLanes
        packed = .allocate(byteCount: Int8Dot.packedBytes(groups: groups, width: table.width), alignment: 64)
        bounds = .allocate(capacity: maxBatch)
        bounds.initialize(repeating: SessionBound(), count: maxBatch)
        helpers = .allocate(capacity: partCount)
        ranges = .allocate(capacity: partCount)
        ranges.initialize(repeating: 0..<0, count: partCount)
    }

    deinit {
        queries.deallocate(); bf16Queries.deallocate(); packed.deallocate(); bounds.deallocate()
        helpers.deallocate(); ranges.deallocate()
    }

    /// Scans the whole table for `count` sessions (`readouts[f·w…]`, batch index `sessions[f]`) into
    /// `heaps[sessions[f]]`, skipping rows excluded in `excluded + sessions[f]·words`. More than
    /// `ExactScanPart.singleLimit` sessions need an int8 table (CatalogScorer sends bf16 batches that large
    /// to the batched fp32 scan).
    func scan(count: Int, sessions: UnsafePointer<Int>, readouts: UnsafePointer<Float>, heaps: UnsafeMutablePointer<TopKHeap>,
              excluded: UnsafePointer<UInt64>, words: Int, dot: ReducedDotPaths) {
        let w = table.width
        precondition(count <= ExactScanPart.singleLimit || reduced.isInt8, "batched exact scans need an int8 table")
        for f in 0..<count {
            bounds[f] = prepare(readouts + f * w, session: f, dot: dot)
            bounds[f].capacity = heaps[sessions[f]].capacity
        }
        let inLanes = reduced.isInt8 && ExactScanPart.inLanes(sessions: count, dot: dot.int8, width: w)
        if inLanes { dot.int8.pack(queries, count: count, width: w, into: packed) }
        let scanInputs = ScanInputs(count: count, bounds: bounds, queries: queries, bf16Queries: bf16Queries,
                                    packed: packed, readouts: readouts, excluded: excluded, sessions: sessions,
                                    words: words, dot: dot, inLanes: inLanes)
        let used = split(table.firstItem..<table.rows)
        inputs = scanInputs
        for p in 1..<used { threads?.start(helper: helpers[p - 1], job: self, part: p) }
        parts[0].scan(rows: ranges[0], scanInputs)
        for p in 1..<used { threads?.finish(helper: helpers[p - 1]) }
        inputs = nil
        for f in 0..<count { finish(session: f, parts: used, scanInputs, heaps: heaps) }
    }

    func runPart(_ part: Int) {
        // safe: `scan` sets inputs before it starts a helper and clears them only after finish(helper:).
        parts[part].scan(rows: ranges[part], inputs!)
    }

    /// Splits `rows` over the calling thread and the helpers it could take (ranges[0..<result]).
    private func split(_ rows: Range<Int>) -> Int {
        var used = 1
        if let threads, threads.count > 1 {
            let wanted = Swift.min(threads.count, rows.count / Self.minimumPartRows) - 1
            if wanted > 0 { used += threads.acquire(upTo: wanted, into: helpers) }
        }
        // Slab-aligned boundaries, so every part but the last scans whole slabs.
        let slabs = (rows.count + ExactScanPart.slab - 1) / ExactScanPart.slab
        for p in 0..<used {
            let low = Swift.min(rows.lowerBound + slabs * p / used * ExactScanPart.slab, rows.upperBound)
            let high = Swift.min(rows.lowerBound + slabs * (p + 1) / used * ExactScanPart.slab, rows.upperBound)
            ranges[p] = low..<high
        }
        return used
    }

    /// Session f's answer: τ from every part's lower bounds, then the re-scored candidates; or the fp32 scan.
    private func finish(session f: Int, parts used: Int, _ inputs: ScanInputs, heaps: UnsafeMutablePointer<TopKHeap>) {
        let b = inputs.sessions[f], readout = inputs.readouts + f * table.width
        guard (0..<used).allSatisfy({ parts[$0].active[f] }) else {
            statistics.fallbacks += 1
            FusedScan.scan(table, rows: table.firstItem..<table.rows, readout: readout,
                           excluded: inputs.excluded + b * inputs.words, into: &heaps[b])
            return
        }
        statistics.approximate += 1
        if used > 1 { statistics.split += 1 }
        // The parts' ranges are disjoint, so their heaps hold distinct rows: part 0's heap then keeps the
        // k best lower bounds of all of them, and its threshold is the global τ (KERNELS.md).
        let merged = parts[0].lowerHeaps + f
        for p in 1..<used {
            let heap = parts[p].lowerHeaps[f]
            for e in 0..<heap.count { merged.pointee.offer(heap.scores[e], heap.items[e]) }
        }
        let threshold = merged.pointee.threshold
        for p in 0..<used {
            let part = parts[p], base = f * ExactScanPart.candidateCapacity
            for c in 0..<part.counts[f] where part.uppers[base + c] >= threshold {
                let item = Int(part.candidates[base + c])
                heaps[b].offer(FusedScan.rowScore(table, row: item, readout: readout), Int32(item))
                statistics.rescored += 1
            }
        }
    }

    /// The reduced query and the bound's constants (KERNELS.md: A, B, G); not valid when u is not finite or
    /// the fp32 scores could come near Float's range.
    private func prepare(_ u: UnsafePointer<Float>, session f: Int, dot: ReducedDotPaths) -> SessionBound {
        let w = table.width
        var largest: Float = 0, squares = 0.0
        (queries + f * w).update(repeating: 0, count: w)   // an invalid session's query still enters the batched kernel
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
                guard let split = Bf16ScanTable.split(u, width: w, hi: bf16Queries.hi + f * w, lo: bf16Queries.lo + f * w) else {
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
        bound.valid = true
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
}

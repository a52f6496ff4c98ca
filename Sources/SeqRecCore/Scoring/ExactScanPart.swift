// One thread's share of an exact int8 or bf16 scan (ExactScan.swift has the whole; docs/KERNELS.md, "Exact
// top-k from the int8 scan" the proof): for a range of rows, per session, the k-heap of lower bounds L_i and
// the candidates with U_i ≥ its τ when scanned. 1–8 sessions (1–24 on the fused AVX2 pass): per session a
// slab of 1,024 rows (Int8Dot.dots or Bf16Dot.dots → the approximate scores p_i, or dots and bound in one C
// pass); more (int8 only): 256-row slabs against all sessions at once, 16 in lanes (Int8Dot.batchDots), the
// bound a lane vector per row.

import CSeqRecKernels

/// The per-session numbers every part reads (written by `ExactScan.prepare` before the parts start).
struct SessionBound {
    var scale: Float = 0, a: Float = 0, b: Float = 0, g: Float = 0
    /// The session's k (its heap's capacity).
    var capacity = 0
    /// False: the readout is not finite or could overflow Float; the session is scanned in fp32.
    var valid = false
}

/// What one scan call gives its parts (the same for every part).
struct ScanInputs {
    let count: Int
    let bounds: UnsafePointer<SessionBound>      // [count]
    let queries: UnsafePointer<Int8>             // [count, w]: int8 queries
    let bf16Queries: Bf16QueryParts              // [count, w]: bf16 split queries
    let packed: UnsafeRawPointer                 // Int8Dot.pack's output, when count > singleLimit
    let readouts: UnsafePointer<Float>           // [count, w]: the fp32 queries (bf16 paths that do not split)
    let excluded: UnsafePointer<UInt64>          // [batch, words]
    let sessions: UnsafePointer<Int>             // [count]: batch index of each session
    let words: Int
    let dot: ReducedDotPaths
    /// The sessions go into lanes (`Int8Dot.batchDots`) rather than one slab each (`ExactScanPart.inLanes`).
    let inLanes: Bool
}

final class ExactScanPart {
    static let slab = 1024
    static let batchedSlab = 256
    /// Sessions up to which each session scans its own slab (above: the batched kernel).
    static let singleLimit = 8
    /// Sessions up to which the fused AVX2 pass, one slab per session, beats both the AVX2 lane kernel and
    /// the batched fp32 scan (KERNELS.md, "The fused AVX2 pass": measured at 1M items).
    static let fusedPassSessions = 1...24

    /// Whether one session's slab can take the fused AVX2 pass: the int8 dots are the AVX2 ones and the
    /// width is whole 32-byte chunks (the kernel's own precondition).
    static func hasFusedPass(dot: Int8Dot, width: Int) -> Bool { dot == .avx2 && width % 32 == 0 }

    /// Whether a batch of `count` sessions takes the fused AVX2 pass: it has one and the batch is small enough.
    static func takesFusedPass(sessions count: Int, dot: Int8Dot, width: Int) -> Bool {
        hasFusedPass(dot: dot, width: width) && fusedPassSessions.contains(count)
    }

    /// Whether `count` sessions are scanned with the sessions in lanes rather than one slab each.
    static func inLanes(sessions count: Int, dot: Int8Dot, width: Int) -> Bool {
        count > singleLimit && !takesFusedPass(sessions: count, dot: dot, width: width)
    }
    /// Candidates one session may collect in one part before it falls back to fp32.
    static let candidateCapacity = 4096
    private static let eta: Float = 0x1p-100
    /// The relative term of E_i (|a_i|·2⁻²²: the rounding of L_i and U_i, KERNELS.md step 5).
    private static let relative: Float = 0x1p-22

    let table: ScoringTable
    let reduced: ReducedScanTable
    private let lowerScores: UnsafeMutablePointer<Float> // [maxBatch, maxK]
    private let lowerItems: UnsafeMutablePointer<Int32>
    let lowerHeaps: UnsafeMutablePointer<TopKHeap>       // [maxBatch]
    let candidates: UnsafeMutablePointer<Int32>          // [maxBatch, capacity]
    let uppers: UnsafeMutablePointer<Float>              // [maxBatch, capacity]
    let counts: UnsafeMutablePointer<Int>                // [maxBatch]: candidates collected
    let active: UnsafeMutablePointer<Bool>               // [maxBatch]: false once a session must fall back
    private let dots: UnsafeMutablePointer<Int32>        // [slab] or [batchedSlab, columns]
    private let approximate: UnsafeMutablePointer<Float> // [slab]: p_i of one session's slab
    private let passingUppers: UnsafeMutablePointer<Float> // [slab]: U_i of the rows the fused pass returns
    private let fusedConstants: UnsafeMutablePointer<Float> // [6]: the fused pass's s_u, A, B, G, 2⁻²², η
    private let columns: Int

    init(table: ScoringTable, reduced: ReducedScanTable, maxBatch: Int) {
        self.table = table
        self.reduced = reduced
        columns = (maxBatch + Int8Dot.groupLanes - 1) / Int8Dot.groupLanes * Int8Dot.groupLanes
        lowerScores = .allocate(capacity: maxBatch * SessionQuery.maxK)
        lowerItems = .allocate(capacity: maxBatch * SessionQuery.maxK)
        lowerHeaps = .allocate(capacity: maxBatch)
        candidates = .allocate(capacity: maxBatch * Self.candidateCapacity)
        uppers = .allocate(capacity: maxBatch * Self.candidateCapacity)
        counts = .allocate(capacity: maxBatch)
        counts.initialize(repeating: 0, count: maxBatch)
        active = .allocate(capacity: maxBatch)
        active.initialize(repeating: false, count: maxBatch)
        dots = .allocate(capacity: Swift.max(Self.slab, Self.batchedSlab * columns))
        approximate = .allocate(capacity: Self.slab)
        passingUppers = .allocate(capacity: Self.slab)
        fusedConstants = .allocate(capacity: 6)
    }

    deinit {
        lowerScores.deallocate(); lowerItems.deallocate(); lowerHeaps.deallocate(); candidates.deallocate()
        uppers.deallocate(); counts.deallocate(); active.deallocate(); dots.deallocate()
        approximate.deallocate(); passingUppers.deallocate(); fusedConstants.deallocate()
    }

    /// Scans `rows` for every session of `inputs`.
    func scan(rows: Range<Int>, _ inputs: ScanInputs) {
        for f in 0..<inputs.count {
            (lowerHeaps + f).initialize(to: TopKHeap(scores: lowerScores + f * SessionQuery.maxK,
                                                     items: lowerItems + f * SessionQuery.maxK,
                                                     capacity: inputs.bounds[f].capacity))
            counts[f] = 0
            active[f] = inputs.bounds[f].valid
        }
        let step = inputs.inLanes ? Self.batchedSlab : Self.slab
        var low = rows.lowerBound
        while low < rows.upperBound {
            let high = Swift.min(low + step, rows.upperBound)
            if inputs.inLanes {
                scanBatchedSlab(low..<high, inputs)
            } else {
                for f in 0..<inputs.count where active[f] { scanSlab(low..<high, session: f, inputs) }
            }
            low = high
        }
    }

    /// approximate[j] = p_i for the slab's rows i = first + j, for session f.
    private func approximateScores(_ rows: Range<Int>, session f: Int, _ inputs: ScanInputs) {
        let w = table.width, n = rows.count, first = rows.lowerBound
        switch reduced {
        case .int8(let int8):
            // safe: rows lie inside the table; dots and approximate hold slab ≥ n entries.
            inputs.dot.int8.dots(count: n, width: w, rows: int8.rows + first * w, query: inputs.queries + f * w,
                                 rowSums: int8.rowSums + first, into: dots)
            let scale = inputs.bounds[f].scale, su = SIMD8<Float>(repeating: scale)
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
            // safe: rows lie inside the table; approximate holds slab ≥ n entries; the query parts hold
            // session f's split query (ExactScan.prepare).
            inputs.dot.bf16.dots(count: n, width: w, rows: bf16.rows + first * w, query: inputs.readouts + f * w,
                                 hi: inputs.bf16Queries.hi + f * w, lo: inputs.bf16Queries.lo + f * w, into: approximate)
        }
    }

    /// One session against a slab, 8 rows' bounds at a time.
    private func scanSlab(_ rows: Range<Int>, session f: Int, _ inputs: ScanInputs) {
        let n = rows.count, first = rows.lowerBound, bound = inputs.bounds[f]
        let excluded = inputs.excluded + inputs.sessions[f] * inputs.words
        if case .int8(let int8) = reduced, Self.hasFusedPass(dot: inputs.dot.int8, width: table.width),
           fusedSlab(rows, session: f, int8, inputs, excluded: excluded) { return }
        approximateScores(rows, session: f, inputs)
        let norms = reduced.norms, residuals = reduced.residuals
        let ca = SIMD8<Float>(repeating: bound.a)
        let cb = SIMD8<Float>(repeating: bound.b), cg = SIMD8<Float>(repeating: bound.g)
        let relative = SIMD8<Float>(repeating: Self.relative), eta = SIMD8<Float>(repeating: Self.eta)
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
                    offer(item: i + lane, lower: lower[lane], upper: upper[lane], session: f, excluded: excluded)
                }
                guard active[f] else { return }
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
            e += abs(a) * Self.relative
            e += Self.eta
            if a + e >= lowerHeaps[f].threshold {
                offer(item: i, lower: a - e, upper: a + e, session: f, excluded: excluded)
            }
            j += 1
        }
    }

    /// AVX2 over an int8 table: the dots and the bound of `scanSlab` in one C pass (scan_int8_bound.c, the
    /// same formula with τ fixed at the slab's start — τ only grows, so every row it drops has U_i below the
    /// final τ too); `offer` then sees the passing rows in order, as `scanSlab` would. False when the
    /// kernel declines (a query holding −128, which ExactScan never makes): the general path runs.
    private func fusedSlab(_ rows: Range<Int>, session f: Int, _ int8: Int8ScanTable, _ inputs: ScanInputs,
                           excluded: UnsafePointer<UInt64>) -> Bool {
        #if arch(x86_64)
        let w = table.width, first = rows.lowerBound, bound = inputs.bounds[f]
        fusedConstants[0] = bound.scale; fusedConstants[1] = bound.a; fusedConstants[2] = bound.b
        fusedConstants[3] = bound.g; fusedConstants[4] = Self.relative; fusedConstants[5] = Self.eta
        // safe: rows lie inside the table and its per-row arrays; dots, approximate and passingUppers hold
        // slab ≥ rows.count entries, the most the kernel writes.
        let passing = seqrec_scan_i8_bound_avx2(
            rows.count, w, int8.rows + first * w, inputs.queries + f * w, int8.scales + first, int8.norms + first,
            int8.residuals + first, table.bias.map { UnsafePointer($0 + first) }, fusedConstants,
            lowerHeaps[f].threshold, dots, approximate, passingUppers)
        guard passing >= 0 else { return false }
        for j in 0..<passing {
            offer(item: first + Int(dots[j]), lower: approximate[j], upper: passingUppers[j], session: f, excluded: excluded)
            guard active[f] else { break }
        }
        return true
        #else
        return false
        #endif
    }

    /// Every session against a slab: the batched dots, then per group of 16 sessions and per row the
    /// same bound formula with the sessions in lanes (row numbers broadcast, session numbers per lane).
    private func scanBatchedSlab(_ rows: Range<Int>, _ inputs: ScanInputs) {
        // ExactScan.scan admits batches above singleLimit only over an int8 table.
        guard case .int8(let int8) = reduced else { preconditionFailure("batched exact scans need an int8 table") }
        let w = table.width, n = rows.count, first = rows.lowerBound, lanes = Int8Dot.groupLanes
        let stride = (inputs.count + lanes - 1) / lanes * lanes
        // safe: rows lie inside the table; dots holds batchedSlab · columns ≥ n · stride entries.
        inputs.dot.int8.batchDots(count: n, width: w, rows: int8.rows + first * w, queries: inputs.queries,
                                  sessions: inputs.count, packed: inputs.packed, rowSums: int8.rowSums + first, into: dots)
        let relative = SIMD16<Float>(repeating: Self.relative), eta = SIMD16<Float>(repeating: Self.eta)
        var group = 0
        while group < inputs.count {
            let used = Swift.min(lanes, inputs.count - group)
            var su = SIMD16<Float>(), ca = SIMD16<Float>(), cb = SIMD16<Float>(), cg = SIMD16<Float>()
            for lane in 0..<used {
                let bound = inputs.bounds[group + lane]
                su[lane] = bound.scale; ca[lane] = bound.a; cb[lane] = bound.b; cg[lane] = bound.g
            }
            var threshold = thresholds(group: group, used: used)
            for j in 0..<n {
                let i = first + j
                // safe: row j's 16·groups dots hold this group's lanes at group (a multiple of 16).
                let d = SIMD16<Float>(UnsafeRawPointer(dots + j * stride + group).loadUnaligned(as: SIMD16<Int32>.self))
                let bias = table.bias?[i] ?? 0
                let c: SIMD16<Float> = SIMD16(repeating: int8.scales[i]) * su
                let a: SIMD16<Float> = d * c + SIMD16(repeating: bias)
                var e: SIMD16<Float> = SIMD16(repeating: int8.norms[i]) * ca
                e += SIMD16(repeating: int8.residuals[i]) * cb
                e += SIMD16(repeating: abs(bias)) * cg
                e += a.replacing(with: -a, where: a .< 0) * relative
                e += eta
                let upper = a + e
                let passing = upper .>= threshold   // NaN on unused and falling-back lanes: never passes
                guard any(passing) else { continue }
                let lower = a - e
                for lane in 0..<used where passing[lane] {
                    let f = group + lane
                    offer(item: i, lower: lower[lane], upper: upper[lane], session: f,
                          excluded: inputs.excluded + inputs.sessions[f] * inputs.words)
                }
                threshold = thresholds(group: group, used: used)
            }
            group += lanes
        }
    }

    /// The group's current τ per lane; NaN where no session is or the session already falls back.
    @inline(__always)
    private func thresholds(group: Int, used: Int) -> SIMD16<Float> {
        var threshold = SIMD16<Float>(repeating: .nan)
        for lane in 0..<used where active[group + lane] { threshold[lane] = lowerHeaps[group + lane].threshold }
        return threshold
    }

    @inline(__always)
    private func offer(item: Int, lower: Float, upper: Float, session f: Int, excluded: UnsafePointer<UInt64>) {
        guard active[f], excluded[item >> 6] & (1 << UInt64(item & 63)) == 0 else { return }
        lowerHeaps[f].offer(lower, Int32(item))
        guard upper >= lowerHeaps[f].threshold else { return }
        guard counts[f] < Self.candidateCapacity else {
            active[f] = false   // too many candidates: this session is scanned in fp32 instead
            return
        }
        candidates[f * Self.candidateCapacity + counts[f]] = Int32(item)
        uppers[f * Self.candidateCapacity + counts[f]] = upper
        counts[f] += 1
    }
}

// Scores readout vectors against the item table and keeps each session's top k.
//   B sessions, F of them scored over the full catalog, w readout width, N table rows, C chunk rows
//   fused (KernelSelection.catalogScan, 1–8 sessions): per slab of S rows, each session's FusedScan → its TopKHeap
//   batched (more sessions): per slab of S rows, groups of 32/8 sessions in lanes (BatchScan) → their TopKHeaps
//   blocked: readout [F, w] · table[lo..<hi]ᵀ → block [F, C] (+ bias) → one TopKHeap per session
//   int8/bf16 exact (a model with a reduced scan table, where fused would run, and where batched would run when
//     the table is int8 and its dots have VNNI): ExactScan, the fused scan's result, split over the idle
//     `ScanThreads` helpers

/// Per-context scoring state (chunk buffer, heaps, filter bitsets), sized once; never allocates.
final class CatalogScorer {
    static let chunk = 4096
    /// Rows the fused scan runs through for every session before moving on: 256 KB of a 64-wide table, so
    /// sessions after the first read the slab from cache (measured against 64 and 256 rows: fastest at
    /// 2–4 sessions).
    static let slab = 1024

    let table: ScoringTable
    let maxBatch: Int
    let words: Int                                       // 64-bit words per item bitset
    private let heapScores: UnsafeMutablePointer<Float>  // [maxBatch, maxK]
    private let heapItems: UnsafeMutablePointer<Int32>
    let heaps: UnsafeMutablePointer<TopKHeap>            // [maxBatch]
    let excluded: UnsafeMutablePointer<UInt64>           // [maxBatch, words]: items session b may not return
    private let allowed: UnsafeMutablePointer<UInt64>    // [words]: allow-list of the candidate session in hand
    let fullCatalog: UnsafeMutablePointer<Int>           // [maxBatch]: sessions scored over the whole table
    let compact: UnsafeMutablePointer<Float>             // [maxBatch, w]: their readouts, contiguous
    private let transposed: UnsafeMutablePointer<Float>  // [w, groups' columns]: BatchScan's Rᵀ, group by group
    private let thresholds: UnsafeMutablePointer<Float>  // [groups' columns]: BatchScan's per-session thresholds
    private let block: UnsafeMutablePointer<Float>       // [maxBatch, chunk]
    /// Item-attribute filters (Catalogue/): which sessions' exclusion rows hold a filter mask (cleared
    /// whole afterwards), and the per-category cap's scratch.
    let masked: UnsafeMutablePointer<Bool>               // [maxBatch]
    var cap = CategoryCapScratch()
    /// The exact int8 or bf16 scan, when the model has a reduced scan table (and the recommender uses it).
    private let exact: ExactScan?
    /// Tests pin the dot paths; nil = the fastest the kernels' native level allows.
    var int8DotOverride: Int8Dot?
    var bf16DotOverride: Bf16Dot?
    private var reducedDots: (level: InstructionSet, paths: ReducedDotPaths)?

    init(table: ScoringTable, maxBatch: Int, reduced: ReducedScanTable? = nil, scanThreads: ScanThreads? = nil) {
        self.table = table
        self.maxBatch = maxBatch
        exact = reduced.map { ExactScan(table: table, reduced: $0, maxBatch: maxBatch, threads: scanThreads) }
        words = (table.rows + 63) / 64
        heapScores = .allocate(capacity: maxBatch * SessionQuery.maxK)
        heapItems = .allocate(capacity: maxBatch * SessionQuery.maxK)
        heaps = .allocate(capacity: maxBatch)
        excluded = .allocate(capacity: maxBatch * words)
        excluded.initialize(repeating: 0, count: maxBatch * words)
        allowed = .allocate(capacity: words)
        allowed.initialize(repeating: 0, count: words)
        // BatchScan pads the last group to a whole vector of sessions.
        let columns = (maxBatch + BatchScan.narrow - 1) / BatchScan.narrow * BatchScan.narrow
        fullCatalog = .allocate(capacity: columns)
        fullCatalog.initialize(repeating: 0, count: columns)
        compact = .allocate(capacity: maxBatch * table.width)
        transposed = .allocate(capacity: columns * table.width)
        thresholds = .allocate(capacity: columns)
        block = .allocate(capacity: maxBatch * Self.chunk)
        masked = .allocate(capacity: maxBatch)
        masked.initialize(repeating: false, count: maxBatch)
    }

    deinit {
        heapScores.deallocate()
        heapItems.deallocate()
        heaps.deallocate()
        excluded.deallocate()
        allowed.deallocate()
        fullCatalog.deallocate()
        compact.deallocate()
        transposed.deallocate()
        thresholds.deallocate()
        block.deallocate()
        masked.deallocate()
    }

    /// Fills `results[offset + b]` with session b's best items. Queries are validated: ids are in range.
    /// `catalogue`: the model's item attributes at `now` (milliseconds since the epoch), for the
    /// queries' `filters`.
    func select(_ queries: ArraySlice<SessionQuery>, readout: UnsafePointer<Float>,
                into results: inout [Recommendation], offset: Int, kernels: Kernels,
                catalogue: CatalogueSnapshot? = nil, now: Int64 = 0) {
        let w = table.width
        var full = 0
        for (b, query) in queries.enumerated() {
            let capacity = poolSize(query, catalogue)
            (heaps + b).initialize(to: TopKHeap(scores: heapScores + b * SessionQuery.maxK,
                                                items: heapItems + b * SessionQuery.maxK, capacity: capacity))
            masked[b] = writeFilterMask(query.filters, session: b, catalogue: catalogue, now: now)
            setExclusions(query, session: b, to: true)
            if query.candidates == nil && query.allow == nil {
                fullCatalog[full] = b
                (compact + full * w).update(from: readout + b * w, count: w)
                full += 1
            } else {
                scoreCandidates(query, session: b, readout: readout + b * w, kernels: kernels)
            }
        }
        if full > 0 { scanCatalog(sessions: full, kernels: kernels) }
        for (b, query) in queries.enumerated() {
            heaps[b].drain(into: &results[offset + b])
            if let catalogue, query.filters.maxPerCategory != nil {
                capPerCategory(query, session: b, readout: readout + b * w, result: &results[offset + b],
                               catalogue: catalogue, now: now, kernels: kernels)
            }
            if masked[b] { clearRow(session: b) } else { setExclusions(query, session: b, to: false) }
        }
    }

    /// Scores every item for `count` sessions, fused or chunk by chunk; only entries that beat a heap's
    /// threshold are checked against the filters.
    func scanCatalog(sessions count: Int, kernels: Kernels) {
        let w = table.width
        var low = table.firstItem
        let scan = kernels.selection.catalogScan(sessions: count)
        if let exact, scan == .fused || scan == .batched {
            let dots = reducedDotPaths(kernels)
            // Above 8 sessions the int8 scan beats the batched fp32 scan with VNNI's lane kernel, or with the
            // fused AVX2 pass up to ExactScanPart.fusedPassSessions (KERNELS.md, "Batched int8 scan", "The fused
            // AVX2 pass"; bf16 has no batched kernel); a pinned int8 path (tests) always runs the int8 scan.
            let batchedInt8 = exact.reduced.isInt8 && (dots.int8.batchesFasterThanFp32 || int8DotOverride != nil
                || ExactScanPart.takesFusedPass(sessions: count, dot: dots.int8, width: w))
            if scan == .fused || batchedInt8 {
                exact.scan(count: count, sessions: fullCatalog, readouts: compact, heaps: heaps, excluded: excluded,
                           words: words, dot: dots)
                return
            }
        }
        if scan == .batched {
            batchScan(sessions: count)
            return
        }
        if scan == .fused {
            while low < table.rows {
                let high = Swift.min(low + Self.slab, table.rows)
                for f in 0..<count {
                    let b = fullCatalog[f]
                    FusedScan.scan(table, rows: low..<high, readout: compact + f * w, excluded: excluded + b * words,
                                   into: &heaps[b])
                }
                low = high
            }
            return
        }
        while low < table.rows {
            let high = Swift.min(low + Self.chunk, table.rows), n = high - low
            product(sessions: count, readouts: compact, rows: low..<high, into: block, stride: Self.chunk,
                    kernels: kernels)
            for f in 0..<count {
                let b = fullCatalog[f], row = block + f * Self.chunk
                if let bias = table.bias { kernels.add(count: n, bias + low, into: row) }
                heaps[b].offerPassing(row, items: low..<high, excluded: excluded + b * words)
            }
            low = high
        }
    }

    /// Sessions answered by the reduced scan and fp32 fallbacks so far (nil without a reduced table).
    var exactScanStatistics: ExactScanStatistics? { exact?.statistics }

    private func reducedDotPaths(_ kernels: Kernels) -> ReducedDotPaths {
        var paths: ReducedDotPaths
        if let reducedDots, reducedDots.level == kernels.native {
            paths = reducedDots.paths
        } else {
            paths = ReducedDotPaths(int8: Int8Dot.fastest(native: kernels.native), bf16: Bf16Dot.fastest(native: kernels.native))
            reducedDots = (kernels.native, paths)
        }
        if let int8DotOverride { paths.int8 = int8DotOverride }
        if let bf16DotOverride { paths.bf16 = bf16DotOverride }
        return paths
    }

    /// `BatchScan` over the whole catalog: sessions in groups of 32, the rest in groups of 8 (the last one
    /// padded with zero readouts and NaN thresholds, which no score passes); slab by slab, so every group reads the slab from cache.
    private func batchScan(sessions count: Int) {
        let w = table.width
        var start = 0
        while start < count {
            let width = BatchScan.groupWidth(remaining: count - start)
            let groupReadouts = transposed + start * w
            for column in 0..<width {
                let session = start + column
                let used = session < count
                // NaN, not +∞, on unused columns: x ≥ NaN is false for every x, +∞ ≥ +∞ is not (a +∞ bias).
                thresholds[session] = used ? heaps[fullCatalog[session]].threshold : .nan
                for p in 0..<w { groupReadouts[p * width + column] = used ? compact[session * w + p] : 0 }
            }
            start += width
        }
        var low = table.firstItem
        while low < table.rows {
            let high = Swift.min(low + Self.slab, table.rows)
            start = 0
            while start < count {
                let width = BatchScan.groupWidth(remaining: count - start)
                let group = ScanGroup(readouts: transposed + start * w, thresholds: thresholds + start,
                                      sessions: fullCatalog + start)
                if width == BatchScan.wide {
                    BatchScan.scanWide(table, rows: low..<high, group: group, heaps: heaps, excluded: excluded, words: words)
                } else {
                    BatchScan.scanNarrow(table, rows: low..<high, group: group, heaps: heaps, excluded: excluded, words: words)
                }
                start += width
            }
            low = high
        }
    }

    /// Every row's score, padding rows included, for one readout (parity tests compare whole vectors).
    func scoreAll(readout: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>, kernels: Kernels) {
        product(sessions: 1, readouts: readout, rows: 0..<table.rows, into: scores, stride: table.rows,
                kernels: kernels)
        if let bias = table.bias { kernels.add(count: table.rows, bias, into: scores) }
    }

    /// out[f · stride + j] = readouts[f] · table[rows.lowerBound + j], without the bias.
    private func product(sessions count: Int, readouts: UnsafePointer<Float>, rows: Range<Int>,
                         into out: UnsafeMutablePointer<Float>, stride: Int, kernels: Kernels) {
        let w = table.width, n = rows.count
        if count == 1 {
            kernels.gemv(trans: false, m: n, n: w, alpha: 1, a: table.table + rows.lowerBound * w, lda: w,
                         x: readouts, beta: 0, y: out)
        } else {
            kernels.gemm(transA: false, transB: true, m: count, n: n, k: w, alpha: 1, a: readouts, lda: w,
                         b: table.table + rows.lowerBound * w, ldb: w, beta: 0, c: out, ldc: stride)
        }
    }

    /// Candidate mode: the candidates (or the allow-list alone) are scored one by one.
    func scoreCandidates(_ query: SessionQuery, session b: Int, readout u: UnsafePointer<Float>,
                                 kernels: Kernels) {
        let bits = excluded + b * words
        let list = query.candidates ?? query.allow ?? []
        let restrict = query.candidates != nil && query.allow != nil
        if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), true) } }
        var heap = heaps[b]
        for item32 in list {
            let item = Int(item32)
            guard item >= table.firstItem, !isSet(bits, item), !restrict || isSet(allowed, item) else { continue }
            let score = kernels.dot(count: table.width, u, table.table + item * table.width) + (table.bias?[item] ?? 0)
            heap.offer(score, item32)
            set(bits, item, true)   // a duplicate candidate is scored once
        }
        heaps[b] = heap
        if restrict, let allow = query.allow { for item in allow { set(allowed, Int(item), false) } }
    }

    func setExclusions(_ query: SessionQuery, session b: Int, to value: Bool) {
        let bits = excluded + b * words
        if query.excludeSeen { for item in query.items where Int(item) < table.rows { set(bits, Int(item), value) } }
        for item in query.deny { set(bits, Int(item), value) }
        if !value, let candidates = query.candidates ?? query.allow {
            for item in candidates where Int(item) < table.rows && Int(item) >= 0 { set(bits, Int(item), false) }
        }
    }

    @inline(__always)
    private func isSet(_ bits: UnsafeMutablePointer<UInt64>, _ item: Int) -> Bool {
        bits[item >> 6] & (1 << UInt64(item & 63)) != 0
    }

    @inline(__always)
    private func set(_ bits: UnsafeMutablePointer<UInt64>, _ item: Int, _ value: Bool) {
        // safe: callers pass validated ids in 0..<table.rows.
        if value { bits[item >> 6] |= 1 << UInt64(item & 63) } else { bits[item >> 6] &= ~(1 << UInt64(item & 63)) }
    }
}

// The in-process API: load a model file once, then run batches of sessions on per-thread contexts.

/// A loaded model. Immutable and shareable; each thread runs batches on its own `InferenceContext`.
public final class Recommender: @unchecked Sendable {
    public let info: ModelInfo
    public let file: ModelFile
    public let kernels: KernelSelection
    public let maxBatch: Int
    let encoder: any SequenceEncoder
    /// Weight copies the encoder's layers point into.
    private let packedWeights = PackedWeights()
    /// What the scorer reads: the encoder's table, or its resident copy (see `TableMemory`).
    let scoring: ScoringTable
    private let residentTable: ResidentTable?
    /// The most popular items, for fallback answers (nil: the file has no `seqrec.popularity`).
    let popularity: PopularityRanking?
    /// A cache-less binding for explanations' leave-one-out sessions, built on first use.
    let uncached = UncachedEncoder()
    /// The reduced scan table (FORMAT.md §12: int8 or bf16) the contexts scan first, as `scanTable` chose
    /// it (docs/KERNELS.md, "Exact top-k from the int8 scan"); nil: the fp32 scan.
    let reducedScan: ReducedScanTable?
    /// The helpers the contexts' reduced scans split a request's rows over (nil: each scan on its own thread).
    let scanThreads: ScanThreads?

    public var vocabulary: Vocabulary? { file.vocabulary }
    /// The reduced scan table the contexts scan first ("int8" or "bf16"), nil when they scan fp32 only.
    public var reducedScanTable: String? {
        switch reducedScan {
        case .int8?: "int8"
        case .bf16?: "bf16"
        case nil: nil
        }
    }
    /// The item attributes this version filters with (published by an `ItemCatalogue`; empty until then).
    public let catalogue = CatalogueSlot()

    /// Opens and validates `path`, binds it to its family's forward pass.
    /// - Parameter name: the name the model is served under (default: the file name without extension).
    /// - Parameter tableMemory: where the scoring table is read from (`.automatic`: large tables are copied
    ///   into huge-page memory, see `TableMemory`; applications that honour `SEQREC_TABLE_MEMORY` pass
    ///   `TableMemory.fromEnvironment()`).
    ///
    /// Loading changes no process-wide state: OpenBLAS's thread count is the application's to set
    /// (`configureBLASThreads`; SeqRec's executables set 1, OpenBLAS's own default is one per core).
    /// - Parameter stateCache: GRU families, SASRec and NARM: the memory budget and idle time of the model's
    ///   state cache, shared by every context, so a session that grew by one item runs one step or token
    ///   (`.off`: none; default 128 MiB, 30 min; see `StateCache`).
    /// - Parameter scanThreads: a process-wide pool the reduced (int8 or bf16) scans split one request's rows over when its
    ///   helpers are idle (docs/KERNELS.md, "Multi-core scans"; nil: every scan on its calling thread).
    public init(path: String, name: String? = nil, kernels: KernelSelection = .automatic, maxBatch: Int = 64,
                tableMemory: TableMemory = .automatic, stateCache: StateCacheSettings = StateCacheSettings(),
                scanTable: ScanTablePolicy = .automatic, scanThreads: ScanThreads? = nil) throws {
        guard (1...1024).contains(maxBatch) else { throw ModelLoadError("model load: maxBatch is \(maxBatch), expected 1…1024") }
        try stateCache.validate()
        file = try ModelFile.open(path: path)
        encoder = try makeEncoder(file, packing: packedWeights, maxBatch: maxBatch, stateCache: stateCache)
        try Self.checkScratch(encoder, maxBatch: maxBatch)
        let table = encoder.scoring
        reducedScan = try scanTable.bind(file, fp32: table, tableMemory: tableMemory)
        // With a reduced table the fp32 rows are read only for the few re-scored candidates (and fallbacks):
        // the reduced rows get the resident copy, the fp32 ones stay in the mapping.
        residentTable = reducedScan == nil && tableMemory.copies(bytes: table.rows * table.width * MemoryLayout<Float>.stride)
            ? ResidentTable(copying: table) : nil
        // The copy serves the scans: the file's pages of the table need not stay in this process's RSS
        // (a reload would otherwise hold them beside both copies). Rows the encoder reads later refault.
        if residentTable != nil {
            file.releasePages(of: UnsafeRawBufferPointer(start: table.table, count: table.rows * table.width * MemoryLayout<Float>.stride))
        }
        scoring = residentTable?.scoring ?? table
        self.kernels = kernels
        self.maxBatch = maxBatch
        self.scanThreads = scanThreads
        let first = encoder.scoring.firstItem
        popularity = try PopularityRanking(file, recommendable: first ..< encoder.scoring.rows)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let stem = base.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
        info = ModelInfo(name: name ?? (stem.isEmpty ? base : stem), family: file.family.rawValue,
                         itemCount: encoder.scoring.rows - encoder.scoring.firstItem, firstItem: encoder.scoring.firstItem,
                         inputItems: encoder.inputItems,
                         maxSessionLength: encoder.window, embeddingWidth: encoder.scoring.width,
                         hasVocabulary: file.vocabulary != nil, hasPopularity: popularity != nil)
    }

    public func makeContext() -> InferenceContext { InferenceContext(self) }

    /// What the model's state cache holds and has done (nil: the family has none, or it is off).
    public var stateCacheUsage: StateCacheUsage? { encoder.sharedStateCache?.usage }

    /// Most scratch memory one inference context may take. The workspace grows with the batch limit times
    /// the file's window and widths; a file within the format's ranges could ask for terabytes, which must
    /// be an error at load, not a failed allocation later.
    static let maxScratchBytes = 4 << 30

    private static func checkScratch(_ encoder: any SequenceEncoder, maxBatch: Int) throws {
        let layout = encoder.workspaceLayout
        // FamilySchema's ranges times maxBatch ≤ 1024 keep every count, and so
        // these sums of bytes, far below 2⁶³.
        let table = encoder.scoring
        let bytes = layout.floatCount * MemoryLayout<Float>.stride + layout.intCount * MemoryLayout<Int>.stride
            + (maxBatch + 8) * (3 * table.width + CatalogScorer.chunk) * MemoryLayout<Float>.stride  // readouts, score block
            + maxBatch * (table.rows + 63) / 64 * MemoryLayout<UInt64>.stride               // exclusion bitsets
            + maxBatch * SessionQuery.maxK * (MemoryLayout<Float>.stride + MemoryLayout<Int32>.stride)  // heaps
        guard bytes <= maxScratchBytes else {
            throw ModelLoadError("model load: one inference context would need \(bytes >> 20) MiB of scratch memory for a "
                + "batch limit of \(maxBatch) and a window of \(encoder.window) items (limit \(maxScratchBytes >> 20) MiB); "
                + "lower the batch limit (seqrec serve --max-batch), or check "
                + "the file's window and layer sizes")
        }
    }

    /// Maps vocabulary tokens to internal ids. Unknown tokens are dropped when `skipUnknown`, else an error.
    /// Special tokens (`[PAD]`, `[MASK]`) map to their rows; `validate` then rejects them wherever they
    /// are not allowed, exactly as their internal ids. `field` names the list in errors.
    public func resolve(tokens: [String], skipUnknown: Bool, field: String = "external ids") throws(RecommendError) -> [Int32] {
        guard let vocabulary = file.vocabulary else {
            throw RecommendError(.noVocabulary, field: field, "model '\(info.name)' has no vocabulary; send internal ids")
        }
        var ids: [Int32] = []
        ids.reserveCapacity(tokens.count)
        for token in tokens {
            if let id = vocabulary.id(ofToken: token) {
                ids.append(Int32(id))   // safe: vocabulary ids are < n_items ≤ Int32.max (FORMAT.md §4)
            } else if !skipUnknown {
                throw RecommendError(.unknownItem, field: field, "unknown item '\(token.prefix(64))'")
            }
        }
        return ids
    }

    /// The external token of an internal id (its decimal string when the model has no vocabulary).
    public func token(of item: Int32) -> String {
        file.vocabulary?.token(of: Int(item)) ?? String(item)
    }
}

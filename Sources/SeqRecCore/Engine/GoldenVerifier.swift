// Checks a model file against upstream's golden outputs: what `seqrec convert --verify` runs before it keeps a file,
// and the comparison rule of the parity suite.

/// The parity rule (MODELS.md §9.2): every score within `1e-4 · scale` of upstream's (scale = the largest |golden
/// score| of the case), and the same item at every rank of the top-k except inside near-ties
/// (`|Δscore| ≤ 1e-5 · scale` to a neighbouring golden rank).
public enum GoldenComparison {
    public static let relativeTolerance: Float = 1e-4
    public static let relativeTieWidth: Float = 1e-5

    /// The scale of a case: the largest finite |score| of its full vector, else of its top list.
    public static func scale(of golden: GoldenFile.Case) -> Float {
        let all = golden.scores?.compactMap { $0 }.filter(\.isFinite) ?? golden.top.map(\.score)
        let largest = all.map(abs).max() ?? 1
        return largest > 0 ? largest : 1
    }

    /// The first score of a full raw vector (padding row included) beyond the tolerance, or nil.
    public static func checkScores(_ actual: [Float], against expected: [Float?], scale: Float) -> String? {
        guard actual.count == expected.count else {
            return "the model scores \(actual.count) rows, golden.json has \(expected.count) scores"
        }
        let tolerance = relativeTolerance * scale
        for (item, value) in expected.enumerated() {
            guard let value, value.isFinite else { continue }
            let error = abs(actual[item] - value)
            guard !(error <= tolerance) else { continue }  // written so that a NaN score fails too
            return "score of item \(item) is \(actual[item]), upstream \(value) "
                + "(|Δ| \(error) > \(relativeTolerance) × max|score| \(scale))"
        }
        return nil
    }

    /// The first problem of a top-k answer against upstream's list (already restricted to servable items), or nil.
    public static func checkTop(items: [Int32], scores: [Float], against golden: [GoldenScore], scale: Float) -> String? {
        guard items.count == golden.count, scores.count == golden.count else {
            return "\(items.count) items returned, upstream lists \(golden.count)"
        }
        let tolerance = relativeTolerance * scale, tie = relativeTieWidth * scale
        for rank in golden.indices {
            guard abs(scores[rank] - golden[rank].score) <= tolerance else {  // NaN fails too
                return "rank \(rank + 1) scores \(scores[rank]), upstream \(golden[rank].score) "
                    + "(|Δ| \(abs(scores[rank] - golden[rank].score)) > \(relativeTolerance) × max|score| \(scale))"
            }
            guard items[rank] != golden[rank].item else { continue }
            let nearTie = (rank > 0 && abs(golden[rank].score - golden[rank - 1].score) <= tie)
                || (rank + 1 < golden.count && abs(golden[rank].score - golden[rank + 1].score) <= tie)
                || (rank == golden.count - 1 && abs(scores[rank] - golden[rank].score) <= tie)
            if !nearTie {
                return "rank \(rank + 1) is item \(items[rank]), upstream item \(golden[rank].item) (not a near-tie)"
            }
        }
        return nil
    }
}

/// A model file whose outputs differ from its golden file. One line: which case, kernel path and value.
public struct GoldenMismatch: Error, CustomStringConvertible, Sendable {
    public let description: String
}

public enum GoldenVerifier {
    /// What a successful verification covered.
    public struct Summary: Sendable, CustomStringConvertible {
        public let cases: Int
        public let fullVectors: Int
        public let paths: [KernelSelection]

        public var description: String {
            "\(cases) golden cases (\(fullVectors) full score vectors) match on "
                + paths.map { name($0) }.joined(separator: ", ")
        }
    }

    /// Every kernel path this CPU runs: BLAS, and SIMD at each native level up to the detected one (a level above
    /// it would run at the detected one: no new path).
    public static var everyKernelPath: [KernelSelection] {
        [.forced(.blas)] + InstructionSet.allCases.filter { $0 <= .detected }.reversed().map { .instructionSet($0) }
    }

    /// Loads `modelPath` on each kernel path and runs every golden case: full score vectors where the file has them,
    /// the top-k list of every case. Throws `GoldenMismatch` for the first difference beyond the parity rule, or
    /// the load or query error of a file the golden cases do not fit.
    public static func verify(modelPath: String, golden: GoldenFile, paths: [KernelSelection] = everyKernelPath) throws -> Summary {
        for path in paths {
            let recommender = try Recommender(path: modelPath, kernels: path, maxBatch: 32)
            try verify(recommender, golden: golden, label: "[\(name(path))]")
        }
        return Summary(cases: golden.cases.count, fullVectors: golden.cases.filter { $0.scores != nil }.count, paths: paths)
    }

    /// The `SEQREC_KERNELS` spelling of a selection (blas, simd-avx512, ...).
    static func name(_ selection: KernelSelection) -> String {
        switch selection {
        case .automatic: "auto"
        case .forced(let backend): backend.rawValue
        case .instructionSet(let level): "simd-\(level.rawValue)"
        }
    }

    static func verify(_ recommender: Recommender, golden: GoldenFile, label: String) throws {
        let context = recommender.makeContext()
        let firstItem = recommender.info.firstItem
        var queries: [SessionQuery] = []
        var expected: [[GoldenScore]] = []
        for (index, golden) in golden.cases.enumerated() {
            // Upstream ranks rows the runtime never returns (padding): compare the servable part of its list.
            let top = Array(golden.top.filter { Int($0.item) >= firstItem }.prefix(SessionQuery.maxK))
            let query = SessionQuery(items: golden.session, k: max(top.count, 1))
            do {
                try recommender.validate(query)
            } catch {
                throw GoldenMismatch(description: "case \(index): \(error)")
            }
            if let scores = golden.scores,
               let problem = GoldenComparison.checkScores(try context.rawScores(session: golden.session), against: scores,
                                                          scale: GoldenComparison.scale(of: golden)) {
                throw GoldenMismatch(description: "case \(index) \(label): \(problem)")
            }
            queries.append(query)
            expected.append(top)
        }
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)
        for (index, golden) in golden.cases.enumerated() where !expected[index].isEmpty {
            if let problem = GoldenComparison.checkTop(items: results[index].items, scores: results[index].scores,
                                                       against: expected[index], scale: GoldenComparison.scale(of: golden)) {
                throw GoldenMismatch(description: "case \(index) \(label): \(problem)")
            }
        }
    }
}

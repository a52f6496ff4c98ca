// `seqrec recommend`: one session given as ids or titles, or a JSONL batch for scripts.
import Foundation
import SeqRecCore

struct RecommendCommand {
    let modelPath: String
    let session: String?
    let input: String?
    let k: Int
    let excludeSeen: Bool
    let external: Bool
    let kernels: KernelSelection
    /// Answers (issue 15): `--diversity LAMBDA[,POOL]`, `--fallback`, `--explain`.
    let diversity: DiversityOptions?
    let fallback: Bool
    let explain: Bool

    init(_ arguments: inout Arguments) throws {
        guard let model = try arguments.option("--model") else { throw UsageError("recommend needs --model <file>") }
        modelPath = model
        session = try arguments.option("--session")
        input = try arguments.option("--input")
        k = try arguments.integer("--k", default: 10, in: 1...SessionQuery.maxK)
        excludeSeen = arguments.flag("--exclude-seen")
        external = arguments.flag("--external")
        diversity = try arguments.option("--diversity").map(Self.parseDiversity)
        fallback = arguments.flag("--fallback")
        explain = arguments.flag("--explain")
        if let name = try arguments.option("--kernels") {
            guard let parsed = KernelSelection(name: name) else { throw UsageError("--kernels must be auto, blas, simd or naive, got '\(name)'") }
            kernels = parsed
        } else {
            kernels = try KernelSelection.fromEnvironment()
        }
        let format = try arguments.option("--format") ?? (input == nil ? "text" : "jsonl")
        guard format == (input == nil ? "text" : "jsonl") else {
            throw UsageError("--format \(format) is not supported here: use --format jsonl with --input, text with --session")
        }
        try arguments.finish()
        guard (session == nil) != (input == nil) else { throw UsageError("recommend needs exactly one of --session or --input") }
    }

    func run() throws {
        let recommender = try Recommender(path: modelPath, kernels: kernels, tableMemory: TableMemory.fromEnvironment())
        if let input {
            try BatchRecommend(recommender: recommender, defaultK: k).run(inputPath: input)
            return
        }
        let text = session ?? ""
        let items = fallback && text.allSatisfy(\.isWhitespace) ? []
            : try SessionParser(recommender: recommender, external: external).parse(text)
        var query = SessionQuery(items: items, k: k)
        query.excludeSeen = excludeSeen
        query.diversity = diversity
        query.fallback = fallback
        query.explain = explain
        let result = try recommender.makeContext().recommend(query)
        print("model \(recommender.info.name) (\(recommender.info.family), \(recommender.info.itemCount) items)")
        print(result.usedFallback ? "session: empty — the most popular items (fallback), score = interactions"
                                  : "session: " + query.items.map { describe($0, recommender) }.joined(separator: " → "))
        for (rank, (item, score)) in zip(result.items, result.scores).enumerated() {
            let rankText = String(rank + 1).leftPadded(to: 3)
            print("\(rankText). \(describe(item, recommender))  score \(score)")
            // Only items that pushed this one up read as a reason (the JSONL output keeps every contributor).
            let because = (result.contributorsPerItem > 0 ? result.because(ofItem: rank) : []).filter { $0.contribution > 0 }
            if !because.isEmpty {
                let reasons = because.map { "\(name($0.item, recommender)) (\(signed($0.contribution)))" }
                print("       because you watched " + reasons.joined(separator: ", "))
            }
        }
    }

    /// "0.7" or "0.7,200": λ, then the pool (default `DiversityOptions.defaultPool`); range checks are the engine's.
    private static func parseDiversity(_ text: String) throws -> DiversityOptions {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let lambda = Float(parts[0]),
              let pool = parts.count == 2 ? Int(parts[1]) : DiversityOptions.defaultPool else {
            throw UsageError("--diversity takes LAMBDA or LAMBDA,POOL (for example 0.7 or 0.7,200), got '\(text)'")
        }
        return DiversityOptions(lambda: lambda, pool: pool)
    }

    /// The title alone when known ("because you watched Star Wars"), else the id.
    private func name(_ item: Int32, _ recommender: Recommender) -> String {
        recommender.vocabulary?.title(of: Int(item)) ?? "item \(item) (\(recommender.token(of: item)))"
    }

    private func signed(_ value: Float) -> String {
        (value >= 0 ? "+" : "") + String(format: "%.3f", value)
    }

    private func describe(_ item: Int32, _ recommender: Recommender) -> String {
        let title = recommender.vocabulary?.title(of: Int(item))
        return title.map { "\($0) [\(item)]" } ?? "item \(item) (\(recommender.token(of: item)))"
    }
}

/// Turns "--session" text into internal ids: `;`-separated entries (or `,` between plain integers), each
/// an internal id, a vocabulary token (`--external`) or a title (exact, else a unique substring).
struct SessionParser {
    let recommender: Recommender
    let external: Bool

    func parse(_ text: String) throws -> [Int32] {
        let separator: Character = text.contains(";") ? ";" : ","
        var entries = text.split(separator: separator).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if separator == "," && !entries.allSatisfy({ Int32($0) != nil }) { entries = [text.trimmingCharacters(in: .whitespaces)] }
        guard !entries.isEmpty else { throw UsageError("--session is empty") }
        return try entries.map(resolve)
    }

    private func resolve(_ entry: String) throws -> Int32 {
        if external { return try recommender.resolve(tokens: [entry], skipUnknown: false)[0] }
        if let id = Int32(entry) { return id }
        guard let vocabulary = recommender.vocabulary else {
            throw UsageError("'\(entry)' is not an item id and the model has no vocabulary with titles")
        }
        let wanted = entry.lowercased()
        var matches: [Int] = []
        for id in 0..<vocabulary.count {
            guard let title = vocabulary.title(of: id)?.lowercased() else { continue }
            if title == wanted { return Int32(id) }
            if title.contains(wanted) { matches.append(id) }
        }
        guard matches.count == 1 else {
            let names = matches.prefix(5).compactMap { vocabulary.title(of: $0) }.joined(separator: "; ")
            throw UsageError(matches.isEmpty ? "no item title matches '\(entry)'"
                                             : "'\(entry)' matches \(matches.count) titles (\(names)…); be more specific")
        }
        return Int32(matches[0])
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

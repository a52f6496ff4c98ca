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

    init(_ arguments: inout Arguments) throws {
        guard let model = try arguments.option("--model") else { throw UsageError("recommend needs --model <file>") }
        modelPath = model
        session = try arguments.option("--session")
        input = try arguments.option("--input")
        k = try arguments.integer("--k", default: 10, in: 1...SessionQuery.maxK)
        excludeSeen = arguments.flag("--exclude-seen")
        external = arguments.flag("--external")
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
        var query = SessionQuery(items: try SessionParser(recommender: recommender, external: external).parse(session ?? ""), k: k)
        query.excludeSeen = excludeSeen
        let result = try recommender.makeContext().recommend(query)
        print("model \(recommender.info.name) (\(recommender.info.family), \(recommender.info.itemCount) items)")
        print("session: " + query.items.map { describe($0, recommender) }.joined(separator: " → "))
        for (rank, (item, score)) in zip(result.items, result.scores).enumerated() {
            let rankText = String(rank + 1).leftPadded(to: 3)
            print("\(rankText). \(describe(item, recommender))  score \(score)")
        }
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

// `seqrec recommend --input sessions.jsonl --format jsonl`: one JSON object per input line, answered
// in order with `{"items": [...], "scores": [...]}` (or `{"error": "..."}` for a bad line), plus
// "titles", "fallback" and "because" for the answer options (README "Recommending from the command line").
import Foundation
import SeqRecCore
import SeqRecJSON

struct BatchRecommend {
    let recommender: Recommender
    let defaultK: Int

    /// A parsed input line: the query, and how to print its items back (external tokens or ids).
    private struct Line {
        var query: SessionQuery
        var external = false
        var numericTokens = false
    }

    func run(inputPath: String) throws {
        let text: String
        do { text = try String(contentsOfFile: inputPath, encoding: .utf8) } catch {
            throw UsageError("cannot read --input '\(inputPath)': \(error.localizedDescription)")
        }
        // Blank lines are skipped but still counted, so "line N" in an error is the file's line N.
        let numbered = text.textLines.enumerated().filter { !$0.element.allSatisfy(\.isWhitespace) }
        let parsed: [Result<Line, Error>] = numbered.map { index, raw in
            Result { try parse(String(raw), lineNumber: index + 1) }
        }
        let valid = parsed.compactMap { try? $0.get().query }
        var results: [Recommendation] = []
        try recommender.makeContext().recommend(valid[...], into: &results)   // each line was validated
        var next = 0
        var failures = 0
        for index in parsed.indices {
            switch parsed[index] {
            case .success(let line):
                print(encode(results[next], line))
                next += 1
            case .failure(let error):
                failures += 1
                print(#"{"error": \#(JSONWriter.quoted(String(describing: error)))}"#)
            }
        }
        if failures > 0 { throw UsageError("\(failures) of \(numbered.count) input lines failed (see their error objects)") }
    }

    private func parse(_ raw: String, lineNumber: Int) throws -> Line {
        guard let object = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] else {
            throw RecommendLineError("line \(lineNumber): not a JSON object")
        }
        let external = object["external"] as? Bool ?? false
        let skipUnknown = object["skip_unknown"] as? Bool ?? false
        guard let session = object["session"] as? [Any] else { throw RecommendLineError("line \(lineNumber): missing \"session\" array") }
        func ids(_ key: String, _ values: [Any]) throws -> [Int32] {
            if external {
                let tokens = try values.map { value -> String in
                    if let string = value as? String { return string }
                    if let number = value as? NSNumber, let int = Int64(exactly: number.doubleValue) { return String(int) }
                    throw RecommendLineError("line \(lineNumber): \(key) holds a value that is not an id")
                }
                return try recommender.resolve(tokens: tokens, skipUnknown: skipUnknown, field: key)
            }
            return try values.map { value in
                guard let number = value as? NSNumber, let id = Int32(exactly: number.doubleValue) else {
                    throw RecommendLineError("line \(lineNumber): \(key) must hold integer item ids")
                }
                return id
            }
        }
        var query = SessionQuery(items: try ids("session", session), k: object["k"] as? Int ?? defaultK)
        query.excludeSeen = object["exclude_seen"] as? Bool ?? false
        query.includeEmbedding = object["embedding"] as? Bool ?? false
        if let allow = object["allow"] as? [Any] { query.allow = try ids("allow", allow) }
        if let deny = object["deny"] as? [Any] { query.deny = try ids("deny", deny) }
        if let candidates = object["candidates"] as? [Any] { query.candidates = try ids("candidates", candidates) }
        try parseAnswerOptions(object, into: &query, lineNumber: lineNumber)
        do { try recommender.validate(query) } catch { throw RecommendLineError("line \(lineNumber): \(error)") }
        return Line(query: query, external: external, numericTokens: session.allSatisfy { $0 is NSNumber })
    }

    private func encode(_ result: Recommendation, _ line: Line) -> String {
        let items = result.items.map { item -> String in
            guard line.external else { return String(item) }
            let token = recommender.token(of: item)
            return line.numericTokens && Int64(token) != nil ? token : JSONWriter.quoted(token)
        }
        var text = #"{"items": [\#(items.joined(separator: ", "))], "scores": [\#(result.scores.map(JSONWriter.number).joined(separator: ", "))]"#
        if line.query.includeEmbedding {
            text += #", "embedding": [\#(result.embedding.map(JSONWriter.number).joined(separator: ", "))]"#
        }
        return text + encodeAnswers(result, line) + "}"
    }

    /// `"diversity": {"lambda", "pool"?}`, `"fallback": bool`, `"explain": bool` (issue 15).
    private func parseAnswerOptions(_ object: [String: Any], into query: inout SessionQuery, lineNumber: Int) throws {
        if let diversity = object["diversity"] {
            guard let options = diversity as? [String: Any], let lambda = (options["lambda"] as? NSNumber)?.floatValue else {
                throw RecommendLineError("line \(lineNumber): diversity must be {\"lambda\": 0…1, \"pool\": k…1000}")
            }
            let pool = options["pool"] as? Int ?? DiversityOptions.defaultPool
            query.diversity = DiversityOptions(lambda: lambda, pool: pool)
        }
        query.fallback = object["fallback"] as? Bool ?? false
        query.explain = object["explain"] as? Bool ?? false
    }

    /// `"titles"` (null where unknown) when the model has titles, `"fallback"` when asked for, and
    /// `"because"` (per item: `[{"id", "title"?, "contribution"}]`) when explained.
    private func encodeAnswers(_ result: Recommendation, _ line: Line) -> String {
        var text = ""
        let titles = result.items.map { recommender.vocabulary?.title(of: Int($0)) }
        if titles.contains(where: { $0 != nil }) {
            text += #", "titles": [\#(titles.map { $0.map(JSONWriter.quoted) ?? "null" }.joined(separator: ", "))]"#
        }
        if line.query.fallback { text += #", "fallback": \#(result.usedFallback)"# }
        if line.query.explain {
            let perItem = result.items.indices.map { index -> String in
                let entries = (result.contributorsPerItem > 0 ? result.because(ofItem: index) : []).map { entry -> String in
                    let title = recommender.vocabulary?.title(of: Int(entry.item)).map { #", "title": \#(JSONWriter.quoted($0))"# } ?? ""
                    return #"{"id": \#(id(entry.item, line))\#(title), "contribution": \#(JSONWriter.number(entry.contribution))}"#
                }
                return "[" + entries.joined(separator: ", ") + "]"
            }
            text += #", "because": [\#(perItem.joined(separator: ", "))]"#
        }
        return text
    }

    /// An item in the line's id space (as `encode` writes items).
    private func id(_ item: Int32, _ line: Line) -> String {
        guard line.external else { return String(item) }
        let token = recommender.token(of: item)
        return line.numericTokens && Int64(token) != nil ? token : JSONWriter.quoted(token)
    }
}

struct RecommendLineError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

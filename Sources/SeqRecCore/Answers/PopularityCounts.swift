import Foundation

/// `seqrec convert --popularity <file>`: counts the interactions per item of a RecBole atomic
/// interaction file (`.inter`: UTF-8, tab-separated, a header line naming the fields as `name:type`, one
/// interaction per line) by its `item_id` field. Items are matched by vocabulary token (the dataset's item
/// ids); a model without a vocabulary takes internal ids. Lines whose item the model does not know
/// (filtered out before training) are counted and skipped, not an error (FORMAT.md §10).
public enum PopularityCounts {
    public struct Summary: Sendable, CustomStringConvertible {
        public let interactions: Int
        public let items: Int
        public let skippedLines: Int
        public var description: String {
            "popularity: \(interactions) interactions over \(items) items"
                + (skippedLines > 0 ? ", \(skippedLines) lines with items the model does not know skipped" : "")
        }
    }

    /// Counts per item row (`n_items` values) and what was counted.
    static func read(path: String, vocabulary: Vocabulary?, rows: Int) throws -> (counts: [Float], summary: Summary) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FormatError(file: path, field: "file", problem: "cannot be read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FormatError(file: path, field: "file", problem: "is not valid UTF-8")
        }
        let lines = text.textLines
        guard let header = lines.first else {
            throw FormatError(file: path, field: "line 1", problem: "missing: the file is empty",
                              hint: "a RecBole .inter file starts with a header such as user_id:token<TAB>item_id:token")
        }
        let fields = header.split(separator: "\t", omittingEmptySubsequences: false)
        guard let column = fields.firstIndex(where: { $0.split(separator: ":").first == "item_id" }) else {
            throw FormatError(file: path, field: "line 1", problem: "has no item_id field (\(header.prefix(120)))",
                              hint: "pass a RecBole atomic interaction file (.inter) with an item_id:token column")
        }
        var counts = [Float](repeating: 0, count: rows)
        var interactions = 0, skipped = 0
        for (index, line) in lines.enumerated().dropFirst() {
            let values = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard values.count == fields.count else {
                throw FormatError(file: path, field: "line \(index + 1)",
                                  problem: "has \(values.count) tab-separated fields, the header has \(fields.count)")
            }
            let token = String(values[column])
            let id = vocabulary.map { $0.id(ofToken: token) } ?? Int(token)
            guard let id, (0..<rows).contains(id) else {
                skipped += 1
                continue
            }
            counts[id] += 1
            interactions += 1
        }
        guard interactions > 0 else {
            throw FormatError(file: path, field: "item_id", problem: "no line names an item of the model",
                              hint: vocabulary == nil ? "the model has no vocabulary: item_id must be internal ids"
                                                      : "item_id must hold the vocabulary's tokens (the dataset's item ids)")
        }
        // Float holds every count exactly up to 2²⁴ interactions per item.
        guard counts.allSatisfy({ $0 < 16_777_216 }) else {
            throw FormatError(file: path, field: "item_id", problem: "an item has 2²⁴ or more interactions",
                              hint: "popularity is stored as float32 counts; subsample the interactions")
        }
        return (counts, Summary(interactions: interactions, items: counts.filter { $0 > 0 }.count, skippedLines: skipped))
    }
}

import Foundation

/// `golden.json`: upstream's outputs for a list of sessions, computed by the upstream PyTorch model (the schema of
/// the shared fixtures and of the Tools/ exporters' `--golden`): `k`, and `cases`, each with `session` (internal
/// item ids, oldest first, untruncated), `top` (`[item, score]` pairs, best first, padding row included where
/// upstream scores it) and optionally `scores` (the full raw score vector, indexed by item id).
///
/// Read from outside the project, so every field is checked; errors name the case and the field.
public struct GoldenFile: Sendable {
    public struct Case: Sendable {
        public let session: [Int32]
        public let top: [GoldenScore]
        /// Full score vector; nil entries are values upstream could not write as numbers (they are not compared).
        public let scores: [Float?]?
    }

    public let k: Int
    public let cases: [Case]

    /// Upper bounds that keep a hostile file from asking for absurd work (the shared fixtures have 128 cases,
    /// sessions up to 1,603 items, 23,496 scores).
    static let maxCases = 100_000, maxSessionLength = 1_000_000, maxScores = 50_000_000

    public init(path: String) throws(FormatError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FormatError(file: path, field: "file", problem: "cannot be read: \(error.localizedDescription)")
        }
        try self.init(data: data, file: path)
    }

    public init(data: Data, file: String) throws(FormatError) {
        // JSONSerialization, not JSONValue: golden files hold up to millions of numbers, and Decodable's
        // try-each-type decoding is ~10× slower on them. Numbers are told apart by NSNumber's objCType.
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw FormatError(file: file, field: "golden.json", problem: "is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = parsed as? [String: Any] else {
            throw FormatError(file: file, field: "golden.json", problem: "is not a JSON object")
        }
        guard let k = Self.integer(root["k"]), (1...SessionQuery.maxK).contains(k) else {
            throw FormatError(file: file, field: "k", problem: "is missing or not an integer in 1…\(SessionQuery.maxK)")
        }
        guard let entries = root["cases"] as? [Any], !entries.isEmpty, entries.count <= Self.maxCases else {
            throw FormatError(file: file, field: "cases", problem: "is missing, empty or longer than \(Self.maxCases) cases")
        }
        var cases: [Case] = []
        cases.reserveCapacity(entries.count)
        var totalScores = 0
        for (index, entry) in entries.enumerated() {
            let field = "cases[\(index)]"
            guard let object = entry as? [String: Any] else {
                throw FormatError(file: file, field: field, problem: "is not an object")
            }
            let session = try Self.ids(object["session"], file: file, field: "\(field).session")
            let top = try Self.pairs(object["top"], file: file, field: "\(field).top")
            guard top.count <= k else {
                throw FormatError(file: file, field: "\(field).top", problem: "has \(top.count) pairs, more than k = \(k)")
            }
            var scores: [Float?]?
            if let value = object["scores"], !(value is NSNull) {
                guard let list = value as? [Any] else {
                    throw FormatError(file: file, field: "\(field).scores", problem: "is not an array")
                }
                totalScores += list.count
                guard totalScores <= Self.maxScores else {
                    throw FormatError(file: file, field: "\(field).scores", problem: "more than \(Self.maxScores) scores in the file")
                }
                scores = try list.enumerated().map { (item, value) throws(FormatError) -> Float? in
                    if value is NSNull { return nil }
                    return try Self.number(value, file: file, field: "\(field).scores[\(item)]")
                }
            }
            cases.append(Case(session: session, top: top, scores: scores))
        }
        self.k = k
        self.cases = cases
    }

    /// NSNumber's kind: "q"/"i"/"l"/"s" integers, "d"/"f" floats; nil for anything else, JSON true/false ("c") included.
    private static func kind(_ value: Any?) -> Character? {
        guard let number = value as? NSNumber else { return nil }
        let kind = Character(UnicodeScalar(UInt8(bitPattern: number.objCType.pointee)))
        return kind == "c" ? nil : kind
    }

    private static func integer(_ value: Any?) -> Int? {
        guard let kind = kind(value), "qilsQILS".contains(kind) else { return nil }
        return (value as! NSNumber).intValue  // safe: kind() proved an NSNumber
    }

    private static func describe(_ value: Any?) -> String {
        switch value {
        case nil: "missing"
        case is NSNull: "null"
        case is String: "a string"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: kind(value).map { "qilsQILS".contains($0) ? "an integer" : "a float" } ?? "a boolean"
        }
    }

    private static func ids(_ value: Any?, file: String, field: String) throws(FormatError) -> [Int32] {
        guard let list = value as? [Any], !list.isEmpty, list.count <= maxSessionLength else {
            throw FormatError(file: file, field: field, problem: "is missing, empty or not an array of item ids")
        }
        return try list.enumerated().map { (index, value) throws(FormatError) -> Int32 in
            try id(value, file: file, field: "\(field)[\(index)]")
        }
    }

    private static func id(_ value: Any, file: String, field: String) throws(FormatError) -> Int32 {
        guard let id = integer(value), (0...Int(Int32.max)).contains(id) else {
            throw FormatError(file: file, field: field, problem: "is \(describe(value)), not an item id in 0…\(Int32.max)")
        }
        return Int32(id)
    }

    private static func pairs(_ value: Any?, file: String, field: String) throws(FormatError) -> [GoldenScore] {
        guard let list = value as? [Any] else {
            throw FormatError(file: file, field: field, problem: "is missing or not an array of [item, score] pairs")
        }
        return try list.enumerated().map { (index, pair) throws(FormatError) -> GoldenScore in
            guard let parts = pair as? [Any], parts.count == 2 else {
                throw FormatError(file: file, field: "\(field)[\(index)]", problem: "is not an [item, score] pair")
            }
            return GoldenScore(item: try id(parts[0], file: file, field: "\(field)[\(index)][0]"),
                               score: try number(parts[1], file: file, field: "\(field)[\(index)][1]"))
        }
    }

    /// Golden scores are the shortest decimals of float32 values: read as Double, rounded to Float once.
    private static func number(_ value: Any, file: String, field: String) throws(FormatError) -> Float {
        guard let kind = kind(value), "qilsQILSdf".contains(kind) else {
            throw FormatError(file: file, field: field, problem: "is \(describe(value)), not a number")
        }
        let double = (value as! NSNumber).doubleValue  // safe: kind() proved an NSNumber
        let float = Float(double)
        guard float.isFinite else { throw FormatError(file: file, field: field, problem: "is \(double), outside the float32 range") }
        return float
    }
}

/// One `[item, score]` pair of a golden top-k list.
public struct GoldenScore: Sendable, Equatable {
    public let item: Int32
    public let score: Float

    public init(item: Int32, score: Float) {
        self.item = item
        self.score = score
    }
}

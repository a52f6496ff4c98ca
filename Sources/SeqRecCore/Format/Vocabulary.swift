/// The item vocabulary: internal id `i` ↔ external token (the gateway's item id), optional title.
public struct Vocabulary: Sendable {
    private let tokens: [String]
    private let titles: [String]
    private let idByToken: [String: Int]

    /// Builds a vocabulary; entry `i` describes internal id `i`. Titles may be shorter than tokens
    /// (missing titles are empty); an empty title means "no title".
    /// Throws when a token is empty or appears twice, since `id(ofToken:)` must be a function.
    public init(tokens: [String], titles: [String] = [], source: String = "<vocabulary>") throws(FormatError) {
        guard titles.count <= tokens.count else {
            throw FormatError(file: source, field: "vocabulary.titles",
                              problem: "\(titles.count) titles for \(tokens.count) tokens")
        }
        var idByToken: [String: Int] = [:]
        idByToken.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            guard !token.isEmpty else {
                throw FormatError(file: source, field: "vocabulary entry \(id).token", problem: "empty token",
                                  hint: "every item needs an external id")
            }
            if let first = idByToken.updateValue(id, forKey: token) {
                throw FormatError(file: source, field: "vocabulary entry \(id).token",
                                  problem: "token '\(token)' already used by id \(first)",
                                  hint: "tokens must be unique")
            }
        }
        self.tokens = tokens
        self.titles = titles + Array(repeating: "", count: tokens.count - titles.count)
        self.idByToken = idByToken
    }

    /// Number of entries, equal to the model's `n_items` rows.
    public var count: Int { tokens.count }

    public func token(of id: Int) -> String? {
        tokens.indices.contains(id) ? tokens[id] : nil
    }

    public func title(of id: Int) -> String? {
        guard titles.indices.contains(id), !titles[id].isEmpty else { return nil }
        return titles[id]
    }

    /// The internal id of an external token, in O(1).
    public func id(ofToken token: String) -> Int? {
        idByToken[token]
    }
}

// The JSON form of RECOMMEND (docs/OPERATIONS.md §6.3): the request body's fields are the binary
// request's, validated field by field with the protocol's own limits; the answer carries the
// same items and the same f32 scores as the binary RECOMMEND_RESPONSE.
import SeqRecJSON
import SeqRecProtocol

public enum RecommendJSON {
    public static let fields: Set<String> = [
        "session", "k", "exclude_seen", "allow", "deny", "candidates", "version", "skip_unknown",
        "want_embedding", "timeout_ms", "session_key", "filters", "diversity", "fallback", "explain",
    ]

    /// The request for `model` described by `body`, and its timeout in µs (0 = the server's default).
    public static func request(from body: [UInt8], model: String, limits: ProtocolLimits)
        throws(JSONInputError) -> (request: RecommendRequest, timeoutMicroseconds: UInt32)
    {
        let document = try JSONValue.parse(body)
        let reader = try JSONObjectReader(document, context: "", allowed: fields)
        guard let sessionValue = reader.value("session") else {
            throw JSONInputError(field: "session", problem: "is required (a non-empty array of item ids)")
        }
        var session = try ids(sessionValue, field: "session", external: nil, limit: limits.maxSessionItems, limits: limits)
        // An empty session is for the popularity fallback: refused here only when the body turns it
        // off; with "fallback" absent the model's default (--fallback) decides.
        let fallback = try reader.bool("fallback")
        guard !session.isEmpty || fallback != false else {
            throw JSONInputError(field: "session", problem: "must not be empty (unless \"fallback\": true)")
        }
        if session.isEmpty {
            // A cold-start session has no ids to say the id space: the first non-empty list says it.
            let spaces = ["allow", "deny", "candidates"].compactMap { reader.value($0) }.compactMap(Self.firstElementIsString)
            if spaces.first == true { session = .external([]) }
        }
        let external = session.isExternal
        var lists: [ItemIDs] = []
        for field in ["allow", "deny", "candidates"] {
            guard let value = reader.value(field) else {
                lists.append(external ? .external([]) : .internal([]))
                continue
            }
            lists.append(try ids(value, field: field, external: external, limit: limits.maxListItems, limits: limits))
        }
        let kLimit = Int64(lists[2].isEmpty ? limits.maxK : min(limits.maxK, lists[2].count))
        let k = try reader.integer("k", in: 1...kLimit) ?? 10
        guard k <= kLimit else {
            throw JSONInputError(field: "k", problem: "the default 10 is more than the \(kLimit) candidates; give k")
        }
        let version = try reader.integer("version", in: 0...Int64(UInt32.max)) ?? 0
        let timeout = try reader.integer("timeout_ms", in: 1...Int64(UInt32.max / 1_000)) ?? 0
        let skipUnknown = try reader.bool("skip_unknown") ?? false
        if skipUnknown, !external {
            throw JSONInputError(field: "skip_unknown", problem: "applies to external (string) ids only")
        }
        var request = RecommendRequest(
            session: session, k: Int(k), modelName: model, modelVersion: UInt32(version),
            excludeSeen: try reader.bool("exclude_seen") ?? false, allow: lists[0], deny: lists[1],
            candidates: lists[2], skipUnknown: skipUnknown, includeEmbedding: try reader.bool("want_embedding") ?? false)
        try readOptions(reader, into: &request)
        do {
            try request.validate(limits: limits, version: ProtocolVersion.maximum)
        } catch {
            throw JSONInputError(field: "request", problem: error.description)
        }
        return (request, UInt32(timeout) * 1_000)
    }

    /// Whether a non-empty array's first element is a string (nil: not a non-empty array).
    private static func firstElementIsString(_ value: JSONValue) -> Bool? {
        guard case .array(let elements) = value, let first = elements.first else { return nil }
        if case .string = first { return true }
        return false
    }

    /// An id list: all integers (internal ids) or all strings (external ids), in the session's space.
    static func ids(_ value: JSONValue, field: String, external: Bool?, limit: Int, limits: ProtocolLimits)
        throws(JSONInputError) -> ItemIDs
    {
        guard case .array(let elements) = value else {
            throw JSONInputError(field: field, problem: "must be an array of item ids, got \(value.typeName)")
        }
        guard elements.count <= limit else {
            throw JSONInputError(field: field, problem: "has \(elements.count) ids; at most \(limit) are accepted")
        }
        guard let first = elements.first else { return external == true ? .external([]) : .internal([]) }
        let isExternal = external ?? { if case .string = first { return true } else { return false } }()
        if isExternal {
            var tokens: [String] = []
            tokens.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                guard case .string(let token) = element else {
                    throw JSONInputError(field: "\(field)[\(index)]", problem: "must be a string like the session's ids, got \(element.typeName)")
                }
                guard !token.isEmpty, token.utf8.count <= limits.maxStringBytes else {
                    throw JSONInputError(field: "\(field)[\(index)]", problem: "must be 1...\(limits.maxStringBytes) bytes")
                }
                tokens.append(token)
            }
            return .external(tokens)
        }
        var numbers: [UInt32] = []
        numbers.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .int(let number) = element else {
                let expected = external == nil ? "an integer (internal id) or a string (external id)" : "an integer like the session's ids"
                throw JSONInputError(field: "\(field)[\(index)]", problem: "must be \(expected), got \(element.typeName)")
            }
            guard let id = UInt32(exactly: number) else {
                throw JSONInputError(field: "\(field)[\(index)]", problem: "must be 0...\(UInt32.max), got \(number)")
            }
            numbers.append(id)
        }
        return .internal(numbers)
    }

    /// `{"model","version","fallback","items":[{"id","score","title"?,"because"?}],"embedding"?}`;
    /// `because` (`[{"id","title"?,"contribution"}]`) when the request asked for explanations;
    /// `becauseTitles[i]` are the titles of item i's contributors.
    public static func render(_ response: RecommendResponse, titles: [String?]? = nil,
                              becauseTitles: [[String?]]? = nil) -> String {
        var out = JSONWriter()
        out.raw("{\"model\":")
        out.string(response.modelName)
        out.raw(",\"version\":")
        out.integer(response.modelVersion)
        out.raw(",\"fallback\":")
        out.bool(response.usedFallback)
        out.raw(",\"items\":[")
        for index in 0..<min(response.items.count, response.scores.count) {
            if index > 0 { out.raw(",") }
            out.raw("{\"id\":")
            switch response.items {
            case .internal(let ids): out.integer(ids[index])
            case .external(let ids): out.string(ids[index])
            }
            out.raw(",\"score\":")
            out.float(response.scores[index])
            if let titles, index < titles.count, let title = titles[index] {
                out.raw(",\"title\":")
                out.string(title)
            }
            if let explanations = response.explanations, index < explanations.count {
                let contributorTitles = becauseTitles.flatMap { index < $0.count ? $0[index] : nil }
                writeBecause(explanations[index], titles: contributorTitles, into: &out)
            }
            out.raw("}")
        }
        out.raw("]")
        if !response.embedding.isEmpty {
            out.raw(",\"embedding\":[")
            for (index, value) in response.embedding.enumerated() {
                if index > 0 { out.raw(",") }
                out.float(value)
            }
            out.raw("]")
        }
        out.raw("}\n")
        return out.text
    }

    /// `{"models":[...]}`: what MODEL_LIST says, field for field.
    public static func renderModels(_ models: [ModelDescription]) -> String {
        var out = JSONWriter()
        out.raw("{\"models\":[")
        for (index, model) in models.enumerated() {
            if index > 0 { out.raw(",") }
            out.raw(renderModel(model))
        }
        out.raw("]}\n")
        return out.text
    }

    public static func renderModel(_ model: ModelDescription) -> String {
        var out = JSONWriter()
        out.raw("{\"name\":")
        out.string(model.name)
        out.raw(",\"version\":")
        out.integer(model.version)
        out.raw(",\"family\":")
        out.string(model.family)
        out.raw(",\"items\":")
        out.integer(model.itemCount)
        out.raw(",\"first_item\":")
        out.integer(model.firstItemID)
        out.raw(",\"max_session_length\":")
        out.integer(model.maxSessionLength)
        out.raw(",\"embedding_width\":")
        out.integer(model.embeddingWidth)
        out.raw(",\"has_vocabulary\":")
        out.bool(model.hasVocabulary)
        out.raw(",\"default\":")
        out.bool(model.isDefault)
        out.raw("}")
        return out.text
    }

    /// `{"code":"INVALID_ARGUMENT","message":...}`.
    public static func renderError(_ code: StatusCode, _ message: String) -> String {
        "{\"code\":\(JSONWriter.quoted(code.name)),\"message\":\(JSONWriter.quoted(message))}\n"
    }
}

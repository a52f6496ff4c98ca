// The JSON forms of the version 2 request options (docs/OPERATIONS.md §6.3, issue 15's JSON contract):
// `session_key`, `filters`, `diversity`, `fallback`, `explain` map one to one onto the binary
// protocol's extensions (docs/PROTOCOL.md §6.7) and are checked against the same limits, every error
// naming the field ("filters.max_per_category", "diversity.lambda").
import SeqRecJSON
import SeqRecProtocol

extension RecommendJSON {
    static let filterFields: Set<String> = ["available_only", "categories_include", "categories_exclude", "max_per_category"]
    static let diversityFields: Set<String> = ["lambda", "pool"]

    /// Reads the options of `reader` into `request` (absent fields leave the defaults).
    static func readOptions(_ reader: JSONObjectReader, into request: inout RecommendRequest) throws(JSONInputError) {
        if let key = try reader.string("session_key") {
            let bytes = Array(key.utf8)
            guard (1...ExtensionLimits.maxSessionKeyBytes).contains(bytes.count) else {
                throw JSONInputError(field: "session_key",
                                     problem: "must be 1...\(ExtensionLimits.maxSessionKeyBytes) bytes of UTF-8, got \(bytes.count)")
            }
            request.sessionKey = bytes
        }
        if let value = reader.value("filters") { request.filters = try filters(value) }
        if let value = reader.value("diversity") { request.diversity = try diversity(value, k: request.k) }
        request.fallback = try reader.bool("fallback")
        request.explainContributors = try reader.bool("explain") == true ? ExtensionLimits.maxContributors : 0
    }

    private static func filters(_ value: JSONValue) throws(JSONInputError) -> RecommendFilters {
        let reader = try JSONObjectReader(value, context: "filters", allowed: filterFields)
        var filters = RecommendFilters(availableOnly: try reader.bool("available_only"))
        filters.categoriesInclude = try categories(reader.value("categories_include"), field: "filters.categories_include")
        filters.categoriesExclude = try categories(reader.value("categories_exclude"), field: "filters.categories_exclude")
        filters.maxPerCategory = Int(try reader.integer("max_per_category", in: 0...Int64(ExtensionLimits.maxPerCategory)) ?? 0)
        return filters
    }

    private static func categories(_ value: JSONValue?, field: String) throws(JSONInputError) -> [String] {
        guard let value else { return [] }
        guard case .array(let elements) = value else {
            throw JSONInputError(field: field, problem: "must be an array of category names, got \(value.typeName)")
        }
        guard elements.count <= ExtensionLimits.maxFilterCategories else {
            throw JSONInputError(field: field, problem: "has \(elements.count) categories; at most \(ExtensionLimits.maxFilterCategories)")
        }
        var names: [String] = []
        for (index, element) in elements.enumerated() {
            // Numeric categories are their decimal text, so an integer is accepted as that text.
            let name: String
            switch element {
            case .string(let text): name = text
            case .int(let number): name = String(number)
            default:
                throw JSONInputError(field: "\(field)[\(index)]", problem: "must be a string (or an integer), got \(element.typeName)")
            }
            guard (1...ExtensionLimits.maxCategoryBytes).contains(name.utf8.count) else {
                throw JSONInputError(field: "\(field)[\(index)]", problem: "must be 1...\(ExtensionLimits.maxCategoryBytes) bytes")
            }
            names.append(name)
        }
        return names
    }

    private static func diversity(_ value: JSONValue, k: Int) throws(JSONInputError) -> RecommendDiversity {
        let reader = try JSONObjectReader(value, context: "diversity", allowed: diversityFields)
        let lambda: Double
        switch reader.value("lambda") {
        case .int(let number)?: lambda = Double(number)
        case .double(let number)?: lambda = number
        case nil: throw JSONInputError(field: "diversity.lambda", problem: "is required (a number in [0, 1])")
        case let other?: throw JSONInputError(field: "diversity.lambda", problem: "must be a number in [0, 1], got \(other.typeName)")
        }
        guard lambda >= 0, lambda <= 1 else {
            throw JSONInputError(field: "diversity.lambda", problem: "must be in [0, 1], got \(lambda)")
        }
        let pool = try reader.integer("pool", in: 0...Int64(ExtensionLimits.maxDiversityPool)) ?? 0
        guard pool == 0 || pool >= k else {
            throw JSONInputError(field: "diversity.pool", problem: "must be at least k = \(k) (or 0 for the server's default), got \(pool)")
        }
        return RecommendDiversity(lambda: Float(lambda), pool: Int(pool))
    }

    /// Appends `,"because":[{"id","title"?,"contribution"}]` for item `index` when explained.
    static func writeBecause(_ explanation: Explanation, titles: [String?]?, into out: inout JSONWriter) {
        out.raw(",\"because\":[")
        for position in 0..<min(explanation.items.count, explanation.contributions.count) {
            if position > 0 { out.raw(",") }
            out.raw("{\"id\":")
            switch explanation.items {
            case .internal(let ids): out.integer(ids[position])
            case .external(let ids): out.string(ids[position])
            }
            if let titles, position < titles.count, let title = titles[position] {
                out.raw(",\"title\":")
                out.string(title)
            }
            out.raw(",\"contribution\":")
            out.float(explanation.contributions[position])
            out.raw("}")
        }
        out.raw("]")
    }
}

// Turns a decoded RECOMMEND body into the engine's query, in place: the slot's buffers keep their
// capacity, so internal-id requests cost no allocation here. Ids are only checked to fit the
// engine's Int32 here; which ids a model accepts is the backend's `validate` to say. The version 2
// options (docs/PROTOCOL.md §6.7) map one to one onto `SessionQuery`'s filters, diversity, fallback
// and explain; the answer's fallback flag and contributions map back in `explanations`.
import SeqRecCore
import SeqRecProtocol

enum QueryBuilder {
    /// `fallbackDefault`: the model's `--fallback` setting, used when the request does not say.
    static func fill(_ query: inout SessionQuery, from request: RecommendRequest, backend: any InferenceBackend,
                     fallbackDefault: Bool = false) throws(QueryRejection)
    {
        if request.usesExternalIDs, !backend.info.hasVocabulary {
            throw QueryRejection("model '\(backend.info.name)' has no vocabulary; send internal ids")
        }
        query.fallback = request.fallback ?? fallbackDefault
        try copy(request.session, into: &query.items, field: "session", request: request, backend: backend)
        if query.items.isEmpty, !query.fallback {
            throw QueryRejection(request.session.isEmpty
                ? "session is empty; send at least one item, or ask for the popularity fallback"
                : "session is empty after skipping unknown ids; send known ids, or ask for the popularity fallback")
        }
        query.k = request.k
        query.excludeSeen = request.excludeSeen
        query.includeEmbedding = request.includeEmbedding
        try copy(request.deny, into: &query.deny, field: "deny", request: request, backend: backend)
        try optionalList(request.allow, into: &query.allow, field: "allow", request: request, backend: backend)
        try optionalList(request.candidates, into: &query.candidates, field: "candidates", request: request, backend: backend)
        if let candidates = query.candidates, candidates.isEmpty {
            throw QueryRejection("candidates are empty after skipping unknown ids")
        }
        fillOptions(&query, from: request)
    }

    /// FILTERS, DIVERSITY and EXPLAIN. Without FILTERS the engine's defaults apply (only available,
    /// unexpired items once the model has attributes): assigning them allocates nothing.
    private static func fillOptions(_ query: inout SessionQuery, from request: RecommendRequest) {
        if let filters = request.filters {
            query.filters = ItemFilters(
                availableOnly: filters.availableOnly ?? true, categoriesInclude: filters.categoriesInclude,
                categoriesExclude: filters.categoriesExclude,
                maxPerCategory: filters.maxPerCategory == 0 ? nil : filters.maxPerCategory)
        } else {
            query.filters = ItemFilters()
        }
        query.diversity = request.diversity.map { diversity in
            // Pool 0 = the server's default (docs/PROTOCOL.md §6.7): max(k, 200).
            DiversityOptions(lambda: diversity.lambda,
                             pool: diversity.pool == 0 ? max(request.k, DiversityOptions.defaultPool) : diversity.pool)
        }
        query.explain = request.explainContributors > 0
    }

    /// The EXPLANATIONS of an answer: per returned item its first `limit` contributors (the engine
    /// orders them largest first), in the request's id space; nil when none were asked for.
    static func explanations(of result: ScoredItems, limit: Int, externalIDs: Bool,
                             token: (Int32) -> String) -> [Explanation]? {
        guard limit > 0 else { return nil }
        return result.items.indices.map { index in
            let contributors = contributors(of: result, item: index, limit: limit)
            let items: ItemIDs = externalIDs ? .external(contributors.map { token($0.item) })
                                             : .internal(contributors.map { UInt32(bitPattern: $0.item) })
            return Explanation(items: items, contributions: contributors.map(\.contribution))
        }
    }

    /// The titles of the contributors `explanations` reports (JSON "because" entries).
    static func contributorTitles(of result: ScoredItems, limit: Int, title: (Int32) -> String?) -> [[String?]] {
        result.items.indices.map { index in contributors(of: result, item: index, limit: limit).map { title($0.item) } }
    }

    /// Item `item`'s first `limit` contributors: the engine stores `contributorsPerItem` per item, in
    /// item order, largest first (`Recommendation.because`).
    private static func contributors(of result: ScoredItems, item: Int, limit: Int) -> ArraySlice<Contribution> {
        let width = result.contributorsPerItem
        let start = item * width
        guard width > 0, start + width <= result.because.count else { return [] }
        return result.because[start ..< start + min(limit, width)]
    }

    /// nil for an absent (empty) list; else the ids, in the previous buffer when there was one.
    private static func optionalList(_ ids: ItemIDs, into list: inout [Int32]?, field: String,
                                     request: RecommendRequest, backend: any InferenceBackend) throws(QueryRejection)
    {
        guard !ids.isEmpty else {
            list = nil
            return
        }
        var buffer = list ?? []
        list = nil  // leaves `buffer` the only reference, so refilling it does not copy
        try copy(ids, into: &buffer, field: field, request: request, backend: backend)
        list = buffer
    }

    private static func copy(_ ids: ItemIDs, into target: inout [Int32], field: String,
                             request: RecommendRequest, backend: any InferenceBackend) throws(QueryRejection)
    {
        target.removeAll(keepingCapacity: true)
        switch ids {
        case .internal(let values):
            for position in values.indices {
                let value = values[position]
                guard let id = Int32(exactly: value) else {
                    throw QueryRejection("\(field)[\(position)] = \(value) is not an item id of model '\(backend.info.name)'")
                }
                target.append(id)
            }
        case .external(let tokens):
            try backend.appendItemIDs(ofTokens: tokens, skipUnknown: request.skipUnknown, into: &target)
        }
    }
}

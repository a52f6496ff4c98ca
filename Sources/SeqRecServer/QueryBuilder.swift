// Turns a decoded RECOMMEND body into the engine's query, in place: the slot's buffers keep their
// capacity, so internal-id requests cost no allocation here. Ids are only checked to fit the
// engine's Int32 here; which ids a model accepts is the backend's `validate` to say.
import SeqRecCore
import SeqRecProtocol

enum QueryBuilder {
    static func fill(_ query: inout SessionQuery, from request: RecommendRequest, backend: any InferenceBackend)
        throws(QueryRejection)
    {
        if request.usesExternalIDs, !backend.info.hasVocabulary {
            throw QueryRejection("model '\(backend.info.name)' has no vocabulary; send internal ids")
        }
        try copy(request.session, into: &query.items, field: "session", request: request, backend: backend)
        if query.items.isEmpty {
            throw QueryRejection("session is empty after skipping unknown ids")
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

// The JSON recommend body's version 2 options (issue 15's JSON contract, docs/OPERATIONS.md §6.3):
// each maps onto the binary request's option, bad values are refused naming the field, and the
// answer carries "fallback" and per-item "because".
import SeqRecJSON
import SeqRecOperations
import SeqRecProtocol
import Testing

@Suite struct RecommendJSONOptionsTests {
    private func parse(_ body: String) throws(JSONInputError) -> RecommendRequest {
        try RecommendJSON.request(from: Array(body.utf8), model: "m", limits: .default).request
    }

    private func problem(_ body: String) -> String? {
        do {
            _ = try parse(body)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theContractsExampleMapsOntoTheBinaryOptions() throws {
        let request = try parse(#"""
            {"session": [1, 2], "k": 5, "session_key": "shopper-9",
             "filters": {"available_only": true, "categories_include": ["Action", 7], "categories_exclude": ["Horror"], "max_per_category": 2},
             "diversity": {"lambda": 0.7, "pool": 200}, "fallback": true, "explain": true}
            """#)
        #expect(request == RecommendRequest(
            session: .internal([1, 2]), k: 5, modelName: "m", sessionKey: Array("shopper-9".utf8),
            filters: RecommendFilters(availableOnly: true, categoriesInclude: ["Action", "7"], categoriesExclude: ["Horror"],
                                      maxPerCategory: 2),
            diversity: RecommendDiversity(lambda: 0.7, pool: 200), fallback: true, explainContributors: 3))
        // Absent options stay absent (the model's defaults), and false is explicit.
        let plain = try parse(#"{"session": [1], "fallback": false, "explain": false, "filters": {}, "diversity": {"lambda": 1}}"#)
        #expect(plain.fallback == false && plain.explainContributors == 0 && plain.sessionKey.isEmpty)
        #expect(plain.filters == RecommendFilters() && plain.diversity == RecommendDiversity(lambda: 1, pool: 0))
        #expect(try parse(#"{"session": [1]}"#).hasExtensions == false)
    }

    @Test func aColdStartMayHaveAnEmptySession() throws {
        let cold = try parse(#"{"session": [], "fallback": true}"#)
        #expect(cold.session == .internal([]) && cold.fallback == true)
        // The id space then comes from the other lists.
        let external = try parse(#"{"session": [], "fallback": true, "deny": ["tt1"]}"#)
        #expect(external.session == .external([]) && external.deny == .external(["tt1"]))
        // Without "fallback" the model's default (--fallback) decides, in the server.
        #expect(try parse(#"{"session": []}"#).fallback == nil)
        #expect(problem(#"{"session": [], "fallback": false}"#)?.hasPrefix("session:") == true)
    }

    /// Bad option values: (body, text the error must contain: the field first).
    static let badOptions: [(String, String)] = [
        (#"{"session":[1],"session_key":""}"#, "session_key: must be 1...64"),
        (#"{"session":[1],"session_key":"\#(String(repeating: "x", count: 65))"}"#, "session_key: must be 1...64 bytes of UTF-8, got 65"),
        (#"{"session":[1],"session_key":7}"#, "session_key: must be a string"),
        (#"{"session":[1],"filters":[]}"#, "filters: must be a JSON object"),
        (#"{"session":[1],"filters":{"available":true}}"#, "filters.available: is not a known field"),
        (#"{"session":[1],"filters":{"available_onyl":true}}"#, "filters.available_onyl: is not a known field; did you mean 'available_only'?"),
        (#"{"session":[1],"filters":{"available_only":1}}"#, "filters.available_only: must be true or false"),
        (#"{"session":[1],"filters":{"categories_include":"Action"}}"#, "filters.categories_include: must be an array"),
        (#"{"session":[1],"filters":{"categories_exclude":[""]}}"#, "filters.categories_exclude[0]: must be 1...128 bytes"),
        (#"{"session":[1],"filters":{"categories_exclude":[true]}}"#, "filters.categories_exclude[0]: must be a string"),
        (#"{"session":[1],"filters":{"categories_include":[\#((0...64).map { "\"c\($0)\"" }.joined(separator: ","))]}}"#,
         "filters.categories_include: has 65 categories; at most 64"),
        (#"{"session":[1],"filters":{"max_per_category":1001}}"#, "filters.max_per_category: must be 0...1000"),
        (#"{"session":[1],"filters":{"max_per_category":2.5}}"#, "filters.max_per_category: must be an integer"),
        (#"{"session":[1],"diversity":0.5}"#, "diversity: must be a JSON object"),
        (#"{"session":[1],"diversity":{}}"#, "diversity.lambda: is required"),
        (#"{"session":[1],"diversity":{"lambda":"high"}}"#, "diversity.lambda: must be a number"),
        (#"{"session":[1],"diversity":{"lambda":1.5}}"#, "diversity.lambda: must be in [0, 1]"),
        (#"{"session":[1],"diversity":{"lambda":-0.5}}"#, "diversity.lambda: must be in [0, 1]"),
        (#"{"session":[1],"k":20,"diversity":{"lambda":0.5,"pool":10}}"#, "diversity.pool: must be at least k = 20"),
        (#"{"session":[1],"diversity":{"lambda":0.5,"pool":1001}}"#, "diversity.pool: must be 0...1000"),
        (#"{"session":[1],"diversity":{"lambda":0.5,"size":10}}"#, "diversity.size: is not a known field"),
        (#"{"session":[1],"fallback":"yes"}"#, "fallback: must be true or false"),
        (#"{"session":[1],"explain":3}"#, "explain: must be true or false"),
    ]

    @Test func badOptionsAreRefusedNamingTheField() {
        for (body, expected) in Self.badOptions {
            let message = problem(body)
            #expect(message?.contains(expected) == true, "\(body): \(message ?? "accepted")")
        }
    }

    @Test func answersCarryFallbackAndBecause() {
        let response = RecommendResponse(
            modelName: "m", modelVersion: 3, items: .external(["x", "y"]), scores: [2, 1], usedFallback: false,
            explanations: [Explanation(items: .external(["a", "b"]), contributions: [0.5, -0.25]),
                           Explanation(items: .external([]), contributions: [])])
        let text = RecommendJSON.render(response, titles: ["X", nil], becauseTitles: [["Alien", nil], []])
        #expect(text == #"{"model":"m","version":3,"fallback":false,"items":[{"id":"x","score":2.0,"title":"X","because":[{"id":"a","title":"Alien","contribution":0.5},{"id":"b","contribution":-0.25}]},{"id":"y","score":1.0,"because":[]}]}"# + "\n")
        let fallback = RecommendResponse(modelName: "m", modelVersion: 3, items: .internal([5]), scores: [40], usedFallback: true)
        #expect(RecommendJSON.render(fallback) == #"{"model":"m","version":3,"fallback":true,"items":[{"id":5,"score":40.0}]}"# + "\n")
    }
}

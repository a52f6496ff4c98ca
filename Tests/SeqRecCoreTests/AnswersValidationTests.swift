import Testing
@testable import SeqRecCore

/// Diversity, fallback and explanation options out of range: a typed error naming the field, for a
/// single query and inside a batch (issue 15 items 3–5).
@Suite("Answers: option validation")
struct AnswersValidationTests {
    static let sasrec = try! ScoringTests.Loaded("recbole-sasrec-ml100k")

    func expectError(_ query: SessionQuery, _ code: RecommendError.Code, _ field: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let recommender = Self.sasrec.recommender
        do {
            try recommender.validate(query)
            Issue.record("accepted; expected \(code) on \(field)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code && error.field == field, "\(error)", sourceLocation: sourceLocation)
        }
        var results: [Recommendation] = []
        do {
            try recommender.makeContext().recommend([SessionQuery(items: [5], k: 1), query][...], into: &results)
            Issue.record("batch accepted; expected \(code)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code && error.field == "queries[1].\(field)", "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("lambda outside 0…1 or not finite", arguments: [-0.01, 1.0001, Float.nan, Float.infinity, -Float.infinity])
    func badLambda(_ lambda: Float) {
        var query = SessionQuery(items: [358, 53], k: 5)
        query.diversity = DiversityOptions(lambda: lambda)
        expectError(query, .diversityOutOfRange, "diversity.lambda")
    }

    @Test("pool below k or above maxK", arguments: [-1, 0, 4, SessionQuery.maxK + 1, Int.max, Int.min])
    func badPool(_ pool: Int) {
        var query = SessionQuery(items: [358, 53], k: 5)
        query.diversity = DiversityOptions(lambda: 0.5, pool: pool)
        expectError(query, .diversityOutOfRange, "diversity.pool")
    }

    @Test func edgesOfTheRangesAreAccepted() throws {
        for (lambda, pool) in [(Float(0), 5), (1, SessionQuery.maxK), (0.7, 200)] {
            var query = SessionQuery(items: [358, 53], k: 5)
            query.diversity = DiversityOptions(lambda: lambda, pool: pool)
            try Self.sasrec.recommender.validate(query)
        }
    }

    @Test func emptySessionWithoutFallbackOrPopularity() {
        var query = SessionQuery(items: [], k: 5)
        expectError(query, .emptySession, "session")
        query.fallback = true
        #expect(!Self.sasrec.recommender.info.hasPopularity)
        expectError(query, .noPopularity, "fallback")
    }

    @Test func tooManyDistinctItemsToExplain() throws {
        // GRU4Rec (official port) has no window: every item of the session is in it.
        let official = ScoringTests.official.recommender
        var query = SessionQuery(items: (1...Int32(SessionQuery.maxExplainedItems + 1)).map { $0 }, k: 3)
        query.explain = true
        #expect(throws: RecommendError.self) { try official.validate(query) }
        do { try official.validate(query) } catch { #expect(error.code == .tooManyToExplain && error.field == "explain") }
        query.items[0] = query.items[1]   // a repeat: maxExplainedItems distinct items is fine
        try official.validate(query)
        // SASRec's window is 50: a long session is explained over its newest 50 items only.
        var long = SessionQuery(items: (1...600).map { Int32($0) }, k: 3)
        long.explain = true
        try Self.sasrec.recommender.validate(long)
    }
}

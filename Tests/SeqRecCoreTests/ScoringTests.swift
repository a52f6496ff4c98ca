import Foundation
import Testing
@testable import SeqRecCore

/// Top-k selection and request filters, checked against a full sort of the (golden-verified) raw scores.
@Suite("Scoring and filters")
struct ScoringTests {
    static let model = try! Loaded("recbole-sasrec-ml100k")
    static let official = try! Loaded("gru4rec-official-ml100k-separate")

    final class Loaded: Sendable {
        let recommender: Recommender
        init(_ fixture: String) throws {
            let path = try GoldenFixture(fixture).convert()
            recommender = try Recommender(path: path, maxBatch: 8)
            try? FileManager.default.removeItem(atPath: path)   // the mapping stays valid after unlink
        }
    }

    /// Expected answer by brute force: sort every admissible item by (score desc, id asc).
    func bruteForce(_ recommender: Recommender, _ query: SessionQuery) throws -> [Int32] {
        let scores = try recommender.makeContext().rawScores(session: query.items)
        let first = recommender.encoder.scoring.firstItem
        var pool = Set((query.candidates ?? query.allow).map { $0.map(Int.init) } ?? Array(first..<scores.count))
        if let allow = query.allow, query.candidates != nil { pool.formIntersection(allow.map(Int.init)) }
        pool.subtract(query.deny.map(Int.init))
        if query.excludeSeen { pool.subtract(query.items.map(Int.init)) }
        pool = pool.filter { $0 >= first }
        let ranked = pool.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return ranked.prefix(query.k).map(Int32.init)
    }

    @Test(arguments: [1, 2, 10, 100, 1000])
    func fullCatalogTopK(k: Int) throws {
        let recommender = Self.model.recommender
        let query = SessionQuery(items: [358, 53, 162, 102], k: k)
        try recommender.validate(query)
        let result = try recommender.makeContext().recommend(query)
        #expect(try result.items == bruteForce(recommender, query))
        #expect(!result.items.contains(0), "the padding row is never returned")
        #expect(zip(result.scores, result.scores.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func excludeSeenAllowDenyAndCandidates() throws {
        let recommender = Self.model.recommender
        var queries: [SessionQuery] = []
        var seen = SessionQuery(items: [358, 53, 162, 102, 32], k: 20)
        seen.excludeSeen = true
        queries.append(seen)
        var deny = SessionQuery(items: [358, 53], k: 15)
        deny.deny = [32, 102, 217, 1, 2, 3]
        queries.append(deny)
        var allow = SessionQuery(items: [358], k: 5)
        allow.allow = [10, 20, 30, 40, 50, 60, 70]
        queries.append(allow)
        var candidates = SessionQuery(items: [358, 53], k: 4)
        candidates.candidates = [5, 900, 5, 17, 1600, 1682]   // duplicate included (padding: LibraryBadInputTests)
        candidates.deny = [900]
        queries.append(candidates)
        var both = SessionQuery(items: [12], k: 6)   // k ≤ the 6 distinct candidates
        both.candidates = [1, 2, 3, 4, 5, 6]
        both.allow = [2, 4, 6, 8]
        queries.append(both)
        var results: [Recommendation] = []
        for query in queries { try recommender.validate(query) }
        try recommender.makeContext().recommend(queries[...], into: &results)
        for (index, query) in queries.enumerated() {
            #expect(try results[index].items == bruteForce(recommender, query), "query \(index)")
        }
        #expect(results[3].items.count == 4 && Set(results[3].items).count == 4, "duplicates scored once")
        #expect(Set(results[4].items) == [2, 4, 6])
    }

    @Test func filtersDoNotLeakIntoLaterBatches() throws {
        let recommender = Self.model.recommender
        let context = recommender.makeContext()
        var filtered = SessionQuery(items: [358, 53], k: 50)
        filtered.excludeSeen = true
        filtered.deny = Array(1...40)
        _ = try context.recommend(filtered)
        let plain = SessionQuery(items: [358, 53], k: 50)
        #expect(try context.recommend(plain).items == bruteForce(recommender, plain))
    }

    @Test func embeddingOutputAndItemZeroOfOfficialGRU4Rec() throws {
        let recommender = Self.official.recommender
        var query = SessionQuery(items: [0, 5, 9], k: 4)   // k ≤ the 4 distinct candidates
        query.includeEmbedding = true
        query.candidates = [0, 1, 2, 3]
        try recommender.validate(query)
        let result = try recommender.makeContext().recommend(query)
        #expect(result.embedding.count == recommender.info.embeddingWidth)
        #expect(result.items.count == 4 && result.items.contains(0), "gru4rec-official has no padding row")
        #expect(try result.items == bruteForce(recommender, query))
    }

    @Test func invalidQueriesNameTheField() {
        let recommender = Self.model.recommender
        let cases: [(SessionQuery, String)] = [
            (SessionQuery(items: [], k: 10), "session"),
            (SessionQuery(items: [0], k: 10), "session"),
            (SessionQuery(items: [1683], k: 10), "session"),
            (SessionQuery(items: [1], k: 0), "k"),
            (SessionQuery(items: [1], k: 1001), "k"),
            ({ var q = SessionQuery(items: [1]); q.deny = [-1]; return q }(), "deny"),
            ({ var q = SessionQuery(items: [1]); q.candidates = [5000]; return q }(), "candidates"),
            ({ var q = SessionQuery(items: [1]); q.allow = [1683]; return q }(), "allow"),
        ]
        for (query, field) in cases {
            #expect(throws: RecommendError.self) { try recommender.validate(query) }
            do { try recommender.validate(query) } catch {
                #expect(error.description.hasPrefix(field), "\(error.description)")
            }
        }
    }

    @Test func externalIdsResolveThroughTheVocabulary() throws {
        let recommender = Self.model.recommender
        #expect(try recommender.resolve(tokens: ["50", "181"], skipUnknown: false) == [358, 53])
        #expect(try recommender.resolve(tokens: ["50", "no-such-item"], skipUnknown: true) == [358])
        #expect(throws: RecommendError.self) { try recommender.resolve(tokens: ["no-such-item"], skipUnknown: false) }
        #expect(recommender.token(of: 358) == "50")
    }

    @Test func longSessionsUseOnlyTheWindow() throws {
        let recommender = Self.model.recommender
        let recent = (1...50).map { Int32($0 * 7 % 1682 + 1) }
        let long = (1...80).map { Int32($0 % 1682 + 1) } + recent
        let context = recommender.makeContext()
        #expect(try context.rawScores(session: long) == context.rawScores(session: recent))
    }
}

import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// Every public and package entry point of the engine that takes item ids, k, lists or lengths, called
/// with negative, out-of-range, huge and empty inputs: each must throw a typed error with a code and the
/// field, never crash (issue 10 item 2, issue 11 item 4).
@Suite("Library API: bad input")
struct LibraryBadInputTests {
    static let sasrec = try! ScoringTests.Loaded("recbole-sasrec-ml100k")
    static let bert4rec = try! ScoringTests.Loaded("recbole-bert4rec-ml100k")

    /// Runs `body` and expects a `RecommendError` with `code` whose field starts with `field`.
    func expectError(_ code: RecommendError.Code, _ field: String, _ fragment: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws(RecommendError) -> Void) {
        do {
            try body()
            Issue.record("accepted; expected \(code) on \(field)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field.hasPrefix(field), "\(error)", sourceLocation: sourceLocation)
            #expect(fragment.isEmpty || error.description.contains(fragment), "'\(fragment)' missing from: \(error)",
                    sourceLocation: sourceLocation)
        }
    }

    /// The same bad query through every entry point that takes one.
    func expectEverywhere(_ query: SessionQuery, _ code: RecommendError.Code, _ field: String, _ fragment: String = "",
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let recommender = Self.sasrec.recommender
        let context = recommender.makeContext()
        expectError(code, field, fragment, sourceLocation: sourceLocation) { () throws(RecommendError) in
            try recommender.validate(query)
        }
        expectError(code, field, fragment, sourceLocation: sourceLocation) { () throws(RecommendError) in
            _ = try context.recommend(query)
        }
        var results = [Recommendation](repeating: Recommendation(), count: 1)
        results[0].items = [42]
        let good = SessionQuery(items: [358, 53], k: 3)
        expectError(code, "queries[2].\(field)", fragment, sourceLocation: sourceLocation) { () throws(RecommendError) in
            try context.recommend([good, good, query, good][...], into: &results)
        }
        #expect(results.count == 1 && results[0].items == [42], "a rejected batch leaves the results untouched",
                sourceLocation: sourceLocation)
    }

    static let badIDs: [Int32] = [-1, -64, Int32.min, 1683, 1684, 1 << 20, Int32.max]

    @Test("session: empty, padding, negative, out of range, huge ids", arguments: badIDs + [0])
    func badSessionIDs(_ id: Int32) throws {
        expectEverywhere(SessionQuery(items: [5, id, 7], k: 3), .itemOutOfRange, "session", "position 1")
        let context = Self.sasrec.recommender.makeContext()
        expectError(.itemOutOfRange, "session") { () throws(RecommendError) in _ = try context.rawScores(session: [id]) }
    }

    @Test func emptySession() {
        expectEverywhere(SessionQuery(items: [], k: 3), .emptySession, "session")
        let context = Self.sasrec.recommender.makeContext()
        expectError(.emptySession, "session") { () throws(RecommendError) in _ = try context.rawScores(session: []) }
    }

    @Test("k: zero, negative, above maxK, huge", arguments: [0, -1, Int.min, SessionQuery.maxK + 1, Int.max])
    func badK(_ k: Int) {
        expectEverywhere(SessionQuery(items: [5], k: k), .kOutOfRange, "k")
    }

    @Test("allow, deny, candidates: padding, negative, out of range, huge ids",
          arguments: ["allow", "deny", "candidates"], badIDs + [0])
    func badListIDs(_ field: String, _ id: Int32) {
        var query = SessionQuery(items: [5], k: 1)
        let list: [Int32] = [10, 11, id, 12]
        switch field {
        case "allow": query.allow = list
        case "deny": query.deny = list
        default: query.candidates = list
        }
        expectEverywhere(query, .itemOutOfRange, field, "position 2")
    }

    @Test func paddingIsNamedByItsToken() throws {
        let recommender = Self.sasrec.recommender
        let padding = try recommender.resolve(tokens: ["[PAD]"], skipUnknown: false, field: "candidates")
        #expect(padding == [0], "[PAD] is row 0 of a RecBole vocabulary")
        var query = SessionQuery(items: [358], k: 1)
        query.candidates = [5] + padding
        expectEverywhere(query, .itemOutOfRange, "candidates", "'[PAD]'")
    }

    @Test func maskOfBERT4RecIsNeitherInputNorRecommendable() throws {
        let recommender = Self.bert4rec.recommender
        let mask = Int32(recommender.info.firstItem + recommender.info.itemCount)   // the row after the items
        #expect(recommender.token(of: mask) == "[MASK]")
        #expect(!recommender.info.inputItems.contains(Int(mask)))
        expectError(.itemOutOfRange, "session", "'[MASK]'") { () throws(RecommendError) in
            try recommender.validate(SessionQuery(items: [5, mask], k: 1))
        }
        var query = SessionQuery(items: [5], k: 1)
        query.allow = [mask]
        expectError(.itemOutOfRange, "allow", "'[MASK]'") { () throws(RecommendError) in try recommender.validate(query) }
        query.allow = nil
        query.deny = [mask]
        expectError(.itemOutOfRange, "deny") { () throws(RecommendError) in try recommender.validate(query) }
    }

    @Test func emptyCandidatesAreAnError() {
        var query = SessionQuery(items: [5], k: 1)
        query.candidates = []
        expectEverywhere(query, .emptyCandidates, "candidates")
    }

    @Test("k counts distinct candidates", arguments: [([5, 5, 5], 3, 1), ([5, 7, 5, 7], 3, 2), ([9], 2, 1)])
    func kAboveDistinctCandidates(_ candidates: [Int32], _ k: Int, _ distinct: Int) {
        var query = SessionQuery(items: [5], k: k)
        query.candidates = candidates
        expectEverywhere(query, .kOutOfRange, "k", "\(distinct) distinct candidates")
    }

    @Test func duplicateCandidatesCountOnceAndAreAnsweredOnce() throws {
        let recommender = Self.sasrec.recommender
        var query = SessionQuery(items: [358, 53], k: 2)
        query.candidates = [5, 5, 900, 5, 900]
        let result = try recommender.makeContext().recommend(query)
        #expect(result.items.count == 2 && Set(result.items) == [5, 900])
    }

    @Test func hugeListsAreCheckedNotTrusted() throws {
        let recommender = Self.sasrec.recommender
        var query = SessionQuery(items: Array(repeating: 7, count: 100_000), k: SessionQuery.maxK)
        query.deny = (0..<200_000).map { Int32($0 % 1682 + 1) }
        let result = try recommender.makeContext().recommend(query)
        #expect(result.items.isEmpty, "every item denied: fewer than k is the filters' doing")
        query.deny.append(1683)
        expectEverywhere(query, .itemOutOfRange, "deny", "position 200000")
    }

    @Test func externalIDsWithoutVocabularyOrUnknown() throws {
        let recommender = Self.sasrec.recommender
        expectError(.unknownItem, "allow", "no-such-item") { () throws(RecommendError) in
            _ = try recommender.resolve(tokens: ["50", "no-such-item"], skipUnknown: false, field: "allow")
        }
        #expect(try recommender.resolve(tokens: [], skipUnknown: false) == [])
        let path = try FormatTestSupport.write(try FormatTestSupport.smallWriter(.recboleSASRec, withVocabulary: false).serialize())
        let bare = try Recommender(path: path, maxBatch: 1)
        expectError(.noVocabulary, "session") { () throws(RecommendError) in
            _ = try bare.resolve(tokens: ["50"], skipUnknown: true, field: "session")
        }
    }

    @Test("token(of:) never reads outside the vocabulary", arguments: [Int32.min, -1, 1683, Int32.max])
    func tokenOfAnyID(_ id: Int32) {
        #expect(Self.sasrec.recommender.token(of: id) == String(id))
    }

    /// Budgets outside 0…64 GiB, idle times outside 1 s…7 days, and a budget too small for two of the
    /// model's largest records (SASRec: 2 × 50 KB) are load errors.
    @Test("load limits", arguments: [(0, -1, 1_800), (-1, 1 << 20, 1_800), (1025, Int.max, 1_800), (Int.max, 0, 0),
                                     (Int.min, 100 << 10, 1_800), (0, 1 << 20, 604_801)])
    func badLoadLimits(_ maxBatch: Int, _ stateCacheBytes: Int, _ idleSeconds: Int) throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelLoadError.self) { try Recommender(path: path, maxBatch: maxBatch) }
        let settings = StateCacheSettings(budgetBytes: stateCacheBytes, idleSeconds: idleSeconds)
        if settings != StateCacheSettings(budgetBytes: 1 << 20) {
            #expect(throws: ModelLoadError.self) { try Recommender(path: path, stateCache: settings) }
        }
    }

    @Test("distinct counting agrees with a set", arguments: 0..<20)
    func distinctCount(_ seed: Int) {
        var generator = SplitMix64(seed: UInt64(seed) &+ 1)
        let ids = (0..<Int(generator.next() % 3000)).map { _ in Int32(generator.next() % 1500) }
        let limit = Int(generator.next() % 1000) + 1
        #expect(Recommender.distinctCount(ids, upTo: limit) == min(Set(ids).count, limit))
    }

    @Test func nonFiniteScoresAreNeverReturned() {
        let capacity = 4
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        let items = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        defer { scores.deallocate(); items.deallocate() }
        var heap = TopKHeap(scores: scores, items: items, capacity: capacity)
        for (item, score) in [Float.nan, .infinity, -.infinity, 1.5, -Float.greatestFiniteMagnitude].enumerated() {
            heap.offer(score, Int32(item))
        }
        var result = Recommendation()
        heap.drain(into: &result)
        #expect(result.items == [3, 4] && result.scores.allSatisfy { $0.isFinite })
    }
}

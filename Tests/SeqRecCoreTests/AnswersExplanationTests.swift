import Foundation
import Testing
@testable import SeqRecCore

/// Leave-one-out explanations (issue 15 item 5): every reported contribution is the score drop the model
/// itself gives when that item is left out — re-run here as a separate single-session call on a fresh,
/// cache-less context — and the top 3 are the largest drops over all session items. Equality is up to
/// float rounding (the two runs batch differently): 1e-5 × the largest |score|, ten times tighter than
/// the upstream parity tolerance.
@Suite("Answers: explanations", .serialized)
struct AnswersExplanationTests {
    // Models with a state cache (SASRec keys/values, GRU states, NARM) and without (STAMP, BERT4Rec).
    static let fixtures = ["recbole-sasrec-ml100k", "recbole-gru4rec-ml100k", "recbole-narm-ml100k",
                           "recbole-stamp-ml100k", "recbole-bert4rec-ml100k", "gru4rec-official-ml100k-separate"]

    static func load(_ fixture: String, cache: StateCacheSettings = StateCacheSettings(), backend: KernelSelection = .automatic) throws -> Recommender {
        let path = try GoldenFixture(fixture).convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Recommender(path: path, kernels: backend, maxBatch: 8, stateCache: cache)
    }

    /// Scores of `session` on a fresh cache-less context (the reference run).
    static func rerun(_ recommender: Recommender, _ session: [Int32]) throws -> [Float] {
        try recommender.makeContext().rawScores(session: session)
    }

    @Test(arguments: fixtures, ParityTests.backends)
    func contributionsAreTheDropsOfRerunningWithoutTheItem(fixture: String, backend: KernelBackend) throws {
        let recommender = try Self.load(fixture, backend: .forced(backend))
        let reference = try Self.load(fixture, cache: .off, backend: .forced(backend))
        let first = Int32(recommender.info.firstItem)
        // Repeats, a session longer than small windows, and one with two distinct items.
        let sessions: [[Int32]] = [
            [358, 53, 162, 102, 32, 53, 7, 99, 14, 250].map { first + $0 - 1 },
            (0..<60).map { first + Int32(($0 * 29) % 300) },
            [first + 4, first + 9, first + 4],
        ]
        let context = recommender.makeContext()
        for session in sessions {
            var query = SessionQuery(items: session, k: 6)
            query.explain = true
            let result = try context.recommend(query)
            var plain = query
            plain.explain = false
            let unexplained = try recommender.makeContext().recommend(plain)
            #expect(result.items == unexplained.items && result.scores == unexplained.scores,
                    "explaining does not change the answer")
            let window = session.suffix(recommender.info.maxSessionLength)
            var distinct: [Int32] = []
            for item in window where !distinct.contains(item) { distinct.append(item) }
            #expect(result.contributorsPerItem == min(3, distinct.count))
            let full = try Self.rerun(reference, session)
            var drops: [Int32: [Float]] = [:]
            for item in distinct { drops[item] = try Self.rerun(reference, session.filter { $0 != item }) }
            let scale = full.filter(\.isFinite).map(abs).max() ?? 1
            for (index, returned) in result.items.enumerated() {
                let reported = result.because(ofItem: index)
                for contribution in reported {
                    let exact = full[Int(returned)] - drops[contribution.item]![Int(returned)]
                    #expect(abs(contribution.contribution - exact) <= 1e-5 * scale,
                            "\(fixture) [\(backend)] item \(returned) without \(contribution.item): \(contribution.contribution) vs rerun \(exact)")
                }
                // The top 3 are the largest drops (away from near-ties).
                let ranked = distinct.map { (item: $0, drop: full[Int(returned)] - drops[$0]![Int(returned)]) }
                    .sorted { $0.drop != $1.drop ? $0.drop > $1.drop : $0.item < $1.item }
                for (rank, contribution) in reported.enumerated() {
                    let nearTie = (rank > 0 && abs(ranked[rank - 1].drop - ranked[rank].drop) < 1e-4 * scale)
                        || (rank + 1 < ranked.count && abs(ranked[rank + 1].drop - ranked[rank].drop) < 1e-4 * scale)
                    if !nearTie { #expect(contribution.item == ranked[rank].item, "\(fixture) rank \(rank) of item \(returned)") }
                }
            }
        }
    }

    @Test func singleDistinctItemHasNoContributors() throws {
        let recommender = ScoringTests.model.recommender
        var query = SessionQuery(items: [53, 53, 53], k: 4)
        query.explain = true
        let result = try recommender.makeContext().recommend(query)
        #expect(result.contributorsPerItem == 0 && result.because.isEmpty && result.items.count == 4)
    }

    /// Variants run through a cache-less binding: an explained request counts one cache lookup (its own
    /// session), stores nothing for its variants, and the session's state still resumes the next click.
    @Test(arguments: ["recbole-sasrec-ml100k", "recbole-gru4rec-ml100k"])
    func variantsLeaveTheStateCacheAlone(fixture: String) throws {
        let recommender = try Self.load(fixture, cache: StateCacheSettings(budgetBytes: 256 << 10))   // tiny: any stored variant would evict
        let context = recommender.makeContext()
        let session: [Int32] = [358, 53, 162, 102, 32, 7, 99]
        var query = SessionQuery(items: session, k: 5)
        _ = try context.recommend(query)
        let before = try #require(context.stateCacheStatistics)
        query.explain = true
        let explained = try context.recommend(query)
        let after = try #require(context.stateCacheStatistics)
        #expect(after.lookups == before.lookups + 1 && after.hits == before.hits + 1, "\(before) → \(after)")
        #expect(explained.contributorsPerItem == 3)
        _ = try context.recommend(SessionQuery(items: session + [14], k: 5))
        let next = try #require(context.stateCacheStatistics)
        #expect(next.hits == after.hits + 1, "the grown session resumed from the cached state")
    }

    @Test func diversityThenExplanations() throws {
        let recommender = ScoringTests.model.recommender
        var query = SessionQuery(items: [358, 53, 162, 102], k: 5)
        query.diversity = DiversityOptions(lambda: 0.3, pool: 50)
        let diverse = try recommender.makeContext().recommend(query)
        query.explain = true
        let explained = try recommender.makeContext().recommend(query)
        #expect(explained.items == diverse.items, "explanations describe the diversified answer")
        #expect(explained.because.count == 5 * 3)
    }
}

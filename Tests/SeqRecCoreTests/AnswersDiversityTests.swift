import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// MMR (issue 15 item 3) against a brute-force reference: the textbook greedy loop in Double, recomputing
/// every candidate's maximum similarity to all picks from scratch at every step, run along the engine's
/// picks. Every engine pick must be the reference's best candidate at that step; where the reference's best
/// values lie within 1e-5 (float rounding of the engine's cosines), any of them is accepted, and such steps
/// are counted so the check cannot pass vacuously.
@Suite("Answers: diversity (MMR)")
struct AnswersDiversityTests {
    struct Verdict {
        /// Steps where the engine's pick scored below the reference's best by more than 1e-5.
        var wrong: [String] = []
        /// Steps whose pick differed from the reference's argmax but within the rounding margin.
        var withinRounding = 0
        var steps = 0
    }

    /// Checks `picks` (the engine's answer) step by step against the reference MMR over the pool.
    static func check(picks: [Int32], pool: [Int32], scores: [Float], rows: (Int32) -> [Float], k: Int,
                      lambda: Float) -> Verdict {
        var verdict = Verdict()
        let n = pool.count
        guard picks.count == min(k, n) else { return Verdict(wrong: ["\(picks.count) picks for k \(k), pool \(n)"]) }
        guard n > 0 else { return verdict }
        let high = Double(scores[0]), low = Double(scores[n - 1])
        let relevance = scores.map { high > low ? (Double($0) - low) / (high - low) : 1 }
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return na > 0 && nb > 0 ? dot / (na * nb) : 0
        }
        var picked: [Int] = []
        for (t, item) in picks.enumerated() {
            guard let chosen = pool.firstIndex(of: item), !picked.contains(chosen) else {
                verdict.wrong.append("step \(t): \(item) is not an unpicked pool item")
                return verdict
            }
            var best = -Double.infinity, bestIndex = -1, chosenValue = 0.0
            for i in 0..<n where !picked.contains(i) {
                let similarity = picked.isEmpty ? 0 : picked.map { cosine(rows(pool[i]), rows(pool[$0])) }.max()!
                let value = Double(lambda) * relevance[i] - (1 - Double(lambda)) * similarity
                if value > best { best = value; bestIndex = i }   // ties keep the better pool rank
                if i == chosen { chosenValue = value }
            }
            if chosenValue < best - 1e-5 {
                verdict.wrong.append("step \(t): picked \(item) (\(chosenValue)), best \(pool[bestIndex]) (\(best))")
            } else if chosen != bestIndex {
                verdict.withinRounding += 1
            }
            verdict.steps += 1
            picked.append(chosen)
        }
        return verdict
    }

    /// A random table (one all-zero row), a random pool of distinct rows with scores sorted best first.
    struct RandomCase {
        let width: Int, rows: Int
        let table: [Float]
        let pool: [Int32]
        let scores: [Float]

        init(seed: UInt64, width: Int, rows: Int, poolSize: Int, tiedScores: Bool) {
            var rng = SplitMix64(seed: seed)
            self.width = width
            self.rows = rows
            var table = rng.floats(rows * width)
            let zero = Int(rng.next() % UInt64(rows))
            for p in 0..<width { table[zero * width + p] = 0 }
            self.table = table
            var ids = Array(0..<Int32(rows))
            for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            pool = Array(ids.prefix(poolSize))
            scores = (0..<poolSize).map { _ in tiedScores ? Float(rng.next() % 4) : rng.nextFloat() * 8 }
                .sorted(by: >)
        }

        func row(_ item: Int32) -> [Float] { Array(table[Int(item) * width ..< (Int(item) + 1) * width]) }
    }

    @Test("random catalogues: engine MMR equals the reference",
          arguments: [1, 7, 64, 65], [(1, 1), (10, 10), (10, 200), (37, 100), (200, 200), (10, 1000)])
    func randomCatalogues(width: Int, shape: (k: Int, pool: Int)) {
        var steps = 0, roundingSteps = 0
        for (seed, lambda) in zip(0..<UInt64(24), [Float(0), 0.3, 0.5, 0.7, 0.9, 1].cycled(24)) {
            let random = RandomCase(seed: seed &* 7919 &+ UInt64(width), width: width, rows: shape.pool + 17,
                                    poolSize: shape.pool, tiedScores: seed % 4 == 3)
            random.table.withUnsafeBufferPointer { table in
                let scoring = ScoringTable(table: table.baseAddress!, bias: nil, rows: random.rows, width: width, firstItem: 0)
                let reranker = DiversityReranker(table: scoring)
                var result = Recommendation()
                result.items = random.pool
                result.scores = random.scores
                for backend in ParityTests.backends {
                    var copy = result
                    reranker.rerank(&copy, k: shape.k, lambda: lambda, kernels: Kernels(.forced(backend)))
                    let verdict = Self.check(picks: copy.items, pool: random.pool, scores: random.scores, rows: random.row,
                                             k: shape.k, lambda: lambda)
                    #expect(verdict.wrong.isEmpty,
                            "width \(width) k \(shape.k) pool \(shape.pool) λ \(lambda) seed \(seed) [\(backend)]: \(verdict.wrong.prefix(3))")
                    steps += verdict.steps
                    roundingSteps += verdict.withinRounding
                    // Each returned score is its item's pool score.
                    for (item, score) in zip(copy.items, copy.scores) {
                        #expect(random.scores[random.pool.firstIndex(of: item)!] == score)
                    }
                }
            }
        }
        #expect(roundingSteps * 100 <= steps, "\(roundingSteps) of \(steps) picks differ from the reference's argmax")
    }

    @Test func lambdaOneKeepsTheRelevanceOrder() throws {
        let recommender = ScoringTests.model.recommender
        var query = SessionQuery(items: [358, 53, 162, 102], k: 10)
        let plain = try recommender.makeContext().recommend(query)
        query.diversity = DiversityOptions(lambda: 1, pool: 200)
        let diverse = try recommender.makeContext().recommend(query)
        #expect(diverse.items == plain.items && diverse.scores == plain.scores)
    }

    /// Through the real model with every filter: the pool is the brute-force filtered top `pool` of the
    /// raw scores, then the reference MMR over the model's output embeddings (its scoring table rows).
    @Test(arguments: [Float(0), 0.5, 0.7])
    func realModelWithFilters(lambda: Float) throws {
        let recommender = ScoringTests.model.recommender
        let table = recommender.scoring
        func row(_ item: Int32) -> [Float] { Array(UnsafeBufferPointer(start: table.table + Int(item) * table.width, count: table.width)) }
        var queries: [SessionQuery] = []
        var seen = SessionQuery(items: [358, 53, 162, 102, 32], k: 10)
        seen.excludeSeen = true
        seen.deny = [1, 2, 3, 195, 183]
        queries.append(seen)
        var allow = SessionQuery(items: [358], k: 5)
        allow.allow = Array(1...400).map { Int32($0) }
        queries.append(allow)
        var candidates = SessionQuery(items: [358, 53], k: 8)
        candidates.candidates = Array(stride(from: 2, through: 1600, by: 7)).map { Int32($0) }
        candidates.deny = [9]
        queries.append(candidates)
        var few = SessionQuery(items: [12, 50], k: 3)   // a pool smaller than asked: every candidate
        few.candidates = [5, 6, 7, 8]
        queries.append(few)
        let context = recommender.makeContext()
        var results: [Recommendation] = []
        for var query in queries {
            query.diversity = DiversityOptions(lambda: lambda, pool: 120)
            let scores = try context.rawScores(session: query.items)
            var pooled = query
            pooled.k = min(120, Set(query.candidates ?? query.allow ?? Array(1...1682).map { Int32($0) }).count)
            pooled.diversity = nil
            let pool = try ScoringTests().bruteForce(recommender, pooled)
            try context.recommend([query][...], into: &results)
            let verdict = Self.check(picks: results[0].items, pool: pool, scores: pool.map { scores[Int($0)] }, rows: row,
                                     k: query.k, lambda: lambda)
            #expect(verdict.wrong.isEmpty && verdict.withinRounding == 0, "\(verdict)")
            #expect(results[0].items.count == min(query.k, pool.count))
        }
    }
}

extension Array {
    /// The elements repeated to `count`.
    func cycled(_ count: Int) -> [Element] { (0..<count).map { self[$0 % self.count] } }
}

import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// Cold-start fallback (issue 15 item 4): popularity counted from an interaction file by the converter,
/// stored as the optional tensor, answered for empty sessions with the filters applied.
@Suite("Answers: popularity fallback")
struct AnswersFallbackTests {
    /// A fixture converted with a synthetic RecBole `.inter` file: item `id` gets `counts[id]` lines.
    final class PopularModel: Sendable {
        let recommender: Recommender
        let counts: [Int]
        let summary: String

        init(_ fixture: String, seed: UInt64, maxBatch: Int = 8) throws {
            let folder = try GoldenFixture(fixture).folder
            let vocabulary = try VocabularyTSV.read(path: folder + "/vocab.tsv")
            var rng = SplitMix64(seed: seed)
            // Small counts, so ties (broken by the lower id) are frequent; special rows get none.
            let counts = (0..<vocabulary.count).map { id in
                vocabulary.token(of: id)!.hasPrefix("[") ? 0 : Int(rng.next() % 6)
            }
            var lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
            for (id, count) in counts.enumerated() where count > 0 {
                for user in 0..<count { lines.append("\(user)\t\(vocabulary.token(of: id)!)\t3\t88\(id)") }
            }
            lines.append("7\tnot-an-item\t3\t1")   // an item the model does not know: skipped, reported
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-pop-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let inter = directory.appendingPathComponent("data.inter").path
            try (lines.joined(separator: "\n") + "\n").write(toFile: inter, atomically: true, encoding: .utf8)
            let output = directory.appendingPathComponent("model.seqrec").path
            var report = ""
            try FixtureImporter.convert(folder: folder, output: output, popularity: inter, report: { report = $0 })
            recommender = try Recommender(path: output, maxBatch: maxBatch)
            self.counts = counts
            summary = report
        }

        /// Brute force: admissible recommendable ids by (count desc, id asc).
        func expected(_ query: SessionQuery, depth: Int) -> [Int32] {
            let info = recommender.info
            var pool = Set((query.candidates ?? query.allow).map { $0.map(Int.init) }
                           ?? Array(info.firstItem ..< info.firstItem + info.itemCount))
            if let allow = query.allow, query.candidates != nil { pool.formIntersection(allow.map(Int.init)) }
            pool.subtract(query.deny.map(Int.init))
            let ranked = pool.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
            return ranked.prefix(depth).map(Int32.init)
        }
    }

    static let sasrec = try! PopularModel("recbole-sasrec-ml100k", seed: 15)

    @Test func converterCountsAndReports() throws {
        let model = Self.sasrec
        #expect(model.recommender.info.hasPopularity)
        let total = model.counts.reduce(0, +)
        #expect(model.summary.contains("\(total) interactions") && model.summary.contains("1 lines"), "\(model.summary)")
        let stored = try #require(model.recommender.popularity)
        #expect(stored.values == model.counts.map(Float.init))
    }

    @Test func emptySessionAnswersTheMostPopularWithFilters() throws {
        let model = Self.sasrec
        let context = model.recommender.makeContext()
        var queries: [SessionQuery] = []
        var plain = SessionQuery(items: [], k: 20)
        plain.fallback = true
        queries.append(plain)
        var deny = plain
        deny.deny = model.expected(plain, depth: 5)   // the five most popular are denied
        queries.append(deny)
        var allow = plain
        allow.k = 4
        allow.allow = [10, 20, 30, 40, 50, 60, 70, 10]
        queries.append(allow)
        var both = plain
        both.k = 3
        both.candidates = [5, 6, 7, 8, 9, 10, 11, 5]
        both.allow = [5, 7, 9, 11]
        both.deny = [7]
        queries.append(both)
        for query in queries {
            let result = try context.recommend(query)
            #expect(result.usedFallback)
            #expect(result.items == model.expected(query, depth: query.k))
            #expect(result.scores == result.items.map { Float(model.counts[Int($0)]) })
            #expect(result.because.isEmpty && result.embedding.isEmpty)
        }
    }

    /// Fallback queries inside a batch: they are answered on their own, and the other sessions' answers
    /// are what they are without them.
    @Test func mixedBatch() throws {
        let model = Self.sasrec
        let context = model.recommender.makeContext()
        var empty = SessionQuery(items: [], k: 5)
        empty.fallback = true
        let a = SessionQuery(items: [358, 53, 162], k: 5), b = SessionQuery(items: [12], k: 7)
        var fallbackOnNonEmpty = a
        fallbackOnNonEmpty.fallback = true   // fallback only applies to empty sessions
        var results: [Recommendation] = []
        try context.recommend([empty, a, empty, b, fallbackOnNonEmpty, empty][...], into: &results)
        #expect(results[0].usedFallback && results[2].usedFallback && results[5].usedFallback)
        #expect(!results[1].usedFallback && !results[3].usedFallback && !results[4].usedFallback)
        #expect(results[1] == (try context.recommend(a)))
        #expect(results[3] == (try context.recommend(b)))
        #expect(results[4].items == results[1].items)
        #expect(results[0].items == model.expected(empty, depth: 5))
        // The same results array reused for a batch without fallbacks: the flag is reset.
        try context.recommend([a, a, a][...], into: &results)
        #expect(!results[0].usedFallback && !results[2].usedFallback)
    }

    /// The item attributes filter the fallback as they filter the scan: unavailable items are left out
    /// by default, categories include/exclude, and the per-category cap goes down the popularity order.
    @Test func attributeFiltersApplyToTheFallback() throws {
        let model = try PopularModel("recbole-sasrec-ml100k", seed: 16)
        let recommender = model.recommender
        let catalogue = try ItemCatalogue(name: "popular")
        catalogue.attach(recommender)
        let context = recommender.makeContext()
        var query = SessionQuery(items: [], k: 6)
        query.fallback = true
        let ranked = model.expected(query, depth: 40)
        // The two most popular go out of stock; items 2…9 of the ranking get categories.
        try catalogue.apply([AttributeUpdate(key: .id(Int64(ranked[0])), available: false),
                             AttributeUpdate(key: .id(Int64(ranked[1])), available: false)]
            + (2..<10).map { AttributeUpdate(key: .id(Int64(ranked[$0])), categories: [$0 % 2 == 0 ? "Even" : "Odd"]) })
        #expect(try context.recommend(query).items == Array(ranked[2..<8]), "available only, by default")
        var optOut = query
        optOut.filters.availableOnly = false
        #expect(try context.recommend(optOut).items == Array(ranked[0..<6]))
        var odd = query
        odd.filters.categoriesInclude = ["Odd"]
        #expect(try context.recommend(odd).items == [3, 5, 7, 9].map { ranked[$0] })
        var notEven = query
        notEven.filters.categoriesExclude = ["Even"]
        #expect(try context.recommend(notEven).items == [3, 5, 7, 9, 10, 11].map { ranked[$0] })
        var capped = query
        capped.filters.maxPerCategory = 1
        #expect(try context.recommend(capped).items == [2, 3, 10, 11, 12, 13].map { ranked[$0] })
        var cappedList = capped
        cappedList.candidates = (1..<12).map { ranked[$0] }
        cappedList.k = 4
        #expect(try context.recommend(cappedList).items == [2, 3, 10, 11].map { ranked[$0] })
        #expect(try context.recommend(query).usedFallback)
    }

    @Test func fallbackWithDiversity() throws {
        let model = Self.sasrec
        var query = SessionQuery(items: [], k: 10)
        query.fallback = true
        query.diversity = DiversityOptions(lambda: 0.5, pool: 100)
        let result = try model.recommender.makeContext().recommend(query)
        let pool = model.expected(query, depth: 100)
        let table = model.recommender.scoring
        let verdict = AnswersDiversityTests.check(
            picks: result.items, pool: pool, scores: pool.map { Float(model.counts[Int($0)]) },
            rows: { Array(UnsafeBufferPointer(start: table.table + Int($0) * table.width, count: table.width)) },
            k: 10, lambda: 0.5)
        #expect(result.usedFallback)
        #expect(verdict.wrong.isEmpty, "\(verdict)")
    }

    @Test func badInteractionFiles() throws {
        let folder = try GoldenFixture("recbole-sasrec-ml100k").folder
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-badpop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(text: String, field: String)] = [
            ("", "line 1"),
            ("user_id:token\trating:float\n1\t3\n", "line 1"),                          // no item_id column
            ("user_id:token\titem_id:token\n1\t242\n2\t302\t5\n", "line 3"),            // extra field
            ("user_id:token\titem_id:token\n1\tnope\n2\talso-nope\n", "item_id"),       // nothing known
        ]
        for (index, bad) in cases.enumerated() {
            let inter = directory.appendingPathComponent("bad\(index).inter").path
            try bad.text.write(toFile: inter, atomically: true, encoding: .utf8)
            let output = directory.appendingPathComponent("out\(index).seqrec").path
            do {
                try FixtureImporter.convert(folder: folder, output: output, popularity: inter)
                Issue.record("case \(index) accepted")
            } catch let error as FormatError {
                #expect(error.field == bad.field, "case \(index): \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: output), "case \(index): nothing written")
        }
        do {
            try FixtureImporter.convert(folder: folder, output: directory.appendingPathComponent("x.seqrec").path,
                                        popularity: directory.appendingPathComponent("missing.inter").path)
            Issue.record("a missing file was accepted")
        } catch let error as FormatError {
            #expect(error.field == "file")
        }
    }

    /// The reader accepts the optional tensor only with its shape; the loader refuses negative counts.
    @Test func fileLevelChecks() throws {
        var writer = try FormatTestSupport.smallWriter(.recboleSASRec)
        writer.addTensor(OptionalTensors.popularity, shape: [4], values: [1, 2, 3, 4])   // n_items is 5
        #expect(throws: FormatError.self) { _ = try writer.serialize() }
        var negative = try FormatTestSupport.smallWriter(.recboleSASRec)
        negative.addTensor(OptionalTensors.popularity, shape: [5], values: [0, 2, -1, 4, 1])
        let path = try FormatTestSupport.write(try negative.serialize())
        #expect(throws: ModelLoadError.self) { _ = try Recommender(path: path) }
        var good = try FormatTestSupport.smallWriter(.recboleSASRec)
        good.addTensor(OptionalTensors.popularity, shape: [5], values: [0, 2, 7, 4, 7])
        let recommender = try Recommender(path: try FormatTestSupport.write(try good.serialize()))
        #expect(recommender.info.hasPopularity)
        #expect(recommender.popularity?.order == [2, 4, 3, 1])   // row 0 is padding; 7 = 7 ties to the lower id
    }
}

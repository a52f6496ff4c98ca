import Foundation
import SeqRecCore
import Testing

/// `seqrec convert --popularity` and `seqrec recommend` with the answer options (issue 15 items 3–5,
/// issue 12's titles): titles and "because you watched …" in the text output; titles, fallback and
/// because in the JSONL output.
@Suite("seqrec command line: answers")
struct AnswersCommandLineTests {
    typealias CLI = CommandLineTests

    /// The SASRec fixture converted with a small interaction file (ml-100k tokens: 50 Star Wars is the most
    /// popular, then 181 Return of the Jedi).
    static func popularModel() throws -> String {
        let inter = CLI.temporary("data.inter")
        let lines = ["user_id:token\titem_id:token"] + (0..<9).map { "u\($0)\t50" } + (0..<5).map { "u\($0)\t181" }
            + ["u1\t258", "u2\tunknown-item"]
        try lines.joined(separator: "\n").write(toFile: inter, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: inter) }
        let output = CLI.temporary("popular.seqrec")
        let run = try CLI.run(["convert", CLI.fixtures.appendingPathComponent("recbole-sasrec-ml100k").path, "-o", output,
                               "--popularity", inter])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("popularity: 15 interactions over 3 items, 1 lines with items the model does not know skipped"),
                "\(run.stdout)")
        return output
    }

    @Test func becauseYouWatchedWithTitles() throws {
        let model = try Self.popularModel()
        defer { try? FileManager.default.removeItem(atPath: model) }
        let run = try CLI.run(["recommend", "--model", model, "--session", "Star Wars; Return of the Jedi; Fargo",
                               "--k", "3", "--explain", "--diversity", "0.7,50"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("  ") && $0.contains(". ") && $0.contains("score") }.count == 3, "\(run.stdout)")
        // Reasons name session titles, never bare ids, and only items that pushed the recommendation up.
        let reasons = lines.filter { $0.contains("because you watched") }
        #expect(!reasons.isEmpty, "\(run.stdout)")
        for line in reasons {
            #expect(["Star Wars", "Return of the Jedi", "Fargo"].contains { line.contains($0) }, "\(line)")
            #expect(line.contains("(+") && !line.contains("(-") && !line.contains("item "), "\(line)")
        }
    }

    @Test func fallbackFromTheCommandLine() throws {
        let model = try Self.popularModel()
        defer { try? FileManager.default.removeItem(atPath: model) }
        let run = try CLI.run(["recommend", "--model", model, "--session", "", "--fallback", "--k", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("fallback") && run.stdout.contains("1. Star Wars") && run.stdout.contains("2. Return of the Jedi"),
                "\(run.stdout)")
        let without = try CLI.run(["recommend", "--model", model, "--session", "", "--k", "2"])
        #expect(without.status != 0)
        let bad = try CLI.run(["recommend", "--model", model, "--session", "Fargo", "--diversity", "seven"])
        #expect(bad.status != 0 && bad.stderr.contains("--diversity"), "\(bad.stderr)")
        let range = try CLI.run(["recommend", "--model", model, "--session", "Fargo", "--diversity", "1.5"])
        #expect(range.status != 0 && range.stderr.contains("diversity.lambda"), "\(range.stderr)")
    }

    @Test func jsonlCarriesTitlesFallbackAndBecause() throws {
        let model = try Self.popularModel()
        defer { try? FileManager.default.removeItem(atPath: model) }
        let input = CLI.temporary("in.jsonl")
        try """
            {"session": ["50", "181", "100"], "k": 2, "external": true, "explain": true}
            {"session": ["nope"], "external": true, "skip_unknown": true, "fallback": true, "k": 2}
            {"session": [50, 172], "k": 3, "diversity": {"lambda": 0.5, "pool": 40}}
            """.write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let run = try CLI.run(["recommend", "--model", model, "--input", input])
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try run.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(objects.count == 3)
        #expect((objects[0]["titles"] as? [Any])?.count == 2)
        let because = try #require(objects[0]["because"] as? [[[String: Any]]])
        #expect(because.count == 2 && because.allSatisfy { $0.count == 3 })
        #expect(because[0].allSatisfy { ["50", "181", "100"].contains(String(describing: $0["id"]!)) && $0["title"] is String
                                         && $0["contribution"] is NSNumber })
        #expect(objects[1]["fallback"] as? Bool == true)
        #expect((objects[1]["items"] as? [Any])?.map { String(describing: $0) } == ["50", "181"])
        #expect((objects[2]["items"] as? [Any])?.count == 3 && objects[2]["because"] == nil && objects[2]["fallback"] == nil)
    }
}

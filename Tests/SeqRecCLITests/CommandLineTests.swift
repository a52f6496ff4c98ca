import Foundation
import SeqRecCore
import SeqRecTestSupport
import Testing

/// The `seqrec` executable as scripts and gateways' CI call it: exit codes, one-line errors, outputs.
@Suite("seqrec command line")
struct CommandLineTests {
    static let fixtures = PackagePaths.fixtures

    /// The `seqrec` binary of this build, run in the package root.
    static func run(_ arguments: [String]) throws -> ProcessRun {
        try runProcess(PackagePaths.seqrecExecutable, arguments)
    }

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)-\(name)").path
    }

    static func converted(_ fixture: String) throws -> String {
        let output = temporary("\(fixture).seqrec")
        let run = try run(["convert", fixtures.appendingPathComponent(fixture).path, "-o", output])
        #expect(run.status == 0, "\(run.stderr)")
        return output
    }

    @Test func convertThenInspect() throws {
        let model = try Self.converted("recbole-bert4rec-ml100k")
        defer { try? FileManager.default.removeItem(atPath: model) }
        let inspect = try Self.run(["inspect", model])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("family: recbole-bert4rec"))
        #expect(inspect.stdout.contains("output_bias"))
        #expect(inspect.stdout.contains("vocabulary"))
    }

    @Test(arguments: [
        (["convert", "/no/such/folder", "-o", "/tmp/x.seqrec"], "folder"),
        (["convert", "Tests/Fixtures/recbole-sasrec-ml100k"], "-o"),
        (["inspect", "README.md"], "README.md"),
        (["inspect"], "missing"),
        (["recommend", "--model", "Models/none.seqrec", "--session", "1"], "none.seqrec"),
        (["recommend", "--session", "1"], "--model"),
        (["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--session", "1", "--k", "0"], "--k"),
        (["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--session", "1", "--bogus"], "--bogus"),
        (["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--session", "No Such Film Title"], "No Such Film Title"),
        (["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--session", "0"], "session"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--bogus"], "unknown option '--bogus'"),
        (["convert", "-o", "/tmp/x.seqrec", "/no/such/folder"], "/no/such/folder"),
        (["frobnicate"], "unknown command"),
        ([], "missing command"),
    ])
    func badInputGivesOneLineErrorAndNonZeroExit(arguments: [String], mention: String) throws {
        let run = try Self.run(arguments)
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("seqrec:"), "stderr: \(run.stderr)")
        #expect(lines.first?.contains(mention) == true, "stderr: \(run.stderr)")
    }

    @Test func titlesResolveAndRecommendationsPrint() throws {
        let run = try Self.run(["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--session",
                                "Star Wars; Return of the Jedi; Raiders of the Lost Ark", "--k", "5"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Star Wars [358] → Return of the Jedi [53]"))
        #expect(run.stdout.split(separator: "\n").filter { $0.contains("score") }.count == 5)
    }

    /// Batch mode answers line by line, in input order and id space, with exactly the engine's scores for
    /// the same batch (printed floats round-trip bit for bit).
    @Test func jsonlBatchMatchesTheEngine() throws {
        let model = try Self.converted("gru4rec-official-ml100k-separate")
        defer { try? FileManager.default.removeItem(atPath: model) }
        let input = Self.temporary("in.jsonl")
        let lines = [
            #"{"session": [0, 5, 9]}"#,
            #"{"session": [12, 7], "k": 3, "exclude_seen": true, "deny": [1]}"#,
            #"{"session": ["no-such-item"], "external": true}"#,
            #"{"session": [3], "candidates": [4, 5, 6], "k": 2}"#,
        ]
        try lines.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let run = try Self.run(["recommend", "--model", model, "--input", input, "--k", "4", "--format", "jsonl"])
        #expect(run.status != 0, "one line failed, so the exit code says so")
        let output = run.stdout.split(separator: "\n").map(String.init)
        #expect(output.count == 4)
        #expect(output[2].hasPrefix(#"{"error": "#) && output[2].contains("no-such-item"))

        let recommender = try Recommender(path: model)
        let context = recommender.makeContext()
        var queries = [SessionQuery(items: [0, 5, 9], k: 4), SessionQuery(items: [12, 7], k: 3),
                       SessionQuery(items: [3], k: 2)]
        queries[1].excludeSeen = true
        queries[1].deny = [1]
        queries[2].candidates = [4, 5, 6]
        var results: [Recommendation] = []
        try context.recommend(queries[...], into: &results)
        for (line, expected) in zip([output[0], output[1], output[3]], results) {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((json["items"] as? [NSNumber])?.map(\.int32Value) == expected.items)
            #expect((json["scores"] as? [NSNumber])?.map(\.floatValue) == expected.scores, "printed scores round-trip exactly")
        }
    }

    /// Issue 11 item 4 through the command line: padding and special tokens in lists are errors (as in the
    /// session), duplicates count once, and k ≤ the distinct candidates left after skipping unknown ids.
    @Test func jsonlListRules() throws {
        let input = Self.temporary("lists.jsonl")
        let lines = [
            #"{"session": ["50", "181"], "external": true, "candidates": ["[PAD]", "172", "174"], "k": 2}"#,
            #"{"session": [5], "candidates": [5, 5, 5], "k": 3}"#,
            #"{"session": [5], "candidates": [1, 2, 0], "k": 3}"#,
            #"{"session": [5], "allow": [0], "k": 3}"#,
            #"{"session": ["50"], "external": true, "skip_unknown": true, "candidates": ["172", "nope", "nope2"], "k": 2}"#,
            #"{"session": [5], "candidates": [900, 5, 900], "k": 2}"#,
        ]
        try lines.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let run = try Self.run(["recommend", "--model", "Models/sasrec-ml100k.seqrec", "--input", input, "--format", "jsonl"])
        let output = run.stdout.split(separator: "\n").map(String.init)
        try #require(output.count == lines.count, "\(run.stdout) \(run.stderr)")
        #expect(output[0].contains(#"candidates: item id 0 ('[PAD]') at position 0 is not a recommendable id"#), "\(output[0])")
        #expect(output[1].contains("k: 3 exceeds the 1 distinct candidates"), "\(output[1])")
        #expect(output[2].contains("candidates: item id 0 ('[PAD]') at position 2"), "\(output[2])")
        #expect(output[3].contains("allow: item id 0 ('[PAD]')"), "\(output[3])")
        #expect(output[4].contains("k: 2 exceeds the 1 distinct candidates"), "skip-unknown runs first: \(output[4])")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(output[5].utf8)) as? [String: Any])
        #expect(Set((answer["items"] as? [NSNumber] ?? []).map(\.intValue)) == [5, 900])
        #expect(run.status != 0 && run.stderr.contains("5 of 6 input lines failed"))
    }

    /// CRLF line ends (a file saved on Windows) and blank lines: still one answer per object, and an
    /// error names the line of the file.
    @Test func jsonlWithCRLFAndBlankLinesNamesFileLines() throws {
        let model = try Self.converted("gru4rec-official-ml100k-separate")
        defer { try? FileManager.default.removeItem(atPath: model) }
        let input = Self.temporary("crlf.jsonl")
        try "{\"session\": [0, 5]}\r\n\r\n{\"session\": [3], \"k\": 2}\r\nnot json\r\n".write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let run = try Self.run(["recommend", "--model", model, "--input", input, "--k", "4", "--format", "jsonl"])
        let output = run.stdout.split(separator: "\n").map(String.init)
        #expect(output.count == 3)
        #expect(output[0].hasPrefix(#"{"items": "#) && output[1].hasPrefix(#"{"items": "#))
        #expect(output[2].contains("line 4: not a JSON object"), "\(output)")
    }

    @Test func benchPrintsOneJSONObjectWithPercentilesAndAllocations() throws {
        let run = try Self.run(["bench", "--model", "Models/sasrec-ml100k.seqrec", "--batch", "2", "--k", "10",
                                "--kernels", "simd", "--format", "json", "--max-seconds", "0.2", "--repeats", "1",
                                "--warmup", "5", "--min-iterations", "5"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        for key in ["p50_us", "p90_us", "p99_us", "iterations", "allocs_per_request"] {
            #expect(json?[key] is NSNumber, "missing \(key) in \(run.stdout)")
        }
        #expect((json?["allocs_per_request"] as? NSNumber)?.doubleValue == 0)
    }

    @Test func demoServesTheModelAndPrintsTitles() throws {
        let run = try Self.run(["demo", "--k", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("over TCP"))
        #expect(run.stdout.contains("session: Star Wars → Return of the Jedi"))
        #expect(run.stdout.split(separator: "\n").filter { $0.contains("score") }.count == 3)
    }

    /// A model without a vocabulary has no external ids: the demo must send (and print) internal ones.
    @Test func demoServesAModelWithoutVocabulary() throws {
        let model = try Self.converted("pmixer-sasrec-v1-ml1m-e601")
        defer { try? FileManager.default.removeItem(atPath: model) }
        let run = try Self.run(["demo", "--model", model, "--session", "1; 2; 3", "--k", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").filter { $0.contains("score") }.count == 3, "\(run.stdout)")
    }
}

import Foundation
import Testing
@testable import SeqRecCore

/// `seqrec convert --verify`: a file is kept only when it reproduces the folder's golden.json (the parity rule of
/// `GoldenComparison`); a golden.json with one perturbed value refuses the file, and a broken golden.json is a
/// one-line error naming the field.
@Suite("Golden verification", .serialized)
struct GoldenVerifierTests {
    /// A copy of a fixture folder whose golden.json has been passed through `edit`.
    static func folder(_ fixture: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let folder = try FormatTestSupport.temporaryDirectory().appendingPathComponent(fixture)
        try FileManager.default.copyItem(atPath: FormatTestSupport.fixture(fixture), toPath: folder.path)
        let goldenURL = folder.appendingPathComponent("golden.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: goldenURL)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: goldenURL)
        return folder
    }

    static func editCase(_ json: inout [String: Any], _ index: Int, _ edit: (inout [String: Any]) -> Void) {
        var cases = json["cases"] as! [[String: Any]]
        edit(&cases[index])
        json["cases"] = cases
    }

    /// Runs a verified conversion into a fresh path; returns the output path and the error, if any.
    static func convert(_ folder: URL, verify: Bool? = nil) throws -> (output: String, error: Error?) {
        let output = folder.deletingLastPathComponent().appendingPathComponent("out.seqrec").path
        do {
            try VerifiedConversion.convert(folder: folder.path, output: output, verify: verify)
            return (output, nil)
        } catch {
            return (output, error)
        }
    }

    @Test(arguments: ["pmixer-sasrec-v3-wiki-prenorm", "recbole-gru4rec-ml100k"])
    func goodGoldenPassesAndKeepsTheFile(fixture: String) throws {
        let folder = try Self.folder(fixture)
        let output = folder.deletingLastPathComponent().appendingPathComponent("out.seqrec").path
        let summary = try #require(try VerifiedConversion.convert(folder: folder.path, output: output, verify: nil))
        #expect(summary.cases == 128 && summary.fullVectors == 8 && summary.paths == GoldenVerifier.everyKernelPath)
        #expect(summary.paths.count >= 2 && summary.paths.first == .forced(.blas))
        #expect(FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.deletingLastPathComponent().path).sorted()
                == [fixture, "out.seqrec"].sorted())  // no temporary file left behind
    }

    @Test func onePerturbedFullScoreRefusesTheFile() throws {
        // pmixer v3 case 0: item 278 scores 4.469 and the case's largest |score| is 8.935; 1e-3 · 8.935 is 10× the
        // tolerance.
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm") { json in
            Self.editCase(&json, 0) { entry in
                var scores = entry["scores"] as! [Double]
                scores[278] += 1e-3 * 8.935303688049316
                entry["scores"] = scores
            }
        }
        let (output, error) = try Self.convert(folder)
        let mismatch = try #require(error as? GoldenMismatch)
        #expect(mismatch.description.contains("case 0 [blas]: score of item 278"), "\(mismatch)")
        #expect(mismatch.description.contains("out.seqrec not written"))
        #expect(!mismatch.description.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.deletingLastPathComponent().path) == [folder.lastPathComponent])
    }

    @Test func aPerturbationInsideTheToleranceStillPasses() throws {
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm") { json in
            Self.editCase(&json, 0) { entry in
                var scores = entry["scores"] as! [Double]
                scores[278] += 0.5e-4 * 8.935303688049316
                entry["scores"] = scores
            }
        }
        #expect(try Self.convert(folder).error == nil)
    }

    @Test func swappedTopItemsRefuseTheFile() throws {
        // Case 20 has no full vector: only its top list is compared. Ranks 3 and 4 (2.041 and 1.157) are far apart.
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm") { json in
            Self.editCase(&json, 20) { entry in
                var top = entry["top"] as! [[Any]]  // items stay integers in the rewritten file
                (top[2][0], top[3][0]) = (top[3][0], top[2][0])
                entry["top"] = top
            }
        }
        let error = try #require(try Self.convert(folder).error as? GoldenMismatch)
        #expect(error.description.contains("case 20 [blas]: rank 3 is item 34, upstream item 575"), "\(error)")
    }

    @Test func aPerturbedTopScoreRefusesTheFile() throws {
        let folder = try Self.folder("recbole-gru4rec-ml100k") { json in
            Self.editCase(&json, 50) { entry in
                var top = entry["top"] as! [[Any]]
                top[0][1] = (top[0][1] as! Double) * 1.01
                entry["top"] = top
            }
        }
        let error = try #require(try Self.convert(folder).error as? GoldenMismatch)
        #expect(error.description.contains("case 50 [blas]: rank 1 scores"), "\(error)")
    }

    @Test func anExistingOutputSurvivesARefusal() throws {
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm") { json in
            Self.editCase(&json, 1) { entry in entry["session"] = [5_000] }  // no such item: the model has 1,001 rows
        }
        let output = folder.deletingLastPathComponent().appendingPathComponent("out.seqrec").path
        try Data("previous model".utf8).write(to: URL(fileURLWithPath: output))
        let error = try #require(try Self.convert(folder).error as? GoldenMismatch)
        #expect(error.description.contains("case 1:"), "\(error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "previous model")
    }

    @Test func verifyWithoutGoldenIsAnErrorAndNoVerifySkips() throws {
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("golden.json"))
        let required = try Self.convert(folder, verify: true)
        #expect((required.error as? FormatError)?.field == "file")
        #expect(!FileManager.default.fileExists(atPath: required.output))
        let implicit = try Self.convert(folder, verify: nil)
        #expect(implicit.error == nil && FileManager.default.fileExists(atPath: implicit.output))
    }

    @Test func noVerifyKeepsAFileTheGoldenWouldRefuse() throws {
        let folder = try Self.folder("pmixer-sasrec-v3-wiki-prenorm") { json in
            Self.editCase(&json, 20) { entry in
                var top = entry["top"] as! [[Any]]
                top[0][1] = (top[0][1] as! Double) + 1
                entry["top"] = top
            }
        }
        #expect(try Self.convert(folder, verify: nil).error is GoldenMismatch)
        let skipped = try Self.convert(folder, verify: false)
        #expect(skipped.error == nil && FileManager.default.fileExists(atPath: skipped.output))
    }

    /// Broken golden files: each is a `FormatError` naming the field, never a crash.
    @Test(arguments: [
        ("not json", "golden.json"),
        (#"[1, 2]"#, "golden.json"),
        (#"{"cases": [{"session": [1], "top": [[1, 0.5]]}]}"#, "k"),
        (#"{"k": 0, "cases": [{"session": [1], "top": [[1, 0.5]]}]}"#, "k"),
        (#"{"k": 10, "cases": []}"#, "cases"),
        (#"{"k": 10, "cases": [7]}"#, "cases[0]"),
        (#"{"k": 10, "cases": [{"top": [[1, 0.5]]}]}"#, "cases[0].session"),
        (#"{"k": 10, "cases": [{"session": [], "top": []}]}"#, "cases[0].session"),
        (#"{"k": 10, "cases": [{"session": [1, "2"], "top": []}]}"#, "cases[0].session[1]"),
        (#"{"k": 10, "cases": [{"session": [-1], "top": []}]}"#, "cases[0].session[0]"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [[1]]}]}"#, "cases[0].top[0]"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [[1, "x"]]}]}"#, "cases[0].top[0][1]"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [[1.5, 2]]}]}"#, "cases[0].top[0][0]"),
        (#"{"k": 1, "cases": [{"session": [1], "top": [[1, 2], [2, 1]]}]}"#, "cases[0].top"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [], "scores": 3}]}"#, "cases[0].scores"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [], "scores": [1, true]}]}"#, "cases[0].scores[1]"),
        (#"{"k": 10, "cases": [{"session": [1], "top": [], "scores": [1e300]}]}"#, "cases[0].scores[0]"),
    ])
    func brokenGoldenFileNamesTheField(text: String, field: String) {
        do {
            _ = try GoldenFile(data: Data(text.utf8), file: "g.json")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func goldenFileReadsEveryFixture() throws {
        for name in FormatTestSupport.fixtureNames {
            let golden = try GoldenFile(path: FormatTestSupport.fixture(name) + "/golden.json")
            #expect(golden.k == 100 && golden.cases.count == 128, "\(name)")
            #expect(golden.cases.prefix(8).allSatisfy { $0.scores != nil } && golden.cases.dropFirst(8).allSatisfy { $0.scores == nil })
        }
    }
}

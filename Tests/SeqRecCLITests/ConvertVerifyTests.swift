import Foundation
import Testing

/// `seqrec convert` checks the converted file against the folder's golden.json by default: a refused file is one
/// line on stderr, exit 1, and no output file.
@Suite("seqrec convert --verify")
struct ConvertVerifyTests {
    typealias CLI = CommandLineTests

    /// A copy of the pmixer v3 fixture whose golden case 3 has one far-off full score.
    static func perturbedFixture() throws -> URL {
        let folder = URL(fileURLWithPath: CLI.temporary("pmixer-v3"))
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent("pmixer-sasrec-v3-wiki-prenorm"), to: folder)
        let goldenURL = folder.appendingPathComponent("golden.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: goldenURL)) as! [String: Any]
        var cases = json["cases"] as! [[String: Any]]
        var scores = cases[3]["scores"] as! [Double]
        scores[17] += 1
        cases[3]["scores"] = scores
        json["cases"] = cases
        try JSONSerialization.data(withJSONObject: json).write(to: goldenURL)
        return folder
    }

    @Test func goodFolderIsVerifiedByDefault() throws {
        let output = CLI.temporary("v3.seqrec")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let run = try CLI.run(["convert", CLI.fixtures.appendingPathComponent("pmixer-sasrec-v3-wiki-prenorm").path, "-o", output])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("verified: 128 golden cases (8 full score vectors) match on blas, simd-"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: output))
    }

    @Test func perturbedGoldenRefusesTheFile() throws {
        let folder = try Self.perturbedFixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = CLI.temporary("bad.seqrec")
        let run = try CLI.run(["convert", folder.path, "-o", output])
        #expect(run.status == 1)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("seqrec: "), "\(run.stderr)")
        #expect(run.stderr.contains("case 3 [blas]: score of item 17") && run.stderr.contains("not written"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))

        let skipped = try CLI.run(["convert", folder.path, "-o", output, "--no-verify"])
        defer { try? FileManager.default.removeItem(atPath: output) }
        #expect(skipped.status == 0 && !skipped.stdout.contains("verified") && FileManager.default.fileExists(atPath: output))
    }

    @Test func verifyAndNoVerifyTogetherIsAUsageError() throws {
        let run = try CLI.run(["convert", CLI.fixtures.appendingPathComponent("pmixer-sasrec-v3-wiki-prenorm").path,
                               "-o", CLI.temporary("x.seqrec"), "--verify", "--no-verify"])
        #expect(run.status == 2 && run.stderr.contains("not both"), "\(run.stderr)")
    }
}

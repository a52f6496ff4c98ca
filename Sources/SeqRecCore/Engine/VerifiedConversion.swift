import Foundation

/// `seqrec convert` with `--verify`: a folder that carries upstream's `golden.json` is converted to a temporary file
/// beside the output, the file is loaded and run on every golden case (`GoldenVerifier`), and only a file that
/// reproduces upstream is renamed into place. A refused file is removed; an existing output is left untouched.
public enum VerifiedConversion {
    public static let goldenName = "golden.json"

    /// - Parameter verify: true = required (the folder must have golden.json), false = skipped, nil = when the
    ///   folder has golden.json.
    /// - Returns: what was verified, or nil when nothing was.
    @discardableResult
    /// - Parameter popularity: an interaction file to store as the model's popularity (`FixtureImporter`).
    public static func convert(folder: String, output: String, verify: Bool?, popularity: String? = nil,
                               report: (String) -> Void = { _ in }) throws -> GoldenVerifier.Summary? {
        let goldenPath = URL(fileURLWithPath: folder).appendingPathComponent(goldenName).path
        let hasGolden = FileManager.default.fileExists(atPath: goldenPath)
        if verify == true && !hasGolden {
            throw FormatError(file: goldenPath, field: "file", problem: "not found, so the conversion cannot be verified",
                              hint: "write it with the exporter's --golden, or convert with --no-verify")
        }
        guard verify ?? hasGolden else {
            try FixtureImporter.convert(folder: folder, output: output, popularity: popularity, report: report)
            return nil
        }
        let golden = try GoldenFile(path: goldenPath)
        let temporary = output + ".verifying-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try FixtureImporter.convert(folder: folder, output: temporary, popularity: popularity, report: report)
            let summary = try GoldenVerifier.verify(modelPath: temporary, golden: golden)
            guard rename(temporary, output) == 0 else {
                throw FormatError(file: output, field: "file", problem: "cannot be written: \(String(cString: strerror(errno)))")
            }
            return summary
        } catch let mismatch as GoldenMismatch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw GoldenMismatch(description: "\(goldenPath): \(mismatch.description); \(output) not written "
                + "(the converted model does not reproduce upstream's outputs; --no-verify skips this check)")
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}

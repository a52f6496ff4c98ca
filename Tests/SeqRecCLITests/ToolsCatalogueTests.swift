import Foundation
import SeqRecTestSupport
import Testing

/// The Python exporters' catalogue of user mistakes (Tools/tests/test_exporter_errors.py: truncated checkpoints,
/// the wrong exporter for a checkpoint, missing dataset folders, misspelt flags, pmixer settings that contradict
/// upstream's args.txt or file name, ...): each must be one line and a non-zero exit, with no output folder. The
/// catalogue needs only python3's standard library (no torch, no numpy), so CI runs it through this test.
@Suite("Tools exporters' error catalogue")
struct ToolsCatalogueTests {
    @Test func everyMistakeIsOneLineAndANonZeroExit() throws {
        let run = try runProcess("/usr/bin/env", ["python3", "-m", "unittest", "discover", "-s", "Tools/tests", "-p", "test_exporter_errors.py"])
        let text = run.output
        #expect(run.status == 0, "python3 -m unittest Tools/tests/test_exporter_errors.py:\n\(text)")
        #expect(text.contains("OK") && !text.contains("skipped"), "\(text)")
    }
}

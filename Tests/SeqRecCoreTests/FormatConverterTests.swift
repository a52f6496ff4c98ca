import Foundation
import Testing
@testable import SeqRecCore

@Suite("Format: fixture conversion")
struct FormatConverterTests {
    @Test("every fixture converts, opens and inspects", arguments: FormatTestSupport.fixtureNames)
    func convertsFixture(_ name: String) throws {
        let output = try FormatTestSupport.temporaryDirectory().appendingPathComponent("\(name).seqrec").path
        try FixtureImporter.convert(folder: FormatTestSupport.fixture(name), output: output)
        let file = try ModelFile.open(path: output)
        print(ModelInspector.describe(file))
    }
}

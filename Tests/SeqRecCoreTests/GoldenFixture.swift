import Foundation
@testable import SeqRecCore
import SeqRecTestSupport

/// A fixture folder of `Tests/Fixtures` (upstream checkpoint + golden outputs, see its README).
struct GoldenFixture {
    struct Case {
        let session: [Int32]
        let top: [(item: Int32, score: Float)]
        let scores: [Float?]?
    }

    let name: String
    let cases: [Case]

    static let root = PackagePaths.fixtures

    /// The shipped default model's source folder also carries upstream golden outputs.
    static let shippedModel = "Models/recbole-sasrec-ml100k"

    static let names = [
        "recbole-sasrec-ml100k", "recbole-bert4rec-ml100k", "recbole-gru4rec-ml100k",
        "pmixer-sasrec-v1-ml1m-e601", "pmixer-sasrec-v2-ml1m-e720", "pmixer-sasrec-v3-wiki-prenorm",
        "gru4rec-official-ml100k-separate", "gru4rec-official-video", shippedModel,
    ]

    private static func location(_ name: String) -> URL {
        name.hasPrefix("Models/") ? PackagePaths.root.appendingPathComponent(name)
                                  : root.appendingPathComponent(name)
    }

    var folder: String { Self.location(name).path }

    init(_ name: String) throws {
        self.name = name
        // The library's reader (also behind `seqrec convert --verify`) checks every field.
        let golden = try GoldenFile(path: Self.location(name).appendingPathComponent("golden.json").path)
        cases = golden.cases.map { Case(session: $0.session, top: $0.top.map { ($0.item, $0.score) }, scores: $0.scores) }
    }

    /// Converts the fixture with the real conversion tool into a temporary model file.
    func convert() throws -> String {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("seqrec-test-\(UUID().uuidString).seqrec").path
        try FixtureImporter.convert(folder: folder, output: output)
        return output
    }
}

import Foundation
@testable import SeqRecCore

/// A fixture folder of `Tests/Fixtures` (upstream checkpoint + golden outputs, see its README).
struct GoldenFixture {
    struct Case {
        let session: [Int32]
        let top: [(item: Int32, score: Float)]
        let scores: [Float?]?
    }

    let name: String
    let cases: [Case]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The shipped default model's source folder also carries upstream golden outputs.
    static let shippedModel = "Models/recbole-sasrec-ml100k"

    static let names = [
        "recbole-sasrec-ml100k", "recbole-bert4rec-ml100k", "recbole-gru4rec-ml100k",
        "pmixer-sasrec-v1-ml1m-e601", "pmixer-sasrec-v2-ml1m-e720", "pmixer-sasrec-v3-wiki-prenorm",
        "gru4rec-official-ml100k-separate", "gru4rec-official-video", shippedModel,
    ]

    private static func location(_ name: String) -> URL {
        name.hasPrefix("Models/") ? root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name)
                                  : root.appendingPathComponent(name)
    }

    var folder: String { Self.location(name).path }

    init(_ name: String) throws {
        self.name = name
        let data = try Data(contentsOf: Self.location(name).appendingPathComponent("golden.json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        cases = (json["cases"] as! [[String: Any]]).map { entry in
            // Golden scores are the shortest decimals of float32 values: read through Double, round once.
            let top = (entry["top"] as! [[NSNumber]]).map { (Int32($0[0].intValue), Float($0[1].doubleValue)) }
            let scores = (entry["scores"] as? [Any]).map { list in
                list.map { value -> Float? in (value as? NSNumber).map { Float($0.doubleValue) } }
            }
            return Case(session: (entry["session"] as! [NSNumber]).map { Int32($0.intValue) }, top: top, scores: scores)
        }
    }

    /// Converts the fixture with the real conversion tool into a temporary model file.
    func convert() throws -> String {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("seqrec-test-\(UUID().uuidString).seqrec").path
        try FixtureImporter.convert(folder: folder, output: output)
        return output
    }
}

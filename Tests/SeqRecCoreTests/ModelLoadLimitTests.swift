import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// A file can be valid and still describe a model no machine can run: load must say so, not crash.
@Suite("Model load limits")
struct ModelLoadLimitTests {
    /// RecBole SASRec with a 100,000-item window and a 65,536-wide feed-forward layer: under 3 MB on disk
    /// (the position table and two thin dense layers), but terabytes of per-context scratch.
    static func oversizedFile() throws -> String {
        let hyperparameters = Hyperparameters([
            ("hidden_size", .int(2)), ("inner_size", .int(65_536)), ("n_layers", .int(1)), ("n_heads", .int(1)),
            ("hidden_act", .string("gelu")), ("layer_norm_eps", .float(1e-12)),
            ("MAX_ITEM_LIST_LENGTH", .int(100_000)), ("n_items", .int(5)),
        ])
        var writer = ModelFileWriter(family: .recboleSASRec, hyperparameters: hyperparameters, vocabulary: nil)
        for spec in FamilySchema.expectedTensors(.recboleSASRec, hyperparameters) {
            writer.addTensor(spec.name, shape: spec.shape, values: [Float](repeating: 0.01, count: spec.shape.reduce(1, *)))
        }
        return try FormatTestSupport.write(try writer.serialize())
    }

    @Test func scratchBeyondTheLimitIsALoadErrorNamingTheBatchLimit() throws {
        let path = try Self.oversizedFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            _ = try Recommender(path: path, maxBatch: 64)
        } throws: { error in
            let text = "\(error)"
            return error is ModelLoadError && text.contains("scratch memory") && text.contains("batch limit of 64")
                && text.contains("window of 100000")
        }
    }

    @Test func theShippedModelLoadsAtTheLargestBatchLimit() throws {
        let path = PackagePaths.model("sasrec-ml100k")
        let recommender = try Recommender(path: path, maxBatch: 1_024)
        #expect(recommender.maxBatch == 1_024)
    }
}

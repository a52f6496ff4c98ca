import Foundation
import Testing
@testable import SeqRecCore

/// gru4rec-official embedding modes: derived from the tensor names, cross-checked with config.json.
@Suite("Format: gru4rec-official import modes")
struct FormatGRU4RecImportTests {
    func convert(mode: String, hyperparameters: String) throws -> ModelFile {
        let directory = try FormatTestSupport.temporaryDirectory()
        let weights = SafetensorsBuilder(family: .gru4recOfficial,
                                         hyperparameters: FormatTestSupport.smallHyperparameters(.gru4recOfficial, mode: mode))
        try Data(weights.build()).write(to: directory.appendingPathComponent("weights.safetensors"))
        let config = #"{"family":"gru4rec-official","n_items":5,"hyperparameters":\#(hyperparameters)}"#
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        let output = directory.appendingPathComponent("out.seqrec").path
        try FixtureImporter.convert(folder: directory.path, output: output)
        return try ModelFile.open(path: output)
    }

    @Test("each mode converts; mode and embedding width are derived", arguments: [
        ("constrained", #"{"layers":[4,3],"constrained_embedding":true,"embedding":0}"#, 0),
        ("constrained", #"{"layers":[4,3]}"#, 0),
        ("separate", #"{"layers":[4,3],"constrained_embedding":false,"embedding":2}"#, 2),
        ("separate", #"{"layers":[4,3]}"#, 2),
        ("onehot", #"{"layers":[4],"constrained_embedding":false,"embedding":0,"embedding_mode":"onehot"}"#, 0),
        // Tools/export_gru4rec_official.py writes "one-hot"; files store "onehot".
        ("onehot", #"{"layers":[4],"embedding_mode":"one-hot","output_bias":true,"constrained_embedding":false,"embedding":0}"#, 0),
    ])
    func modes(_ mode: String, _ hyperparameters: String, _ embedding: Int) throws {
        let file = try convert(mode: mode, hyperparameters: hyperparameters)
        #expect(file.hyperparameters.string("embedding_mode") == mode)
        #expect(file.hyperparameters.int("embedding") == embedding)
        #expect(file.tensor("By.weight")?.shape == [5, 1])
    }

    @Test("\"layersize\" embedding means layers[0]")
    func layersize() throws {
        let directory = try FormatTestSupport.temporaryDirectory()
        var hyperparameters = FormatTestSupport.smallHyperparameters(.gru4recOfficial, mode: "separate")
        hyperparameters.entries[2].value = .int(4)
        try Data(SafetensorsBuilder(family: .gru4recOfficial, hyperparameters: hyperparameters).build())
            .write(to: directory.appendingPathComponent("weights.safetensors"))
        let config = #"{"family":"gru4rec-official","n_items":5,"hyperparameters":{"layers":[4,3],"constrained_embedding":false,"embedding":"layersize"}}"#
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        let output = directory.appendingPathComponent("out.seqrec").path
        try FixtureImporter.convert(folder: directory.path, output: output)
        #expect(try ModelFile.open(path: output).hyperparameters.int("embedding") == 4)
    }

    @Test("config that contradicts the weights is an error", arguments: [
        ("separate", #"{"layers":[4,3],"constrained_embedding":true,"embedding":2}"#, "constrained_embedding"),
        ("constrained", #"{"layers":[4,3],"embedding_mode":"separate"}"#, "embedding_mode"),
        ("onehot", #"{"layers":[4],"constrained_embedding":false,"embedding":8}"#, "select separate mode"),
        ("separate", #"{"layers":[4,3],"constrained_embedding":false,"embedding":3}"#, "'E.weight'.shape: is [5, 2], expected [5, 3]"),
        ("separate", #"{"layers":[4,3],"embedding_mode":"one-hot"}"#, "is 'one-hot' but the weights are in separate mode"),
        ("onehot", #"{"layers":[4],"embedding_mode":"one_hot"}"#, "hyperparameters.embedding_mode: is 'one_hot', expected constrained, separate, onehot or one-hot"),
        ("onehot", #"{"layers":[4],"embedding_mode":1}"#, "hyperparameters.embedding_mode: is an integer, expected"),
        ("onehot", #"{"layers":[4],"embeding":0}"#, "hyperparameters.embeding: is not a hyperparameter of gru4rec-official; did you mean 'embedding'?"),
    ])
    func contradictions(_ mode: String, _ hyperparameters: String, _ fragment: String) {
        #expect {
            _ = try convert(mode: mode, hyperparameters: hyperparameters)
        } throws: { error in
            "\(error)".contains(fragment) && !"\(error)".contains("\n")
        }
    }

    @Test("the real separate-mode fixture with a contradicting config is rejected")
    func realFixtureContradiction() throws {
        let source = URL(fileURLWithPath: FormatTestSupport.fixture("gru4rec-official-ml100k-separate"))
        let directory = try FormatTestSupport.temporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("weights.safetensors"),
                                         to: directory.appendingPathComponent("weights.safetensors"))
        var config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: #""constrained_embedding": false"#, with: #""constrained_embedding": true"#)
        config = config.replacingOccurrences(of: #""embedding_mode": "separate","#, with: "")
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        #expect {
            try FixtureImporter.convert(folder: directory.path, output: directory.appendingPathComponent("o").path)
        } throws: { error in
            "\(error)".contains("constrained_embedding/embedding select constrained mode but the weights are in separate mode")
        }
    }
}

import Foundation
import Testing
@testable import SeqRecCore

/// Every shipped fixture converts; the result opens with the expected family, hyperparameters, shapes,
/// vocabulary and bit-identical tensor data, and `inspect` prints them.
@Suite("Format: fixture conversion")
struct FormatConverterTests {
    struct Expectation: Sendable, CustomStringConvertible {
        let fixture: String
        let family: ModelFamily
        let hyperparameters: [(String, HyperparameterValue)]
        let shapes: [(String, [Int])]
        let tensorCount: Int
        /// (id, token, title) samples, or nil when the fixture has no vocab.tsv.
        let vocabulary: [(Int, String, String?)]?
        var description: String { fixture }
    }

    static let expectations: [Expectation] = [
        Expectation(fixture: "recbole-sasrec-ml100k", family: .recboleSASRec,
                    hyperparameters: [("hidden_size", .int(64)), ("inner_size", .int(256)), ("n_layers", .int(2)),
                                      ("n_heads", .int(2)), ("hidden_act", .string("gelu")),
                                      ("layer_norm_eps", .float(1e-12)), ("MAX_ITEM_LIST_LENGTH", .int(50)),
                                      ("n_items", .int(1683))],
                    shapes: [("item_embedding.weight", [1683, 64]), ("position_embedding.weight", [50, 64]),
                             ("trm_encoder.layer.1.feed_forward.dense_2.weight", [64, 256])],
                    tensorCount: 36, vocabulary: [(0, "[PAD]", nil), (1, "242", "Kolya"), (1682, "1641", "Dadetown")]),
        Expectation(fixture: "recbole-bert4rec-ml100k", family: .recboleBERT4Rec,
                    hyperparameters: [("hidden_size", .int(64)), ("n_heads", .int(2)), ("n_items", .int(1684)),
                                      ("MAX_ITEM_LIST_LENGTH", .int(50))],
                    shapes: [("item_embedding.weight", [1684, 64]), ("output_bias", [1683]),
                             ("output_ffn.weight", [64, 64]), ("output_ln.bias", [64])],
                    tensorCount: 41, vocabulary: [(0, "[PAD]", nil), (1, "242", "Kolya"), (1683, "[MASK]", nil)]),
        Expectation(fixture: "recbole-gru4rec-ml100k", family: .recboleGRU4Rec,
                    hyperparameters: [("embedding_size", .int(64)), ("hidden_size", .int(128)), ("num_layers", .int(1)),
                                      ("MAX_ITEM_LIST_LENGTH", .int(50)), ("n_items", .int(1683))],
                    shapes: [("gru_layers.weight_ih_l0", [384, 64]), ("gru_layers.weight_hh_l0", [384, 128]),
                             ("dense.weight", [64, 128])],
                    tensorCount: 5, vocabulary: [(0, "[PAD]", nil), (2, "302", "L.A. Confidential")]),
        Expectation(fixture: "pmixer-sasrec-v1-ml1m-e601", family: .pmixerSASRecV1,
                    hyperparameters: [("hidden_units", .int(50)), ("num_blocks", .int(2)), ("num_heads", .int(1)),
                                      ("maxlen", .int(200)), ("n_items", .int(3417)), ("layer_norm_eps", .float(1e-8))],
                    shapes: [("item_emb.weight", [3417, 50]), ("pos_emb.weight", [200, 50]),
                             ("forward_layers.1.conv2.weight", [50, 50, 1])],
                    tensorCount: 28, vocabulary: nil),
        Expectation(fixture: "pmixer-sasrec-v2-ml1m-e720", family: .pmixerSASRecV2,
                    hyperparameters: [("maxlen", .int(200)), ("n_items", .int(3417))],
                    shapes: [("pos_emb.weight", [201, 50]), ("attention_layers.0.in_proj_weight", [150, 50])],
                    tensorCount: 28, vocabulary: nil),
        Expectation(fixture: "pmixer-sasrec-v3-wiki-prenorm", family: .pmixerSASRecV3,
                    hyperparameters: [("hidden_units", .int(48)), ("num_heads", .int(2)), ("maxlen", .int(40)),
                                      ("n_items", .int(1001)), ("norm_first", .bool(true))],
                    shapes: [("pos_emb.weight", [41, 48]), ("item_emb.weight", [1001, 48])],
                    tensorCount: 28, vocabulary: nil),
        Expectation(fixture: "gru4rec-official-ml100k-separate", family: .gru4recOfficial,
                    hyperparameters: [("layers", .ints([96])), ("embedding_mode", .string("separate")),
                                      ("embedding", .int(32)), ("n_items", .int(1618))],
                    shapes: [("E.weight", [1618, 32]), ("G.0.weight_ih", [288, 32]), ("By.weight", [1618, 1])],
                    tensorCount: 7,
                    vocabulary: [(0, "168", "Monty Python and the Holy Grail"), (1617, "600", "Daniel Defoe's Robinson Crusoe")]),
        Expectation(fixture: "gru4rec-official-video", family: .gru4recOfficial,
                    hyperparameters: [("layers", .ints([100])), ("embedding_mode", .string("constrained")),
                                      ("embedding", .int(0)), ("n_items", .int(23496))],
                    shapes: [("Wy.weight", [23496, 100]), ("G.0.weight_ih", [300, 100]), ("By.weight", [23496, 1])],
                    tensorCount: 6, vocabulary: [(0, "6393", nil), (23495, "21622", nil)]),
    ]

    @Test("every fixture converts, opens, and matches its config and weights", arguments: expectations)
    func convertsFixture(_ expected: Expectation) throws {
        let folder = FormatTestSupport.fixture(expected.fixture)
        let output = try FormatTestSupport.temporaryDirectory().appendingPathComponent("model.seqrec").path
        try FixtureImporter.convert(folder: folder, output: output)
        let file = try ModelFile.open(path: output)

        #expect(file.family == expected.family)
        #expect(file.formatVersion == 1)
        #expect(file.tensors.count == expected.tensorCount)
        for (key, value) in expected.hyperparameters {
            #expect(file.hyperparameters.value(key) == value, "hyperparameter \(key)")
        }
        for (name, shape) in expected.shapes {
            #expect(file.tensor(name)?.shape == shape, "shape of \(name)")
        }
        for tensor in file.tensors {
            #expect(tensor.offset % 64 == 0, "\(tensor.name) is aligned")
        }

        if let samples = expected.vocabulary {
            let vocabulary = try #require(file.vocabulary)
            #expect(vocabulary.count == file.hyperparameters.int("n_items"))
            for (id, token, title) in samples {
                #expect(vocabulary.token(of: id) == token)
                #expect(vocabulary.title(of: id) == title)
                #expect(vocabulary.id(ofToken: token) == id)
            }
            #expect(vocabulary.token(of: vocabulary.count) == nil)
            #expect(vocabulary.id(ofToken: "no such item") == nil)
        } else {
            #expect(file.vocabulary == nil)
        }

        // The mapped views hold exactly the safetensors bytes.
        let weights = try SafetensorsReader(path: URL(fileURLWithPath: folder).appendingPathComponent("weights.safetensors").path)
        #expect(weights.entries.count == expected.tensorCount)
        for entry in weights.entries {
            let view = try #require(file.tensor(entry.name))
            #expect(view.shape == entry.shape)
            let original = TensorPayload.borrowed(weights.bytes(entry), owner: weights.owner).floatValues
            #expect(original.count == view.data.count)
            #expect(original.elementsEqual(view.data) { $0.bitPattern == $1.bitPattern }, "data of \(entry.name)")
        }
    }

    @Test("inspect prints header, hyperparameters, tensors, vocabulary and checksums")
    func inspectText() throws {
        let output = try FormatTestSupport.temporaryDirectory().appendingPathComponent("model.seqrec").path
        try FixtureImporter.convert(folder: FormatTestSupport.fixture("recbole-bert4rec-ml100k"), output: output)
        let file = try ModelFile.open(path: output)
        let text = ModelInspector.describe(file)
        for fragment in ["format version: 1", "alignment: 64", "family: recbole-bert4rec",
                         "hidden_act", "= \"gelu\" (string)", "n_items", "= 1684 (int)",
                         "tensors (41,", "item_embedding.weight", "f32", "[1684, 64]", "output_bias",
                         "vocabulary: 1684 items", "1683 -> [MASK]", "1 -> 242 \"Kolya\""] {
            #expect(text.contains(fragment), "inspect lacks '\(fragment)'")
        }
        for section in file.sections {
            #expect(text.contains(ModelFileReader.hex(section.checksum)), "inspect lacks the \(section.name) checksum")
        }
    }

    @Test("convert overwrites an existing output and the result is stable")
    func reconvertIsByteIdentical() throws {
        let directory = try FormatTestSupport.temporaryDirectory()
        let first = directory.appendingPathComponent("a.seqrec").path
        let second = directory.appendingPathComponent("b.seqrec").path
        let folder = FormatTestSupport.fixture("pmixer-sasrec-v3-wiki-prenorm")
        try FixtureImporter.convert(folder: folder, output: first)
        try FixtureImporter.convert(folder: folder, output: second)
        try FixtureImporter.convert(folder: folder, output: second)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == Data(contentsOf: URL(fileURLWithPath: second)))
    }
}

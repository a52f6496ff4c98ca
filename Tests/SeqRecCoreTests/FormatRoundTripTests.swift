import Foundation
import Testing
@testable import SeqRecCore

/// Writer → file → reader round trips for every family and mode, plus the pieces they rest on:
/// XXH64, hyperparameter accessors, vocabulary lookups and the mapping.
@Suite("Format: round trips and building blocks")
struct FormatRoundTripTests {
    static let cases: [(ModelFamily, String)] =
        ModelFamily.allCases.filter { $0 != .gru4recOfficial }.map { ($0, "constrained") }
        + ["constrained", "separate", "onehot"].map { (ModelFamily.gru4recOfficial, $0) }

    @Test("every family and mode round-trips through the writer and reader", arguments: cases)
    func roundTrip(_ family: ModelFamily, _ mode: String) throws {
        let writer = try FormatTestSupport.smallWriter(family, mode: mode)
        let path = try FormatTestSupport.write(try writer.serialize())
        let file = try ModelFile.open(path: path)
        #expect(file.family == family)
        #expect(file.hyperparameters.entries.map(\.key) == writer.hyperparameters.entries.map(\.key))
        for (key, value) in writer.hyperparameters.entries {
            #expect(file.hyperparameters.value(key) == value)
        }
        #expect(file.tensors.map(\.name) == writer.tensors.map(\.name))
        for tensor in writer.tensors {
            let view = try #require(file.tensor(tensor.name))
            #expect(view.shape == tensor.shape)
            #expect(Array(view.data) == tensor.payload.floatValues)
            #expect(Int(bitPattern: view.data.baseAddress) % 64 == 0, "\(tensor.name) is 64-byte aligned in memory")
        }
        #expect(file.tensor("no.such.tensor") == nil)
        #expect(file.vocabulary?.id(ofToken: "ITEM_4") == 4)
        #expect(file.vocabulary?.title(of: 2) == "Title 2")
    }

    @Test("expected tensor shapes follow MODELS.md for each family")
    func schemaShapes() {
        func shapes(_ family: ModelFamily, _ mode: String = "constrained") -> [String: [Int]] {
            let specs = FamilySchema.expectedTensors(family, FormatTestSupport.smallHyperparameters(family, mode: mode))
            return Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0.shape) })
        }
        #expect(shapes(.pmixerSASRecV1)["pos_emb.weight"] == [3, 4])
        #expect(shapes(.pmixerSASRecV2)["pos_emb.weight"] == [4, 4])
        #expect(shapes(.pmixerSASRecV3)["pos_emb.weight"] == [4, 4])
        #expect(shapes(.pmixerSASRecV2)["forward_layers.1.conv2.weight"] == [4, 4, 1])
        #expect(shapes(.recboleBERT4Rec)["output_bias"] == [4])
        #expect(shapes(.recboleSASRec)["output_bias"] == nil)
        #expect(shapes(.recboleGRU4Rec)["gru_layers.weight_ih_l0"] == [12, 3])
        #expect(shapes(.recboleGRU4Rec)["gru_layers.weight_ih_l1"] == [12, 4])
        #expect(shapes(.gru4recOfficial)["G.0.weight_ih"] == [12, 3])  // constrained: in_0 = D_last
        #expect(shapes(.gru4recOfficial)["G.1.weight_ih"] == [9, 4])
        #expect(shapes(.gru4recOfficial)["By.weight"] == [5, 1])
        #expect(shapes(.gru4recOfficial, "separate")["G.0.weight_ih"] == [12, 2])
        #expect(shapes(.gru4recOfficial, "separate")["E.weight"] == [5, 2])
        let onehot = shapes(.gru4recOfficial, "onehot")
        #expect(onehot["GE.Wx0.weight"] == [5, 12])
        #expect(onehot["GE.Wrz0"] == [4, 8])
        #expect(onehot.keys.contains { $0.hasPrefix("G.") } == false)
    }

    @Test("invalid hyperparameters expect no tensors instead of trapping")
    func expectedTensorsOfInvalidHyperparameters() {
        let absurd = Hyperparameters([("layers", .ints([Int64.max])), ("embedding_mode", .string("constrained")),
                                      ("embedding", .int(0)), ("n_items", .int(-1))])
        #expect(FamilySchema.expectedTensors(.gru4recOfficial, absurd).isEmpty)
        let negative = Hyperparameters([("embedding_size", .int(3)), ("hidden_size", .int(4)), ("num_layers", .int(-2)),
                                        ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        #expect(FamilySchema.expectedTensors(.recboleGRU4Rec, negative).isEmpty)
    }

    @Test("gru4rec-official mode rules", arguments: [
        ("onehot", [Int64(4), 3], "onehot mode supports exactly 1"),
        ("separate", [Int64(4)], "'embedding': is 0, expected 1"),
        ("wide", [Int64(4)], "expected one of constrained, separate, onehot"),
    ])
    func gru4recModeRules(_ mode: String, _ layers: [Int64], _ fragment: String) {
        let hyperparameters = Hyperparameters([("layers", .ints(layers)), ("embedding_mode", .string(mode)),
                                               ("embedding", .int(0)), ("n_items", .int(5))])
        #expect {
            try FamilySchema.validate(hyperparameters, family: .gru4recOfficial, file: "x")
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    @Test("XXH64 matches published test vectors", arguments: [
        ("", UInt64(0xEF46_DB37_51D8_E999)),
        ("a", 0xD24E_C4F1_A98C_6E5B),
        ("abc", 0x44BC_2CF5_AD77_0999),
        ("xxhash", 0x32DD_3895_2C4B_C720),
        ("abcdefghijklmnopqrstuvwxyz12345", 0x4676_0590_1B01_D6F6),
    ])
    func xxh64Vectors(_ text: String, _ expected: UInt64) {
        #expect(Checksum.xxh64(Array(text.utf8)) == expected)
    }

    /// Published vectors over the ASCII run "0123456789:;<=>?@ABC…" of the given length: these reach the
    /// four-lane stripe loop (≥ 32 bytes) and every tail path.
    @Test("XXH64 matches published vectors of the ASCII run from '0'", arguments: [
        (1, UInt64(0x6334_5708_1244_AFEC)), (4, 0x4C33_072B_4564_7DCB), (8, 0xE4BA_22A4_9AD8_9D3F),
        (15, 0x7A85_916D_8CAC_500A), (32, 0x96EE_2FA9_35FD_D556), (33, 0xA5CD_C694_0C6F_DE9E),
        (43, 0xF5F5_3C79_824B_7AE5), (65, 0xEDDC_E6EC_01F7_E595),
    ])
    func xxh64LongVectors(_ length: Int, _ expected: UInt64) {
        #expect(Checksum.xxh64((0 ..< length).map { UInt8(48 + $0) }) == expected)
    }

    @Test("XXH64 covers every byte of long inputs")
    func xxh64LongInputs() {
        let base = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let reference = Checksum.xxh64(base)
        for position in [0, 31, 32, 500, 991, 996, 999] {
            var changed = base
            changed[position] ^= 1
            #expect(Checksum.xxh64(changed) != reference, "byte \(position) changes the hash")
        }
        #expect(Checksum.xxh64(Array(base.prefix(999))) != reference)
    }

    @Test("hyperparameter accessors are typed")
    func accessors() {
        let values = Hyperparameters([("a", .int(3)), ("b", .float(0.5)), ("c", .bool(true)), ("d", .string("x")),
                                      ("e", .ints([1, 2]))])
        #expect(values.int("a") == 3)
        #expect(values.float("a") == nil)
        #expect(values.float("b") == 0.5)
        #expect(values.bool("c") == true)
        #expect(values.string("d") == "x")
        #expect(values.ints("e") == [1, 2])
        #expect(values.int("missing") == nil)
    }

    @Test("opening a missing file or a directory fails with the errno text")
    func mappingErrors() throws {
        #expect {
            _ = try ModelFile.open(path: "/nonexistent/model.seqrec")
        } throws: { error in
            "\(error)".contains("/nonexistent/model.seqrec: file: open failed: No such file or directory")
        }
        let directory = try FormatTestSupport.temporaryDirectory().path
        #expect {
            _ = try ModelFile.open(path: directory)
        } throws: { error in
            "\(error)".contains("not a regular file")
        }
    }

    @Test("the writer refuses models that break the schema")
    func writerValidates() throws {
        var writer = try FormatTestSupport.smallWriter(.pmixerSASRecV2)
        writer.addTensor("extra", shape: [1], values: [0])
        #expect(throws: FormatError.self) { try writer.serialize() }
        var short = try FormatTestSupport.smallWriter(.pmixerSASRecV2, withVocabulary: false)
        short.vocabulary = try Vocabulary(tokens: ["a", "b"])
        #expect { try short.serialize() } throws: { "\($0)".contains("has 2 entries but n_items is 5") }
    }
}

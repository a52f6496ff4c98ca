import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// Shared helpers of the Format tests: fixture paths, temporary files, small valid models per family.
enum FormatTestSupport {
    static func fixture(_ name: String) -> String { PackagePaths.fixture(name) }

    static let fixtureNames = [
        "recbole-sasrec-ml100k", "recbole-bert4rec-ml100k", "recbole-gru4rec-ml100k",
        "pmixer-sasrec-v1-ml1m-e601", "pmixer-sasrec-v2-ml1m-e720", "pmixer-sasrec-v3-wiki-prenorm",
        "gru4rec-official-ml100k-separate", "gru4rec-official-video",
    ]

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("seqrec-format-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], name: String = "model.seqrec") throws -> String {
        let url = try temporaryDirectory().appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Opens `bytes` as a model file and returns the error, or nil if it opened.
    static func openError(_ bytes: [UInt8]) throws -> FormatError? {
        let path = try write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ModelFile.open(path: path)
            return nil
        } catch let error as FormatError {
            return error
        }
    }

    /// Small, valid hyperparameters for each family (and each gru4rec-official mode).
    static func smallHyperparameters(_ family: ModelFamily, mode: String = "constrained") -> Hyperparameters {
        switch family {
        case .recboleSASRec, .recboleBERT4Rec:
            Hyperparameters([("hidden_size", .int(4)), ("inner_size", .int(6)), ("n_layers", .int(2)),
                             ("n_heads", .int(2)), ("hidden_act", .string("gelu")), ("layer_norm_eps", .float(1e-12)),
                             ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .recboleGRU4Rec:
            Hyperparameters([("embedding_size", .int(3)), ("hidden_size", .int(4)), ("num_layers", .int(2)),
                             ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .pmixerSASRecV1, .pmixerSASRecV2:
            Hyperparameters([("hidden_units", .int(4)), ("num_blocks", .int(2)), ("num_heads", .int(1)),
                             ("maxlen", .int(3)), ("n_items", .int(5)), ("layer_norm_eps", .float(1e-8))])
        case .pmixerSASRecV3:
            Hyperparameters([("hidden_units", .int(4)), ("num_blocks", .int(1)), ("num_heads", .int(2)),
                             ("maxlen", .int(3)), ("n_items", .int(5)), ("layer_norm_eps", .float(1e-8)),
                             ("norm_first", .bool(true))])
        case .gru4recOfficial:
            Hyperparameters([("layers", .ints(mode == "onehot" ? [4] : [4, 3])), ("embedding_mode", .string(mode)),
                             ("embedding", .int(mode == "separate" ? 2 : 0)), ("n_items", .int(5))])
        case .recboleNARM:
            Hyperparameters([("embedding_size", .int(3)), ("hidden_size", .int(4)), ("n_layers", .int(2)),
                             ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .recboleSTAMP:
            Hyperparameters([("embedding_size", .int(4)), ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .recboleCORE:
            Hyperparameters([("dnn_type", .string("trm")), ("embedding_size", .int(4)), ("inner_size", .int(6)),
                             ("n_layers", .int(2)), ("n_heads", .int(2)), ("hidden_act", .string("gelu")),
                             ("layer_norm_eps", .float(1e-12)), ("temperature", .float(0.07)),
                             ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .recboleSRGNN:
            Hyperparameters([("embedding_size", .int(4)), ("step", .int(2)), ("MAX_ITEM_LIST_LENGTH", .int(3)),
                             ("n_items", .int(5))])
        case .recboleGCSAN:
            Hyperparameters([("hidden_size", .int(4)), ("step", .int(1)), ("n_layers", .int(2)), ("n_heads", .int(2)),
                             ("inner_size", .int(6)), ("hidden_act", .string("gelu")), ("layer_norm_eps", .float(1e-12)),
                             ("weight", .float(0.6)), ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        case .recboleLightSANs:
            Hyperparameters([("hidden_size", .int(4)), ("n_layers", .int(2)), ("n_heads", .int(2)),
                             ("k_interests", .int(2)), ("inner_size", .int(6)), ("hidden_act", .string("gelu")),
                             ("layer_norm_eps", .float(1e-12)), ("MAX_ITEM_LIST_LENGTH", .int(3)), ("n_items", .int(5))])
        default:
            Hyperparameters()  // no small example yet: add the family here (the round-trip tests use every family)
        }
    }

    /// A valid writer: every expected tensor filled with distinct deterministic values, plus a vocabulary.
    static func smallWriter(_ family: ModelFamily, mode: String = "constrained",
                            withVocabulary: Bool = true) throws -> ModelFileWriter {
        let hyperparameters = smallHyperparameters(family, mode: mode)
        let items = hyperparameters.int("n_items") ?? 0
        let vocabulary = withVocabulary
            ? try Vocabulary(tokens: (0 ..< items).map { "ITEM_\($0)" }, titles: (0 ..< items).map { "Title \($0)" })
            : nil
        var writer = ModelFileWriter(family: family, hyperparameters: hyperparameters, vocabulary: vocabulary)
        for (index, spec) in FamilySchema.expectedTensors(family, hyperparameters).enumerated() {
            let count = spec.shape.reduce(1, *)
            writer.addTensor(spec.name, shape: spec.shape,
                             values: (0 ..< count).map { Float(index) + Float($0) * 0.25 })
        }
        return writer
    }

    static func smallFile(_ family: ModelFamily = .recboleSASRec) throws -> [UInt8] {
        try smallWriter(family).serialize()
    }

    // MARK: Byte surgery on serialized files (FORMAT.md §3 and §5)

    static func readU64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0 ..< 8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    static func writeU64(_ value: UInt64, into bytes: inout [UInt8], at: Int) {
        for index in 0 ..< 8 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    static func writeU32(_ value: UInt32, into bytes: inout [UInt8], at: Int) {
        for index in 0 ..< 4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
    }

    /// Section `index` (0 metadata, 1 tensor table, 2 vocabulary, 3 tensor data): offset and length.
    static func section(_ bytes: [UInt8], _ index: Int) -> (offset: Int, length: Int) {
        let entry = 24 + 24 * index
        return (Int(readU64(bytes, entry)), Int(readU64(bytes, entry + 8)))
    }

    /// Byte positions of the fields of each tensor-table entry.
    struct TableEntryFields {
        let dtype: Int, rank: Int, firstDimension: Int, offset: Int, byteLength: Int, nameBytes: Int
    }

    static func tableEntries(_ bytes: [UInt8]) -> [TableEntryFields] {
        var position = section(bytes, 1).offset
        let count = Int(readU64(bytes, position))
        position += 8
        var result: [TableEntryFields] = []
        for _ in 0 ..< count {
            let nameLength = Int(readU64(bytes, position))
            let nameBytes = position + 8
            let dtype = nameBytes + nameLength
            let rank = Int(readU64(bytes, dtype + 4) & 0xFFFF_FFFF)
            let firstDimension = dtype + 8
            let offset = firstDimension + 8 * rank
            result.append(TableEntryFields(dtype: dtype, rank: dtype + 4, firstDimension: firstDimension,
                                           offset: offset, byteLength: offset + 8, nameBytes: nameBytes))
            position = offset + 16
        }
        return result
    }

    /// The position of the first occurrence of `needle` in `bytes`.
    static func find(_ needle: String, in bytes: [UInt8]) -> Int? {
        let pattern = Array(needle.utf8)
        guard pattern.count <= bytes.count else { return nil }
        return (0 ... bytes.count - pattern.count).first { Array(bytes[$0 ..< $0 + pattern.count]) == pattern }
    }
}

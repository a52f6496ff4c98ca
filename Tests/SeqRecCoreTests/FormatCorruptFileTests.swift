import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// The catalogue of corrupt model files (FORMAT.md §3–§7): each must fail at open with a clear, one-line
/// error naming the field; none may crash.
@Suite("Format: corrupt-file catalogue")
struct FormatCorruptFileTests {
    typealias Support = FormatTestSupport

    /// Expects `bytes` to be rejected with a one-line error whose text contains every fragment.
    func expectRejected(_ bytes: [UInt8], _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try Support.openError(bytes)
        #expect(error != nil, "file was accepted", sourceLocation: sourceLocation)
        guard let text = error?.description else { return }
        #expect(!text.contains("\n"), "error is not one line: \(text)", sourceLocation: sourceLocation)
        #expect(text.contains("model.seqrec"), "error does not name the file: \(text)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(text.contains(fragment), "'\(fragment)' missing from: \(text)", sourceLocation: sourceLocation)
        }
    }

    func resealed(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var copy = bytes
        edit(&copy)
        ModelFileWriter.resealChecksums(&copy)
        return copy
    }

    func edited(_ edit: (inout ModelFileWriter.Layout) -> Void) throws -> [UInt8] {
        var layout = try Support.smallWriter(.recboleSASRec).layout()
        edit(&layout)
        return ModelFileWriter.serialize(layout)
    }

    @Test("the untouched small file opens")
    func validFileOpens() throws {
        #expect(try Support.openError(try Support.smallFile()) == nil)
    }

    @Test("empty file")
    func emptyFile() throws {
        try expectRejected([], "preamble", "0 bytes")
    }

    enum Boundary: String, CaseIterable {
        case magic, version, preambleMiddle, preambleEnd, metadataEnd, tableEnd, vocabularyEnd, dataStart,
             insideFirstTensor, lastByte
    }

    @Test("truncated at every section boundary", arguments: Boundary.allCases)
    func truncated(_ boundary: Boundary) throws {
        let bytes = try Support.smallFile()
        let vocabulary = Support.section(bytes, 2), data = Support.section(bytes, 3)
        let cut: Int = switch boundary {
        case .magic: 4
        case .version: 8
        case .preambleMiddle: 64
        case .preambleEnd: 128
        case .metadataEnd: Support.section(bytes, 1).offset
        case .tableEnd: vocabulary.offset
        case .vocabularyEnd: vocabulary.offset + vocabulary.length
        case .dataStart: data.offset
        case .insideFirstTensor: data.offset + 10
        case .lastByte: bytes.count - 1
        }
        let fragment = cut < 128 ? "shorter than the 128-byte preamble" : "file_length"
        try expectRejected(Array(bytes[0 ..< cut]), fragment)
    }

    @Test("extra bytes after the data section")
    func extended() throws {
        try expectRejected(try Support.smallFile() + [0, 0, 0, 0], "file_length", "extra bytes")
    }

    @Test("bad magic")
    func badMagic() throws {
        var bytes = try Support.smallFile()
        bytes[0] = UInt8(ascii: "X")
        try expectRejected(bytes, "magic", "not 'SEQRECMF'")
    }

    @Test("future and zero format versions", arguments: [UInt32(3), 0, UInt32.max])
    func unsupportedVersion(_ version: UInt32) throws {
        var bytes = try Support.smallFile()
        Support.writeU32(version, into: &bytes, at: 8)
        try expectRejected(bytes, "format_version", "version \(version) is not supported",
                           version > 1 ? "upgrade seqrec" : "corrupt")
    }

    @Test("byte-swapped version hints at a big-endian writer")
    func byteSwappedVersion() throws {
        var bytes = try Support.smallFile()
        Support.writeU32(UInt32(1).byteSwapped, into: &bytes, at: 8)
        try expectRejected(bytes, "format_version", "big-endian")
    }

    @Test("bad preamble checksum")
    func badPreambleChecksum() throws {
        var bytes = try Support.smallFile()
        bytes[16] ^= 0x01  // file_length, without resealing
        try expectRejected(bytes, "preamble_checksum")
    }

    @Test("bad section checksum", arguments: [0, 1, 2, 3])
    func badSectionChecksum(_ section: Int) throws {
        var bytes = try Support.smallFile()
        let range = Support.section(bytes, section)
        bytes[range.offset + range.length / 2] ^= 0x40
        try expectRejected(bytes, "\(FileLayout.sectionNames[section]): checksum", "stored", "computed")
    }

    @Test("alignment not a power of two in range", arguments: [UInt32(0), 48, 96, 1 << 20])
    func badAlignment(_ alignment: UInt32) throws {
        let bytes = resealed(try Support.smallFile()) { Support.writeU32(alignment, into: &$0, at: 12) }
        try expectRejected(bytes, "alignment")
    }

    @Test("section past the end of the file or overflowing", arguments: [UInt64(1 << 40), UInt64.max - 100])
    func sectionOutOfBounds(_ length: UInt64) throws {
        let bytes = resealed(try Support.smallFile()) { Support.writeU64(length, into: &$0, at: 24 + 24 * 2 + 8) }
        try expectRejected(bytes, "vocabulary section", "exceeds the file length")
    }

    @Test("overlapping sections")
    func overlappingSections() throws {
        let bytes = resealed(try Support.smallFile()) { bytes in
            Support.writeU64(UInt64(Support.section(bytes, 0).offset), into: &bytes, at: 24 + 24)
        }
        try expectRejected(bytes, "tensor table.offset", "overlaps")
    }

    @Test("misaligned tensor data section")
    func misalignedDataSection() throws {
        let bytes = resealed(try Support.smallFile()) { bytes in
            let data = Support.section(bytes, 3)
            Support.writeU64(UInt64(data.offset + 4), into: &bytes, at: 24 + 72)
            Support.writeU64(UInt64(data.length - 4), into: &bytes, at: 24 + 72 + 8)
        }
        try expectRejected(bytes, "tensor data.offset", "not a multiple of the alignment")
    }

    @Test("overlapping tensors")
    func overlappingTensors() throws {
        let bytes = try edited { layout in layout.entries[3].offset = layout.entries[2].offset }
        try expectRejected(bytes, "overlaps tensor")
    }

    @Test("misaligned tensor")
    func misalignedTensor() throws {
        let bytes = try edited { layout in layout.entries[1].offset += 4 }
        try expectRejected(bytes, "'position_embedding.weight'.offset", "not a multiple of the alignment 64")
    }

    @Test("tensor past the data section", arguments: [UInt64(1 << 40), UInt64.max - 63])
    func tensorOutOfBounds(_ offset: UInt64) throws {
        let bytes = resealed(try Support.smallFile()) { bytes in
            Support.writeU64(offset, into: &bytes, at: Support.tableEntries(bytes)[0].offset)
        }
        try expectRejected(bytes, "'item_embedding.weight'.offset", "exceeds the tensor data section")
    }

    @Test("byte length disagrees with dtype × shape")
    func wrongByteLength() throws {
        let bytes = try edited { layout in layout.entries[0].byteLength -= 4 }
        try expectRejected(bytes, "'item_embedding.weight'.byte_length", "f32 × [5, 4] needs 80")
    }

    @Test("shape whose element count overflows")
    func overflowingShape() throws {
        let bytes = try edited { layout in layout.entries[0].shape = [1 << 40, 1 << 40] }
        try expectRejected(bytes, "'item_embedding.weight'.shape[1]", "zero or too large")
    }

    @Test("zero dimension, bad rank, unknown dtype", arguments: ["zero", "rank0", "rank99", "dtype"])
    func badTensorEntry(_ damage: String) throws {
        let bytes = resealed(try Support.smallFile()) { bytes in
            let entry = Support.tableEntries(bytes)[0]
            switch damage {
            case "zero": Support.writeU64(0, into: &bytes, at: entry.firstDimension)
            case "rank0": Support.writeU32(0, into: &bytes, at: entry.rank)
            case "rank99": Support.writeU32(99, into: &bytes, at: entry.rank)
            default: Support.writeU32(9, into: &bytes, at: entry.dtype)
            }
        }
        let fragment = switch damage {
        case "zero": "shape[0]"
        case "dtype": "unknown dtype code 9"
        default: ".rank"
        }
        try expectRejected(bytes, "'item_embedding.weight'", fragment)
    }

    /// Absurd u64 counts and lengths: each must fail before any allocation, naming the field.
    enum AbsurdField: String, CaseIterable {
        case familyLength, hyperparameterCount, tensorCount, tensorNameLength, vocabularyCount, tokenLength
    }

    @Test("absurd counts and lengths", arguments: AbsurdField.allCases, [UInt64(1 << 62), UInt64.max])
    func absurdCount(_ field: AbsurdField, _ value: UInt64) throws {
        let base = try Support.smallFile()
        let family = "recbole-sasrec".utf8.count
        let (position, fragment): (Int, String) = switch field {
        case .familyLength: (Support.section(base, 0).offset, "family.length")
        case .hyperparameterCount: (Support.section(base, 0).offset + 8 + family, "hyperparameter_count")
        case .tensorCount: (Support.section(base, 1).offset, "tensor_count")
        case .tensorNameLength: (Support.section(base, 1).offset + 8, "tensor 0.name.length")
        case .vocabularyCount: (Support.section(base, 2).offset, "vocabulary: count")
        case .tokenLength: (Support.section(base, 2).offset + 8, "entry 0.token.length")
        }
        let bytes = resealed(base) { Support.writeU64(value, into: &$0, at: position) }
        try expectRejected(bytes, fragment)
    }

    @Test("a string length that runs past its section")
    func stringPastSection() throws {
        let base = try Support.smallFile()
        let bytes = resealed(base) { bytes in
            Support.writeU64(200, into: &bytes, at: Support.section(base, 2).offset + 8)
        }
        try expectRejected(bytes, "entry 0.token", "remain in the section")
    }

    @Test("invalid UTF-8 in the vocabulary")
    func invalidUTF8Token() throws {
        let base = try Support.smallFile()
        let position = try #require(Support.find("ITEM_3", in: base))
        let bytes = resealed(base) { $0[position] = 0xFF }
        try expectRejected(bytes, "vocabulary: entry 3.token", "not valid UTF-8")
    }

    @Test("invalid UTF-8 in a tensor name")
    func invalidUTF8Name() throws {
        let base = try Support.smallFile()
        let bytes = resealed(base) { $0[Support.tableEntries(base)[1].nameBytes] = 0xC3 }
        try expectRejected(bytes, "tensor 1.name", "not valid UTF-8")
    }

    @Test("duplicate vocabulary token")
    func duplicateToken() throws {
        let bytes = try edited { layout in layout.vocabulary?[4].token = "ITEM_1" }
        try expectRejected(bytes, "vocabulary entry 4.token", "already used by id 1")
    }

    @Test("vocabulary size differs from n_items")
    func vocabularyCount() throws {
        let bytes = try edited { layout in layout.vocabulary?.removeLast() }
        try expectRejected(bytes, "vocabulary: count", "is 4 but n_items is 5")
    }

    @Test("unknown family id")
    func unknownFamily() throws {
        let bytes = try edited { layout in layout.familyName = "recbole-sasrex" }
        try expectRejected(bytes, "metadata: family", "unknown family 'recbole-sasrex'")
    }

    @Test("control characters from the file stay escaped in the one-line error")
    func controlCharacters() throws {
        let bytes = try edited { layout in layout.familyName = "evil\nfamily\r" }
        try expectRejected(bytes, #"unknown family 'evil\nfamily\r'"#)
    }

    @Test("unknown hyperparameter type code")
    func unknownValueType() throws {
        let base = try Support.smallFile()
        let typeByte = Support.section(base, 0).offset + 8 + 14 + 8 + 8 + "hidden_size".utf8.count
        let bytes = resealed(base) { $0[typeByte] = 7 }
        try expectRejected(bytes, "hyperparameter 'hidden_size'.type", "unknown type code 7")
    }

    @Test("hyperparameters inconsistent or absurd", arguments: [
        ("n_heads", HyperparameterValue.int(3), "3 does not divide hidden_size 4"),
        ("hidden_size", .int(1 << 40), "expected 1 … 65536"),
        ("n_layers", .int(0), "expected 1 … 64"),
        ("layer_norm_eps", .float(-1), "expected 0 < ε < 1"),
        ("hidden_act", .string("mish"), "expected one of gelu"),
        ("n_items", .string("5"), "has type string, expected int"),
    ])
    func badHyperparameter(_ key: String, _ value: HyperparameterValue, _ fragment: String) throws {
        let bytes = try edited { layout in
            let index = layout.hyperparameters.firstIndex { $0.key == key }!
            layout.hyperparameters[index].value = value
        }
        try expectRejected(bytes, "hyperparameter '\(key)'", fragment)
    }

    @Test("missing, unknown and duplicate hyperparameters", arguments: ["missing", "unknown", "duplicate"])
    func hyperparameterSet(_ damage: String) throws {
        let bytes = try edited { layout in
            switch damage {
            case "missing": layout.hyperparameters.removeAll { $0.key == "inner_size" }
            case "unknown": layout.hyperparameters.append(("dropout", .float(0.5)))
            default: layout.hyperparameters.append(("n_layers", .int(2)))
            }
        }
        let fragment = switch damage {
        case "missing": "'inner_size': is missing"
        case "unknown": "'dropout': is not a hyperparameter of recbole-sasrec"
        default: "'n_layers': appears twice"
        }
        try expectRejected(bytes, fragment)
    }

    @Test("tensor shape wrong for the family")
    func wrongShape() throws {
        let bytes = try edited { layout in
            let index = layout.entries.firstIndex { $0.name == "trm_encoder.layer.0.feed_forward.dense_1.weight" }!
            layout.entries[index].shape = [4, 6]
        }
        try expectRejected(bytes, "'trm_encoder.layer.0.feed_forward.dense_1.weight'.shape", "is [4, 6], expected [6, 4]")
    }

    @Test("hyperparameters disagree with tensor shapes")
    func hyperparametersDisagree() throws {
        let bytes = try edited { layout in
            let index = layout.hyperparameters.firstIndex { $0.key == "MAX_ITEM_LIST_LENGTH" }!
            layout.hyperparameters[index].value = .int(7)
        }
        try expectRejected(bytes, "'position_embedding.weight'.shape", "is [3, 4], expected [7, 4]")
    }

    @Test("missing and unexpected tensors", arguments: ["missing", "unexpected", "duplicate"])
    func tensorSet(_ damage: String) throws {
        let bytes = try edited { layout in
            switch damage {
            case "missing": layout.entries.removeAll { $0.name == "LayerNorm.bias" }
            case "unexpected":
                var extra = layout.entries[2]
                extra.name = "LayerNorm.extra"
                extra.offset = FileLayout.alignOffset(layout.entries.map { $0.offset + $0.byteLength }.max()!, 64)!
                layout.entries.append(extra)
            default:
                var copy = layout.entries[2]
                copy.offset = FileLayout.alignOffset(layout.entries.map { $0.offset + $0.byteLength }.max()!, 64)!
                layout.entries.append(copy)
            }
        }
        let fragment = switch damage {
        case "missing": "'LayerNorm.bias': is missing"
        case "unexpected": "'LayerNorm.extra': is not a tensor of recbole-sasrec"
        default: "name appears twice"
        }
        try expectRejected(bytes, fragment)
    }

    @Test("reserved dtype in a family that needs f32")
    func reservedDType() throws {
        let bytes = try edited { layout in
            layout.entries[2].dtypeCode = DType.f16.rawValue
            layout.entries[2].byteLength /= 2
        }
        try expectRejected(bytes, "'LayerNorm.weight'.dtype", "is f16")
    }

    @Test("no single-byte corruption of the header sections crashes the reader")
    func singleByteCorruptions() throws {
        let base = try Support.smallFile()
        let headerEnd = Support.section(base, 3).offset
        let flips: [UInt8] = [0x01, 0x80, 0xFF]
        var rejected = 0
        for position in 0 ..< headerEnd {
            var bytes = base
            bytes[position] ^= flips[position % flips.count]
            ModelFileWriter.resealChecksums(&bytes)
            if case .failure = Result(catching: { try ModelFileReader.parse(bytes, file: "fuzz") }) { rejected += 1 }
        }
        // Most single-byte changes break a rule; a few (title text, float mantissas) are still valid files.
        #expect(rejected > headerEnd / 2)
    }

    // MARK: Every byte checked (FORMAT.md §1, §3 rule 5) and finite weights (§5); issue 11 items 5 and 6

    @Test("non-finite weight names the tensor and the flat index", arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeight(_ value: Float) throws {
        var element = 0
        let bytes = try edited { layout in
            let index = layout.entries.firstIndex { $0.name == "item_embedding.weight" }!
            element = layout.entries[index].values.count - 3   // a row past the padding row
            layout.entries[index].values[element] = value
        }
        try expectRejected(bytes, "tensor 'item_embedding.weight'", "element \(element)", "\(value)")
        let norm = try edited { layout in layout.entries[2].values[0] = .nan }
        try expectRejected(norm, "tensor 'LayerNorm.weight'", "element 0", "nan")
    }

    @Test("the first non-finite value is found at every lane and chunk boundary, at any alignment",
          arguments: [Float.nan, .infinity, -.infinity, Float(bitPattern: 0xFFC0_0001)])
    func firstNonFiniteAtBoundaries(_ value: Float) {
        let count = 2 * 1024 + 37
        for shift in 0..<4 {   // the values start 0–3 bytes into the buffer
            for position in [0, 1, 15, 16, 17, 1007, 1008, 1023, 1024, 1025, 2047, 2048, count - 1] {
                var floats = (0..<count).map { Float($0 % 97) - 48 }
                floats[position] = value
                if position + 5 < count { floats[position + 5] = value }   // a later one is not reported
                var bytes = [UInt8](repeating: 0, count: shift)
                for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } }
                let found = bytes.withUnsafeBytes { ModelFileReader.firstNonFinite(UnsafeRawBufferPointer(rebasing: $0[shift...])) }
                #expect(found == position, "shift \(shift), position \(position)")
            }
        }
        let finite = [Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0, -0.0]
        let bytes = (0..<40).flatMap { i in withUnsafeBytes(of: finite[i % 5].bitPattern.littleEndian) { Array($0) } }
        #expect(bytes.withUnsafeBytes { ModelFileReader.firstNonFinite($0) } == nil)
    }

    @Test("non-zero padding before the tensor data section")
    func nonZeroPadding() throws {
        let base = try Support.smallFile()
        let vocabularyEnd = Support.section(base, 2).offset + Support.section(base, 2).length
        let dataStart = Support.section(base, 3).offset
        try #require(dataStart > vocabularyEnd, "the small file has padding to test")
        for position in [vocabularyEnd, dataStart - 1] {
            let bytes = resealed(base) { $0[position] = 0x5A }
            try expectRejected(bytes, "padding before the tensor data section", "byte \(position)", "must be zero")
        }
    }

    @Test("a gap between sections", arguments: [1, 2, 3])
    func gapBetweenSections(_ section: Int) throws {
        // Move the section (and those after it) one alignment unit later, keeping the bytes: the gap is
        // zeros, which the old reader accepted unchecked.
        var layout = try Support.smallWriter(.recboleSASRec).layout()
        layout.alignment = 64
        let base = ModelFileWriter.serialize(layout)
        var bytes = Array(base[..<Support.section(base, section).offset]) + [UInt8](repeating: 0, count: 64)
            + Array(base[Support.section(base, section).offset...])
        Support.writeU64(UInt64(bytes.count), into: &bytes, at: 16)
        for later in section ..< 4 {
            Support.writeU64(UInt64(Support.section(base, later).offset + 64), into: &bytes, at: 24 + 24 * later)
        }
        ModelFileWriter.resealChecksums(&bytes)
        try expectRejected(bytes, FileLayout.sectionNames[section] + ".offset", "unchecked bytes")
    }

    @Test("an empty vocabulary section cannot hide the old vocabulary's bytes")
    func emptyVocabularyLeavesNoUncheckedBytes() throws {
        let base = try Support.smallFile()
        let vocabulary = Support.section(base, 2)
        try #require(vocabulary.length > 64)
        let bytes = resealed(base) { bytes in Support.writeU64(0, into: &bytes, at: 24 + 48 + 8) }
        // Its first bytes now sit where the zero padding belongs: refused either as padding or as a gap.
        try expectRejected(bytes, "tensor data")
    }

    @Test("random mutations anywhere in the file, checksums repaired, never crash the reader")
    func randomMutations() throws {
        let base = try Support.smallFile()
        var generator = SplitMix64(seed: 0x5EC_F11E)
        var rejected = 0
        let iterations = 3_000
        for _ in 0 ..< iterations {
            var bytes = base
            for _ in 0 ..< 1 + Int(generator.next() % 4) {
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 8 == 0 { bytes.removeLast(Int(generator.next() % 64)) }
            ModelFileWriter.resealChecksums(&bytes)
            if case .failure = Result(catching: { try ModelFileReader.parse(bytes, file: "fuzz") }) { rejected += 1 }
        }
        #expect(rejected > iterations / 4)
    }
}

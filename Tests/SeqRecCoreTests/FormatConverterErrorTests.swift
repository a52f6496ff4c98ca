import Foundation
import Testing
@testable import SeqRecCore

/// Builds safetensors bytes for tests (8-byte LE header length, JSON header padded to 8, raw data),
/// with hooks to damage any part.
struct SafetensorsBuilder {
    struct Item {
        var name: String
        var dtype = "F32"
        var shape: [Int]
        var values: [Float]
        /// Replaces the computed `data_offsets` when set.
        var offsets: (Int, Int)?
    }

    var items: [Item] = []
    var metadata = #"{"source":"test"}"#

    init(family: ModelFamily, hyperparameters: Hyperparameters) {
        for (index, spec) in FamilySchema.expectedTensors(family, hyperparameters).enumerated() {
            let count = spec.shape.reduce(1, *)
            items.append(Item(name: spec.name, shape: spec.shape, values: (0 ..< count).map { Float(index * 100 + $0) }))
        }
    }

    func header() -> String {
        var position = 0
        var fields = [#""__metadata__":\#(metadata)"#]
        for item in items {
            let length = item.values.count * 4
            let (begin, end) = item.offsets ?? (position, position + length)
            position += length
            let shape = item.shape.map(String.init).joined(separator: ",")
            fields.append(#""\#(item.name)":{"dtype":"\#(item.dtype)","shape":[\#(shape)],"data_offsets":[\#(begin),\#(end)]}"#)
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func build(header overrideHeader: String? = nil) -> [UInt8] {
        var json = Array((overrideHeader ?? header()).utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var bytes = (0 ..< 8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        bytes += json
        for value in items.flatMap(\.values) {
            bytes += (0 ..< 4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32($0))) }
        }
        return bytes
    }
}

@Suite("Format: converter errors")
struct FormatConverterErrorTests {
    static let family = ModelFamily.pmixerSASRecV2
    static let hyperparameters = FormatTestSupport.smallHyperparameters(.pmixerSASRecV2)
    static let config = #"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":2,"num_heads":1,"maxlen":3,"dropout_rate":0.2}}"#

    /// Writes a fixture folder; nil arguments leave that file out.
    func folder(config: String? = config, weights: [UInt8]?, vocabulary: [UInt8]? = nil) throws -> String {
        let directory = try FormatTestSupport.temporaryDirectory()
        if let config { try Data(config.utf8).write(to: directory.appendingPathComponent("config.json")) }
        if let weights { try Data(weights).write(to: directory.appendingPathComponent("weights.safetensors")) }
        if let vocabulary { try Data(vocabulary).write(to: directory.appendingPathComponent("vocab.tsv")) }
        return directory.path
    }

    func builder() -> SafetensorsBuilder {
        SafetensorsBuilder(family: Self.family, hyperparameters: Self.hyperparameters)
    }

    /// Converts `folder` and expects a one-line error naming `file` and containing every fragment.
    func expectFailure(_ folder: String, file: String, _ fragments: String...,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let output = URL(fileURLWithPath: folder).appendingPathComponent("out.seqrec").path
        do {
            try FixtureImporter.convert(folder: folder, output: output)
            Issue.record("conversion succeeded", sourceLocation: sourceLocation)
        } catch {
            let text = "\(error)"
            #expect(error is FormatError, "not a FormatError: \(text)", sourceLocation: sourceLocation)
            #expect(!text.contains("\n"), "not one line: \(text)", sourceLocation: sourceLocation)
            #expect(text.contains(file), "does not name \(file): \(text)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(text.contains(fragment), "'\(fragment)' missing from: \(text)", sourceLocation: sourceLocation)
            }
            #expect(!FileManager.default.fileExists(atPath: output), "output written despite the error",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("the synthetic folder converts, with the pmixer defaults filled in")
    func validFolderConverts() throws {
        let path = try folder(weights: builder().build(), vocabulary: Array("0\t[PAD]\t\n1\ta\tA\n2\tb\t\n3\tc\tC\n4\td\tD\n".utf8))
        let output = URL(fileURLWithPath: path).appendingPathComponent("out.seqrec").path
        try FixtureImporter.convert(folder: path, output: output)
        let file = try ModelFile.open(path: output)
        #expect(file.hyperparameters.float("layer_norm_eps") == 1e-8)
        #expect(file.hyperparameters.value("dropout_rate") == nil)
        #expect(file.vocabulary?.id(ofToken: "c") == 3)
        #expect(file.vocabulary?.title(of: 3) == "C")
        #expect(file.vocabulary?.title(of: 2) == nil)
        #expect(file.tensor("pos_emb.weight")?.data.first == Float(100))
    }

    @Test("vocab.tsv written with CRLF line ends reads like LF")
    func vocabularyWithCRLF() throws {
        let path = try folder(weights: builder().build(), vocabulary: Array("0\t[PAD]\t\r\n1\ta\tA\r\n2\tb\t\r\n3\tc\tC\r\n4\td\tD\r\n".utf8))
        let output = URL(fileURLWithPath: path).appendingPathComponent("out.seqrec").path
        try FixtureImporter.convert(folder: path, output: output)
        let vocabulary = try #require(try ModelFile.open(path: output).vocabulary)
        #expect(vocabulary.id(ofToken: "d") == 4)
        #expect(vocabulary.title(of: 3) == "C")
    }

    @Test("non-finite weight")
    func nonFiniteWeight() throws {
        var weights = builder()
        let index = weights.items.firstIndex { $0.name == "pos_emb.weight" }!
        weights.items[index].values[5] = .infinity
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "tensor 'pos_emb.weight'[5]", "not a finite number")
    }

    @Test("missing tensor")
    func missingTensor() throws {
        var weights = builder()
        weights.items.removeAll { $0.name == "last_layernorm.bias" }
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "tensor 'last_layernorm.bias'", "is missing", "[4]")
    }

    @Test("unexpected tensor")
    func unexpectedTensor() throws {
        var weights = builder()
        weights.items.append(.init(name: "extra.weight", shape: [2], values: [1, 2]))
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "tensor 'extra.weight'", "is not a tensor of pmixer-sasrec-v2")
    }

    @Test("wrong shape: a V1 position table in a V2 file")
    func wrongShape() throws {
        var weights = builder()
        let index = weights.items.firstIndex { $0.name == "pos_emb.weight" }!
        weights.items[index].shape = [3, 4]
        weights.items[index].values.removeLast(4)
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "'pos_emb.weight'.shape", "is [3, 4], expected [4, 4]")
    }

    @Test("conv weight without its trailing axis")
    func wrongRank() throws {
        var weights = builder()
        let index = weights.items.firstIndex { $0.name == "forward_layers.0.conv1.weight" }!
        weights.items[index].shape = [4, 4]
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "'forward_layers.0.conv1.weight'.shape", "expected [4, 4, 1]")
    }

    @Test("config.json is not valid JSON")
    func badConfigJSON() throws {
        expectFailure(try folder(config: #"{"family": "pmixer-sasrec-v2", "#, weights: builder().build()),
                      file: "config.json", "is not valid JSON")
    }

    @Test("config.json problems", arguments: [
        (#"{"family":"sasrec","n_items":5,"hyperparameters":{}}"#, "family: unknown family 'sasrec'"),
        (#"{"family":"pmixer-sasrec-v4","n_items":5,"hyperparameters":{}}"#,
         "family: unknown family 'pmixer-sasrec-v4' (did you mean 'pmixer-sasrec-v1'? known: recbole-sasrec"),
        (#"{"n_items":5,"hyperparameters":{}}"#, "family: is missing"),
        (#"{"family":"pmixer-sasrec-v2","hyperparameters":{}}"#, "n_items: is missing"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5.5,"hyperparameters":{}}"#, "n_items: is missing or not an integer"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5}"#, "hyperparameters: is missing"),
        (#"[1, 2]"#, "is not a JSON object"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":2,"maxlen":3}}"#,
         "hyperparameters.num_heads: is missing"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":"4","num_blocks":2,"num_heads":1,"maxlen":3}}"#,
         "hyperparameters.hidden_units: is a string, expected int"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4.5,"num_blocks":2,"num_heads":1,"maxlen":3}}"#,
         "hyperparameters.hidden_units: is a float, expected int"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":true,"num_heads":1,"maxlen":3}}"#,
         "hyperparameters.num_blocks: is a boolean, expected int"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":2,"num_heads":3,"maxlen":3}}"#,
         "'num_heads': 3 does not divide hidden_units 4"),
        (#"{"family":"pmixer-sasrec-v2","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":2,"num_heads":1,"maxlen":-3}}"#,
         "'maxlen': is -3, expected 1"),
        (#"{"family":"pmixer-sasrec-v2","n_items":7,"hyperparameters":{"hidden_units":4,"num_blocks":2,"num_heads":1,"maxlen":3}}"#,
         "'item_emb.weight'.shape: is [5, 4], expected [7, 4]"),
    ])
    func configProblems(_ config: String, _ fragment: String) throws {
        let file = fragment.contains(".shape") ? "weights.safetensors" : "config.json"
        expectFailure(try folder(config: config, weights: builder().build()), file: file, fragment)
    }

    @Test("non-F32 dtype")
    func nonF32() throws {
        var weights = builder()
        weights.items[0].dtype = "F16"
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors",
                      "'\(weights.items[0].name)'.dtype", "is F16; only F32 is supported")
    }

    @Test("truncated safetensors", arguments: [0, 7, 8, 20, -1, -100])
    func truncated(_ cut: Int) throws {
        let bytes = builder().build()
        let kept = cut >= 0 ? cut : bytes.count + cut
        let fragment = kept < 8 ? "too short" : kept < 8 + 64 ? "exceeds the" : "data_offsets"
        expectFailure(try folder(weights: Array(bytes[0 ..< kept])), file: "weights.safetensors", fragment)
    }

    @Test("absurd header length", arguments: [UInt64(1) << 60, UInt64.max, 0, 1])
    func absurdHeaderLength(_ length: UInt64) throws {
        var bytes = builder().build()
        FormatTestSupport.writeU64(length, into: &bytes, at: 0)
        expectFailure(try folder(weights: bytes), file: "weights.safetensors", "header length", "outside 2")
    }

    @Test("safetensors header problems", arguments: ["array", "notjson", "metadata", "offsets", "extra key"])
    func headerProblems(_ damage: String) throws {
        let base = builder()
        let (header, fragment): (String, String) = switch damage {
        case "array": ("[1,2]", "header: is not a JSON object")
        case "notjson": ("{\"a\":", "header: is not valid JSON")
        case "metadata": (base.header().replacingOccurrences(of: #"{"source":"test"}"#, with: #"{"source":3}"#),
                          "__metadata__.source: is an integer, expected a string")
        case "offsets": (base.header().replacingOccurrences(of: #""data_offsets":[0,"#, with: #""data_offsets":[-4,"#),
                         "data_offsets: [-4,")
        default: (base.header().replacingOccurrences(of: #""dtype":"F32","#, with: #""dtype":"F32","x":1,"#),
                  "unexpected keys [\"x\"]")
        }
        expectFailure(try folder(weights: base.build(header: header)), file: "weights.safetensors", fragment)
    }

    @Test("deeply nested JSON is rejected, not a stack overflow", arguments: ["header", "config"])
    func deepNesting(_ input: String) throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let path = input == "header"
            ? try folder(weights: builder().build(header: deep))
            : try folder(config: deep, weights: builder().build())
        expectFailure(path, file: input == "header" ? "weights.safetensors" : "config.json", "is not valid JSON")
    }

    @Test("no single-byte corruption of a safetensors header crashes the importer")
    func headerCorruptions() throws {
        let base = builder().build()
        let headerEnd = 8 + Int(FormatTestSupport.readU64(base, 0))
        let flips: [UInt8] = [0x01, 0x20, 0xFF]
        var rejected = 0, positions = 0
        for position in stride(from: 0, to: headerEnd, by: 23) {
            var bytes = base
            bytes[position] ^= flips[position % flips.count]
            let path = try folder(weights: bytes)
            positions += 1
            do {
                try FixtureImporter.convert(folder: path, output: URL(fileURLWithPath: path).appendingPathComponent("o").path)
            } catch {
                #expect(!"\(error)".contains("\n"))
                rejected += 1
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        #expect(rejected > positions / 2)
    }

    @Test("overlapping, holed and mis-sized data_offsets", arguments: ["overlap", "hole", "size"])
    func dataOffsets(_ damage: String) throws {
        var weights = builder()
        let first = weights.items[0].values.count * 4
        switch damage {
        case "overlap": weights.items[1].offsets = (first - 4, first - 4 + weights.items[1].values.count * 4)
        case "hole": weights.items[1].offsets = (first + 4, first + 4 + weights.items[1].values.count * 4)
        default: weights.items[0].offsets = (0, first - 4)
        }
        let fragment = switch damage {
        case "overlap": "overlaps the previous tensor"
        case "hole": "data_offsets"
        default: "needs \(first)"
        }
        expectFailure(try folder(weights: weights.build()), file: "weights.safetensors", fragment)
    }

    @Test("missing input files", arguments: ["config", "weights"])
    func missingFiles(_ which: String) throws {
        let path = which == "config" ? try folder(config: nil, weights: builder().build()) : try folder(weights: nil)
        expectFailure(path, file: which == "config" ? "config.json" : "weights.safetensors", "file:")
    }

    @Test("input folder missing")
    func missingFolder() {
        #expect {
            try FixtureImporter.convert(folder: "/nonexistent/fixture", output: "/nonexistent/out.seqrec")
        } throws: { error in
            "\(error)" == "/nonexistent/fixture: folder: not found or not a directory "
                + "(pass the folder holding weights.safetensors and config.json)"
        }
    }

    @Test("vocab.tsv problems", arguments: [
        ("0\tx\t\n1\ty\t\n2\tz\t\n3\tw\t\n", "4 items but n_items is 5"),
        ("0\tx\t\n2\ty\t\n", "line 2.id: is '2', expected 1"),
        ("0\tx\t\n1\tx\t\n2\ty\t\n3\tz\t\n4\tw\t\n", "entry 1.token: token 'x' already used by id 0"),
        ("0\tx\n1\n", "line 2: has 1 tab-separated fields"),
        ("0\tx\t\n\n2\ty\t\n", "line 2: has 1 tab-separated fields"),
        ("0\t\t\n", "entry 0.token: empty token"),
    ])
    func vocabularyProblems(_ text: String, _ fragment: String) throws {
        expectFailure(try folder(weights: builder().build(), vocabulary: Array(text.utf8)), file: "vocab.tsv", fragment)
    }

    @Test("vocab.tsv with invalid UTF-8")
    func vocabularyUTF8() throws {
        let bytes: [UInt8] = Array("0\tx\t\n1\t".utf8) + [0xFF, 0xFE] + Array("\t\n".utf8)
        expectFailure(try folder(weights: builder().build(), vocabulary: bytes), file: "vocab.tsv", "not valid UTF-8")
    }
}

/// Config keys the family does not know are refused, naming the key and the nearest valid one: a
/// misspelt key would otherwise be dropped and its default used (issue 16: 98/100 top-10 lists wrong).
@Suite("Format: converter refuses unknown config keys")
struct FormatConverterUnknownKeyTests {
    static let weights = SafetensorsBuilder(family: .pmixerSASRecV2,
                                            hyperparameters: FormatTestSupport.smallHyperparameters(.pmixerSASRecV2))

    func convert(_ config: String) throws {
        let directory = try FormatTestSupport.temporaryDirectory()
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        try Data(Self.weights.build()).write(to: directory.appendingPathComponent("weights.safetensors"))
        try FixtureImporter.convert(folder: directory.path, output: directory.appendingPathComponent("o.seqrec").path)
    }

    static func pmixer(_ extra: String, family: String = "pmixer-sasrec-v2") -> String {
        #"{"family":"\#(family)","n_items":5,"hyperparameters":{"hidden_units":4,"num_blocks":2,"num_heads":1,"maxlen":3,\#(extra)}}"#
    }

    @Test("misspelt or foreign keys name the key and the nearest valid one", arguments: [
        (pmixer(#""norm_frist":true"#, family: "pmixer-sasrec-v3"),
         "hyperparameters.norm_frist: is not a hyperparameter of pmixer-sasrec-v3; did you mean 'norm_first'?"),
        (pmixer(#""layer_norm_epsilon":1e-6"#),
         "hyperparameters.layer_norm_epsilon: is not a hyperparameter of pmixer-sasrec-v2; did you mean 'layer_norm_eps'?"),
        (pmixer(#""MAXLEN":3"#), "hyperparameters.MAXLEN: is not a hyperparameter of pmixer-sasrec-v2; did you mean 'maxlen'?"),
        (pmixer(#""num_head":2"#), "did you mean 'num_heads'?"),
        (pmixer(#""norm_first":true"#), "hyperparameters.norm_first: is not a hyperparameter of pmixer-sasrec-v2"),
        (pmixer(#""completely_unrelated":1"#),
         "is not a hyperparameter of pmixer-sasrec-v2 (pmixer-sasrec-v2 reads: hidden_units, num_blocks, num_heads, maxlen, layer_norm_eps)"),
        (pmixer(#""variant":"v3""#), "hyperparameters.variant: is 'v3', but the family is pmixer-sasrec-v2"),
        (pmixer(#""variant":2"#), "hyperparameters.variant: is an integer, but the family is pmixer-sasrec-v2"),
    ])
    func unknownKeys(_ config: String, _ fragment: String) {
        #expect {
            try convert(config)
        } throws: { error in
            let text = "\(error)"
            return error is FormatError && text.contains("config.json") && text.contains(fragment) && !text.contains("\n")
        }
    }

    @Test("the exporter's notes and the matching variant are accepted")
    func knownUpstreamKeys() throws {
        try convert(Self.pmixer(#""variant":"v2","dropout_rate":0.2,"padding":"left","pos_emb_rows":4"#))
    }

    @Test("a suggestion is offered only for a plausible misspelling")
    func nearest() {
        #expect(nearestKey(to: "norm_frist", among: ["norm_first", "num_blocks"]) == "norm_first")
        #expect(nearestKey(to: "layer_norm_epsilon", among: ["layer_norm_eps", "hidden_size"]) == "layer_norm_eps")
        #expect(nearestKey(to: "max_item_list_length", among: ["MAX_ITEM_LIST_LENGTH"]) == "MAX_ITEM_LIST_LENGTH")
        #expect(nearestKey(to: "xyz", among: ["hidden_units", "maxlen"]) == nil)
        #expect(nearestKey(to: "recbole-core", among: ["recbole-sasrec"], maxDistance: 2) == nil)
        #expect(nearestKey(to: "recbole-sasrce", among: ["recbole-sasrec"], maxDistance: 2) == "recbole-sasrec")
        #expect(editDistance(Array("ab"), Array("ba")) == 1)
        #expect(editDistance(Array(""), Array("abc")) == 3)
    }

    @Test("a real RecBole fixture with a misspelt key is refused", arguments: [
        ("recbole-sasrec-ml100k", #""layer_norm_eps""#, #""layer_norm_epsilon""#, "did you mean 'layer_norm_eps'?"),
        ("recbole-gru4rec-ml100k", #""num_layers""#, #""n_layers""#, "did you mean 'num_layers'?"),
        ("pmixer-sasrec-v3-wiki-prenorm", #""norm_first""#, #""norm_frist""#, "did you mean 'norm_first'?"),
    ])
    func realFixture(_ name: String, _ key: String, _ misspelt: String, _ fragment: String) throws {
        let source = URL(fileURLWithPath: FormatTestSupport.fixture(name))
        let directory = try FormatTestSupport.temporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("weights.safetensors"),
                                         to: directory.appendingPathComponent("weights.safetensors"))
        let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains(key))
        try Data(config.replacingOccurrences(of: key, with: misspelt).utf8)
            .write(to: directory.appendingPathComponent("config.json"))
        let output = directory.appendingPathComponent("o.seqrec").path
        #expect {
            try FixtureImporter.convert(folder: directory.path, output: output)
        } throws: { error in
            "\(error)".contains(fragment) && "\(error)".contains("hyperparameters.\(misspelt.dropFirst().dropLast())")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

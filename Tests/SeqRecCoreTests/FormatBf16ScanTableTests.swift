// FORMAT.md §12.2: the bf16 scan table — round trip (alone and next to the int8 table), the bad-input
// catalogue, the bind-time checks (shape, finite values), the scan-table policy, a fuzz run over a file
// with both tables (reader and binding never crash), and `--scan-table bf16` on a real fixture (the bf16
// path returns the fp32 answers, item for item and score for score).
import Foundation
import Testing
@testable import SeqRecCore
import SeqRecTestSupport

@Suite("Format: bf16 scan table (version 2)")
struct FormatBf16ScanTableTests {
    typealias Support = FormatTestSupport

    /// The small SASRec file with a bf16 copy of its item table (`rows` rows, default the table's), and
    /// the int8 table too when `int8`.
    func writer(rows: Int? = nil, width: Int? = nil, int8: Bool = false) throws -> ModelFileWriter {
        var writer = try Support.smallWriter(.recboleSASRec)
        let n = rows ?? writer.hyperparameters.int("n_items")!, w = width ?? writer.hyperparameters.int("hidden_size")!
        let items = writer.tensors.first { $0.name == "item_embedding.weight" }!.payload.floatValues
        writer.setBf16ScanTable(rows: (0..<(n * w)).map { Bf16ScanTable.rounded(items[$0 % items.count]) }, width: w)
        if int8 {
            writer.setInt8ScanTable(rows: (0..<(n * w)).map { Int8(truncatingIfNeeded: $0 * 7 - 60) },
                                    scales: (0..<n).map { Float($0) * 0.01 }, width: w)
        }
        return writer
    }

    func expectRejected(_ bytes: [UInt8], _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try Support.openError(bytes)
        #expect(error != nil, "file was accepted", sourceLocation: sourceLocation)
        guard let text = error?.description else { return }
        #expect(!text.contains("\n"), "error is not one line: \(text)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(text.contains(fragment), "'\(fragment)' missing from: \(text)", sourceLocation: sourceLocation)
        }
    }

    func loadError(_ writer: ModelFileWriter, bytes: [UInt8]? = nil, policy: ScanTablePolicy = .automatic) throws -> String? {
        let path = try Support.write(try bytes ?? writer.serialize())
        do {
            _ = try Recommender(path: path, maxBatch: 2, scanTable: policy)
            return nil
        } catch let error as ModelLoadError {
            return error.description
        }
    }

    @Test func roundTripAloneAndNextToInt8() throws {
        let good = try writer()
        let file = try ModelFile.open(path: try Support.write(try good.serialize()))
        #expect(file.formatVersion == 2)
        let rows = try #require(file.bf16Tensor(ScanTensors.bf16Rows))
        #expect(rows.shape == [file.hyperparameters.int("n_items")!, file.hyperparameters.int("hidden_size")!])
        #expect(Array(rows.data) == good.bf16ScanTable!.rows)
        let both = try ModelFile.open(path: try Support.write(try writer(int8: true).serialize()))
        #expect(both.formatVersion == 2 && both.bf16Tensor(ScanTensors.bf16Rows) != nil
                && both.int8Tensor(ScanTensors.int8Rows) != nil)
    }

    @Test func badInputCatalogue() throws {
        let good = try writer(int8: true)
        func edited(_ edit: (inout ModelFileWriter.Layout) -> Void) -> [UInt8] {
            var layout = good.layout()
            edit(&layout)
            return ModelFileWriter.serialize(layout)
        }
        let index = good.layout().entries.firstIndex { $0.name == ScanTensors.bf16Rows }!
        try expectRejected(edited { $0.formatVersion = 1 }, "need format version 2")
        try expectRejected(edited { $0.entries[index].name = "seqrec.scan.f16" }, "seqrec.scan.f16",
                           "not a scan tensor this reader knows")
        try expectRejected(edited { $0.entries[index].dtypeCode = DType.f16.rawValue }, ScanTensors.bf16Rows,
                           "is f16", "expected bf16 [rows, width]")
        try expectRejected(edited { $0.entries[index].dtypeCode = DType.int8.rawValue }, ScanTensors.bf16Rows,
                           "byte_length")
        try expectRejected(edited {   // rank 1
            let entry = $0.entries[index]
            $0.entries[index].shape = [entry.shape[0] * entry.shape[1]]
        }, ScanTensors.bf16Rows, "expected bf16 [rows, width]")
        try expectRejected(edited { $0.entries[index].byteLength -= 2 }, ScanTensors.bf16Rows, "byte_length")
        try expectRejected(edited { $0.entries[index].offset += 1 }, ScanTensors.bf16Rows)
        // Wider than the kernels take (through the layout: the writer's own check refuses it).
        try expectRejected(ModelFileWriter.serialize(try writer(rows: 1, width: 4097).layout()), "width 4097", "4096")
        // The writer refuses what the reader would.
        var infinite = try writer()
        infinite.setBf16ScanTable(rows: [0x3F80, 0x7F80], width: 2)
        #expect(throws: FormatError.self) { _ = try infinite.serialize() }
    }

    @Test func bindingChecksShapeAndFiniteValues() throws {
        let n = try writer().hyperparameters.int("n_items")!
        let mismatch = try #require(try loadError(try writer(rows: n + 1)))
        #expect(mismatch.contains(ScanTensors.bf16Rows) && mismatch.contains("shape"))
        #expect(try loadError(try writer(rows: n + 1), policy: .fp32) == nil)   // the fp32 scan ignores the table
        // A NaN bf16 value (the reader checks dtype and shape; the binding reads every value).
        let good = try writer()
        var layout = good.layout()
        let index = layout.entries.firstIndex { $0.name == ScanTensors.bf16Rows }!
        let width = Int(layout.entries[index].shape[1])
        var bytes = try #require(good.bf16ScanTable).rows.withUnsafeBytes { Array($0) }
        bytes[2 * (width + 3)] = 0xC1
        bytes[2 * (width + 3) + 1] = 0x7F
        layout.entries[index].payload = .int8s(bytes.map { Int8(bitPattern: $0) })
        let nan = try #require(try loadError(try writer(), bytes: ModelFileWriter.serialize(layout)))
        #expect(nan.contains(ScanTensors.bf16Rows) && nan.contains("[1, 3]") && nan.contains("not finite"))
    }

    @Test func policyChoosesTheTable() throws {
        let path = try Support.write(try writer(int8: true).serialize())
        func kind(_ policy: ScanTablePolicy) throws -> String {
            switch try Recommender(path: path, maxBatch: 1, scanTable: policy).reducedScan {
            case .int8: "int8"
            case .bf16: "bf16"
            case nil: "fp32"
            }
        }
        let kinds = try [ScanTablePolicy.automatic, .int8, .bf16, .fp32].map(kind)
        #expect(kinds == ["int8", "int8", "bf16", "fp32"])
        let bf16Only = try Support.write(try writer().serialize())
        #expect(try Recommender(path: bf16Only, maxBatch: 1).reducedScan.map { if case .bf16 = $0 { true } else { false } } == true)
        #expect(throws: ModelLoadError.self) { _ = try Recommender(path: bf16Only, maxBatch: 1, scanTable: .int8) }
        let plain = try Support.write(try Support.smallFile())
        #expect(throws: ModelLoadError.self) { _ = try Recommender(path: plain, maxBatch: 1, scanTable: .bf16) }
    }

    @Test func converterRefusesNonFiniteRowsByName() throws {
        for (value, fragment) in [(Float.nan, "is nan"), (.infinity, "is inf"), (3.4e38, "rounds to ±∞")] {
            var values: [Float] = [1, 2, 3, 4, 5, 6]
            values[4] = value
            let error = values.withUnsafeBufferPointer { t in
                let table = ScoringTable(table: t.baseAddress!, bias: nil, rows: 3, width: 2, firstItem: 1)
                return #expect(throws: FormatError.self) { _ = try ScanTableConversion.bf16Rows(table, path: "m.seqrec") }
            }
            let text = error?.description ?? ""
            #expect(text.contains("row 2, element 0") && text.contains(fragment), "\(text)")
        }
        #expect(ScanTableConversion.kinds("int8,bf16") == [.int8, .bf16] && ScanTableConversion.kinds("bf16") == [.bf16])
        #expect(ScanTableConversion.kinds("fp16") == nil && ScanTableConversion.kinds("int8,") == nil)
    }

    /// Mutations anywhere (checksums repaired) never crash the reader; mutations of the scan tables' bytes
    /// never crash the binding or a request (a NaN bf16 value is a load error, anything else loads).
    @Test func randomMutationsNeverCrashReaderOrBinding() throws {
        let good = try writer(int8: true)
        let base = try good.serialize()
        let layout = good.layout()
        let first = layout.entries.firstIndex { $0.name.hasPrefix(ScanTensors.prefix) }!
        let scanStart = Support.section(base, 3).offset + Int(layout.entries[first].offset)
        let path = try Support.temporaryDirectory().appendingPathComponent("fuzz.seqrec").path
        var generator = SplitMix64(seed: 0xBF16)
        var rejected = 0, answered = 0
        let iterations = 1_000
        for iteration in 0 ..< iterations {
            var bytes = base
            let inTables = iteration % 4 == 0
            for _ in 0 ..< 1 + Int(generator.next() % 4) {
                let position = inTables ? scanStart + Int(generator.next() % UInt64(bytes.count - scanStart))
                    : Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            ModelFileWriter.resealChecksums(&bytes)
            if case .failure = Result(catching: { try ModelFileReader.parse(bytes, file: "fuzz") }) { rejected += 1 }
            guard inTables else { continue }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let model = try Recommender(path: path, maxBatch: 2, scanTable: iteration % 8 == 0 ? .bf16 : .int8)
                _ = try model.makeContext().recommend(SessionQuery(items: [1, 2], k: 5))
                answered += 1
            } catch {
                continue   // a clear error is the other allowed outcome
            }
        }
        #expect(rejected > iterations / 4)
        #expect(answered > iterations / 8)   // most table mutations load and answer: the binding was exercised
    }

    /// `seqrec convert --scan-table bf16` on the real RecBole SASRec fixture: same answers as fp32.
    @Test func convertedFixtureAnswersExactlyAsFp32() throws {
        let folder = Support.fixture("recbole-sasrec-ml100k")
        let path = try Support.temporaryDirectory().appendingPathComponent("sasrec-bf16.seqrec").path
        try FixtureImporter.convert(folder: folder, output: path)
        try ScanTableConversion.add([.bf16], path: path)
        let fp32 = try Recommender(path: path, maxBatch: 16, scanTable: .fp32)
        let exact = try Recommender(path: path, maxBatch: 16, scanTable: .bf16)
        #expect(exact.file.formatVersion == 2 && exact.file.int8Tensor(ScanTensors.int8Rows) == nil)
        let queries = (0..<16).map { b in
            var query = SessionQuery(items: (0..<(3 + b)).map { Int32(1 + ($0 * 211 + b * 97) % 1682) }, k: [10, 1, 100][b % 3])
            query.excludeSeen = b % 2 == 0
            if b % 4 == 1 { query.deny = [50, 100, 181] }
            if b % 5 == 3 { query.candidates = [1, 2, 3, 50, 100, 258]; query.k = 1 }
            return query
        }
        let reference = fp32.makeContext(), context = exact.makeContext()
        var batch: [Recommendation] = []
        try context.recommend(queries[..<8], into: &batch)
        for (b, query) in queries.enumerated() {
            let expected = try reference.recommend(query)
            let single = try context.recommend(query)
            #expect(single.items == expected.items && single.scores == expected.scores, "session \(b)")
            if b < 8 { #expect(batch[b].items == expected.items && batch[b].scores == expected.scores, "batched session \(b)") }
        }
        let statistics = try #require(context.exactScanStatistics)
        #expect(statistics.approximate > 0)
        #expect(statistics.fallbacks == 0)
    }
}

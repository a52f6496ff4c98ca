// FORMAT.md §12: the int8 scan table of version 2 — round trip, version-1 files unchanged, the bad-input
// catalogue of the new tensors, the bind-time shape check, and `--scan-table int8` on a real fixture
// (the int8 path returns the fp32 answers, item for item and score for score).
import Foundation
import Testing
@testable import SeqRecCore

@Suite("Format: int8 scan table (version 2)")
struct FormatScanTableTests {
    typealias Support = FormatTestSupport

    /// The small SASRec file with an int8 table of `rows` rows (default: the scoring table's).
    func writer(rows: Int? = nil, width: Int? = nil) throws -> ModelFileWriter {
        var writer = try Support.smallWriter(.recboleSASRec)
        let n = rows ?? writer.hyperparameters.int("n_items")!, w = width ?? writer.hyperparameters.int("hidden_size")!
        writer.setInt8ScanTable(rows: (0..<(n * w)).map { Int8(truncatingIfNeeded: $0 * 7 - 60) },
                                scales: (0..<n).map { Float($0) * 0.01 }, width: w)
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

    @Test func roundTripIsVersion2AndPlainFilesStayVersion1() throws {
        let path = try Support.write(try writer().serialize())
        let file = try ModelFile.open(path: path)
        #expect(file.formatVersion == 2)
        let n = file.hyperparameters.int("n_items")!, w = file.hyperparameters.int("hidden_size")!
        let rows = try #require(file.int8Tensor(ScanTensors.int8Rows))
        #expect(rows.shape == [n, w])
        #expect(Array(rows.data.prefix(3)) == [-60, -53, -46])
        #expect(file.tensor(ScanTensors.int8Scales)?.data.count == n)
        // With the answers' optional popularity tensor too (a version-1 feature): both kept.
        var both = try writer()
        both.addTensor(OptionalTensors.popularity, shape: [n], values: (0..<n).map { Float($0) })
        let withPopularity = try ModelFile.open(path: try Support.write(try both.serialize()))
        #expect(withPopularity.formatVersion == 2 && withPopularity.tensor(OptionalTensors.popularity)?.data.count == n)
        #expect(withPopularity.int8Tensor(ScanTensors.int8Rows) != nil)
        let plain = try ModelFile.open(path: try Support.write(try Support.smallFile()))
        #expect(plain.formatVersion == 1 && plain.int8Tensor(ScanTensors.int8Rows) == nil)
    }

    @Test func badInputCatalogue() throws {
        let good = try writer()
        func edited(_ edit: (inout ModelFileWriter.Layout) -> Void) -> [UInt8] {
            var layout = good.layout()
            edit(&layout)
            return ModelFileWriter.serialize(layout)
        }
        let rowsIndex = good.layout().entries.firstIndex { $0.name == ScanTensors.int8Rows }!
        let scalesIndex = rowsIndex + 1
        try expectRejected(edited { $0.formatVersion = 1 }, "seqrec.scan.int8", "need format version 2")
        try expectRejected(edited { $0.formatVersion = 3 }, "format_version", "upgrade seqrec")
        try expectRejected(edited { $0.entries.remove(at: scalesIndex) }, "is present without", ScanTensors.int8Scales)
        try expectRejected(edited { $0.entries.remove(at: rowsIndex) }, "is present without", ScanTensors.int8Rows)
        try expectRejected(edited { $0.entries[rowsIndex].name = "seqrec.scan.f16" }, "seqrec.scan.f16",
                           "not a scan tensor this reader knows")
        try expectRejected(edited { $0.entries[scalesIndex].values[2] = -1 }, "element 2 is -1.0", "≥ 0")
        try expectRejected(edited { $0.entries[scalesIndex].values[1] = .nan }, ScanTensors.int8Scales, "nan")
        try expectRejected(edited {
            $0.entries[scalesIndex].shape[0] -= 1
            $0.entries[scalesIndex].byteLength -= 4
        }, ScanTensors.int8Scales, "expected f32")
        try expectRejected(edited {   // int8 rows stored as a rank-1 tensor
            let entry = $0.entries[rowsIndex]
            $0.entries[rowsIndex].shape = [entry.shape[0] * entry.shape[1]]
        }, ScanTensors.int8Rows, "expected int8 [rows, width]")
        // Wider than the kernels take (written through the layout: the writer's own check refuses it).
        try expectRejected(ModelFileWriter.serialize(try writer(rows: 1, width: 4097).layout()), "width 4097", "above 4096")
    }

    @Test func bindingChecksTheScoringTableShape() throws {
        let n = try writer().hyperparameters.int("n_items")!
        let path = try Support.write(try writer(rows: n + 1).serialize())
        #expect(throws: ModelLoadError.self) { _ = try Recommender(path: path) }
        #expect((try? Recommender(path: path, scanTable: .fp32)) != nil)   // the fp32 scan ignores the table
    }

    /// `seqrec convert --scan-table int8` on the real RecBole SASRec fixture: same answers as fp32.
    @Test func convertedFixtureAnswersExactlyAsFp32() throws {
        let folder = Support.fixture("recbole-sasrec-ml100k")
        let path = try Support.temporaryDirectory().appendingPathComponent("sasrec-int8.seqrec").path
        try FixtureImporter.convert(folder: folder, output: path)
        try ScanTableConversion.add([.int8], path: path)
        let fp32 = try Recommender(path: path, maxBatch: 16, scanTable: .fp32)
        let exact = try Recommender(path: path, maxBatch: 16)
        #expect(exact.file.formatVersion == 2 && exact.reducedScan != nil && fp32.reducedScan == nil)
        let queries = (0..<16).map { b in
            var query = SessionQuery(items: (0..<(3 + b)).map { Int32(1 + ($0 * 211 + b * 97) % 1682) }, k: [10, 1, 100][b % 3])
            query.excludeSeen = b % 2 == 0
            if b % 4 == 1 { query.deny = [50, 100, 181] }
            if b % 5 == 3 { query.candidates = [1, 2, 3, 50, 100, 258]; query.k = 1 }
            return query
        }
        let reference = fp32.makeContext(), context = exact.makeContext()
        var batch: [Recommendation] = []
        try context.recommend(queries[..<8], into: &batch)   // 8 sessions: the int8 scan for a batch
        let before = try #require(context.exactScanStatistics)
        var whole: [Recommendation] = [], wholeFp32: [Recommendation] = []
        // 16 sessions: the batched int8 kernel on VNNI CPUs (the fused scan's answer), else the batched
        // fp32 scan, as the fp32 model runs it (KERNELS.md, "Batched int8 scan").
        try context.recommend(queries[...], into: &whole)
        try reference.recommend(queries[...], into: &wholeFp32)
        let batchedInt8 = try #require(context.exactScanStatistics) != before
        for (b, query) in queries.enumerated() {
            let expected = try reference.recommend(query)   // one session: the fp32 fused scan
            let single = try context.recommend(query)
            #expect(single.items == expected.items && single.scores == expected.scores, "session \(b)")
            if b < 8 { #expect(batch[b].items == expected.items && batch[b].scores == expected.scores, "batched session \(b)") }
            let wholeExpected = batchedInt8 ? expected : wholeFp32[b]
            #expect(whole[b].items == wholeExpected.items && whole[b].scores == wholeExpected.scores, "16-session batch, session \(b)")
        }
        let statistics = try #require(context.exactScanStatistics)
        #expect(statistics.approximate + statistics.fallbacks
                == (batchedInt8 ? 2 : 1) * queries.filter { $0.candidates == nil }.count
                    + queries[..<8].filter { $0.candidates == nil }.count)
        #expect(statistics.approximate > 0)
    }
}

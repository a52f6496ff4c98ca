// Issue 18 at 10M items: files over 4 GiB (64-bit offsets end to end, without 4 GiB of disk: the
// streaming writer leaves the gap before a tensor placed past 4 GiB as a hole), the streaming writer
// byte for byte against the in-memory encoder, XXH64 fed in pieces, and the converter's int8 rows produced
// block by block across row edges.
import Foundation
import Testing
@testable import SeqRecCore
import SeqRecTestSupport

@Suite("Format: large files and the streaming writer")
struct FormatLargeFileTests {
    typealias Support = FormatTestSupport

    /// The small SASRec model with an int8 scan table whose rows are the real quantization of its table.
    func scanWriter() throws -> (writer: ModelFileWriter, rows: [Int8], scales: [Float]) {
        var writer = try Support.smallWriter(.recboleSASRec)
        let n = writer.hyperparameters.int("n_items")!, w = writer.hyperparameters.int("hidden_size")!
        let rows = (0..<(n * w)).map { Int8(truncatingIfNeeded: $0 * 5 - 77) }, scales = (0..<n).map { Float($0) * 0.02 }
        writer.setInt8ScanTable(rows: rows, scales: scales, width: w)
        return (writer, rows, scales)
    }

    @Test("the streaming writer writes exactly the in-memory encoder's bytes", arguments: [false, true])
    func streamedEqualsSerialized(_ withScanTable: Bool) throws {
        let writer = withScanTable ? try scanWriter().writer : try Support.smallWriter(.recboleBERT4Rec)
        let path = try Support.temporaryDirectory().appendingPathComponent("streamed.seqrec").path
        try writer.write(to: path)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == (try writer.serialize()))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(leftovers == ["streamed.seqrec"], "no temporary file is left behind")
    }

    @Test("XXH64 fed in pieces equals XXH64 in one call", arguments: [0, 1, 31, 32, 33, 64, 100, 1000])
    func streamedChecksum(_ length: Int) {
        var rng = SplitMix64(seed: UInt64(length) + 7)
        let bytes = (0 ..< length).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        let whole = Checksum.xxh64(bytes)
        for _ in 0 ..< 20 {
            var cuts = (0 ..< 3).map { _ in Int.random(in: 0 ... length, using: &rng) }.sorted()
            cuts = [0] + cuts + [length]
            var stream = Checksum.Stream()
            bytes.withUnsafeBytes { raw in
                for (start, end) in zip(cuts, cuts.dropFirst()) { stream.update(UnsafeRawBufferPointer(rebasing: raw[start ..< end])) }
            }
            #expect(stream.finish() == whole, "cuts \(cuts)")
        }
    }

    @Test("a tensor past 4 GiB round-trips: u64 offsets through writer, reader and scan binding")
    func tensorPastFourGiB() throws {
        let (writer, expectedRows, expectedScales) = try scanWriter()
        var layout = writer.layout()
        let rowsIndex = try #require(layout.entries.firstIndex { $0.name == ScanTensors.int8Rows })
        // Move the scan table (rows, then scales) past 2³² in the data section; the gap is zeros.
        let shift = (UInt64(1) << 32) + 4096 - layout.entries[rowsIndex].offset
        for index in rowsIndex ..< layout.entries.count { layout.entries[index].offset += shift }
        let folder = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("big.seqrec").path
        try ModelFileWriter.write(layout, to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? NSNumber)?.uint64Value ?? 0 > UInt64(1) << 32)

        // One open of the big file (every open hashes its 4 GiB): the engine binds the scan table that lives
        // past 4 GiB and answers as the fp32 scan of the same weights in a normal file does.
        let exact = try Recommender(path: path, maxBatch: 1)
        let file = exact.file
        let rows = try #require(file.int8Tensor(ScanTensors.int8Rows))
        let info = try #require(file.tensors.first { $0.name == ScanTensors.int8Rows })
        #expect(info.offset > UInt64(1) << 32)
        #expect(Array(rows.data) == expectedRows)
        #expect(Array(try #require(file.tensor(ScanTensors.int8Scales)).data) == expectedScales)
        #expect(file.sections[3].length > UInt64(1) << 32)
        #expect(exact.reducedScan != nil)
        let fp32 = try Recommender(path: try Support.write(try writer.serialize()), maxBatch: 1, scanTable: .fp32)
        let session = SessionQuery(items: [1, 2, 3], k: 5)
        let a = try exact.makeContext().recommend(session), b = try fp32.makeContext().recommend(session)
        #expect(a.items == b.items && a.scores == b.scores && !a.items.isEmpty)
    }

    @Test("huge tensor offsets in a small file are refused by name, not followed")
    func hugeOffsetsRefused() throws {
        let base = try scanWriter().writer.serialize()
        let entry = try #require(Support.tableEntries(base).last)   // the scales, the last tensor
        for offset: UInt64 in [UInt64(1) << 32, UInt64(1) << 40, UInt64.max - 63] {
            var bytes = base
            Support.writeU64(offset, into: &bytes, at: entry.offset)
            ModelFileWriter.resealChecksums(&bytes)
            let error = try #require(try Support.openError(bytes), "offset \(offset) accepted")
            #expect(error.description.contains(ScanTensors.int8Scales) && error.description.contains("exceeds"), "\(error)")
        }
    }

    @Test("the converter's int8 rows, produced block by block, equal row-by-row quantization", arguments: [1, 3, 5, 64, 1000])
    func quantizedRowsAcrossBlocks(_ scratchBytes: Int) throws {
        let rows = 37, width = 7
        var rng = SplitMix64(seed: 18)
        let values = (0 ..< rows * width).map { _ in Float.random(in: -3 ... 3, using: &rng) }
        var expected = [Int8](repeating: 0, count: rows * width)
        var expectedScales: [Float] = []
        let (payload, scales) = values.withUnsafeBufferPointer { t in
            for i in 0 ..< rows {
                expected.withUnsafeMutableBufferPointer { q in
                    expectedScales.append(Int8ScanTable.quantize(t.baseAddress! + i * width, width: width, into: q.baseAddress! + i * width))
                }
            }
            let table = ScoringTable(table: t.baseAddress!, bias: nil, rows: rows, width: width, firstItem: 1)
            return ScanTableConversion.quantized(table)
        }
        #expect(scales == expectedScales)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchBytes, alignment: 1)
        defer { scratch.deallocate() }
        var produced: [Int8] = []
        values.withUnsafeBufferPointer { _ in   // the payload reads `values` through the table pointer
            payload.forEachBlock(limit: rows * width, scratch: scratch) { block in
                produced += block.map { Int8(bitPattern: $0) }
            }
        }
        #expect(produced == expected)
    }
}

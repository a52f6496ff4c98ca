// The table memory policy: parsing, the size rule, the resident copy (faithful, 2 MB aligned,
// same answers as the mapped table), and releasing the copied file pages.
import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

@Suite("Table memory")
struct TableMemoryTests {
    @Test func parsesTheEnvironmentValue() throws {
        #expect(try TableMemory.fromEnvironmentValue(nil) == .automatic)
        #expect(try TableMemory.fromEnvironmentValue("auto") == .automatic)
        #expect(try TableMemory.fromEnvironmentValue("mapped") == .mapped)
        #expect(try TableMemory.fromEnvironmentValue("resident") == .resident)
        #expect(throws: ModelLoadError.self) { try TableMemory.fromEnvironmentValue("huge") }
    }

    @Test func copiesLargeTablesOnlyUnderAutomatic() {
        let limit = TableMemory.residentMinimumBytes
        #expect(!TableMemory.automatic.copies(bytes: limit - 1) && TableMemory.automatic.copies(bytes: limit))
        #expect(!TableMemory.mapped.copies(bytes: 1 << 40) && TableMemory.resident.copies(bytes: 0))
    }

    @Test(arguments: [0, 1, 9, 4097])
    func residentCopyIsFaithfulAndAligned(rows: Int) throws {
        var rng = SplitMix64(seed: testSeed(rows))
        let values = rng.floats(Swift.max(1, rows * 5))
        let bias = rng.floats(Swift.max(1, rows))
        try values.withUnsafeBufferPointer { table in
            try bias.withUnsafeBufferPointer { b in
                let source = ScoringTable(table: table.baseAddress!, bias: b.baseAddress!, rows: rows, width: 5,
                                          firstItem: 1)
                let copy = try #require(ResidentTable(copying: source))
                let scoring = copy.scoring
                #expect(Int(bitPattern: scoring.table) % (2 << 20) == 0)
                #expect(scoring.rows == rows && scoring.width == 5 && scoring.firstItem == 1 && scoring.bias == b.baseAddress!)
                #expect(Array(UnsafeBufferPointer(start: scoring.table, count: rows * 5)) == Array(values.prefix(rows * 5)))
            }
        }
    }

    @Test func residentAndMappedTablesGiveTheSameAnswers() throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mapped = try Recommender(path: path, maxBatch: 4, tableMemory: .mapped)
        let resident = try Recommender(path: path, maxBatch: 4, tableMemory: .resident)
        #expect(mapped.scoring.table == mapped.encoder.scoring.table, "mapped reads the file in place")
        #expect(resident.scoring.table != resident.encoder.scoring.table, "resident reads its own copy")
        var query = SessionQuery(items: [358, 53, 162, 102], k: 100)
        query.excludeSeen = true
        #expect(try mapped.makeContext().recommend(query) == resident.makeContext().recommend(query))
    }

    @Test func releasedFilePagesReadBackUnchangedAndOnlyWholeInnerPagesAreReleased() throws {
        let page = Int(getpagesize())
        let bytes = (0..<(5 * page + 123)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = NSTemporaryDirectory() + "seqrec-mapped-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path)
        let all = file.bytes
        #expect(Array(all) == bytes)
        // From mid-page 0 to mid-page 4: pages 1, 2 and 3 are whole.
        let inner = UnsafeRawBufferPointer(rebasing: all[(page / 2)..<(4 * page + 10)])
        #expect(file.releasePages(of: inner) == 3 * page)
        #expect(Array(file.bytes) == bytes, "a private file mapping refills released pages from the file")
        // Outside the mapping (anonymous memory would read back as zeros): untouched.
        let other = [UInt8](repeating: 9, count: 3 * page)
        other.withUnsafeBytes { #expect(file.releasePages(of: $0) == 0) }
        #expect(other.allSatisfy { $0 == 9 })
        #expect(file.releasePages(of: UnsafeRawBufferPointer(rebasing: all[10..<20])) == 0, "no whole page inside")
    }
}

// `seqrec-bench open`: how long a model file takes to open (ModelFile.open: every check of FORMAT.md)
// and to load to ready (Recommender: open + family binding + the int8 table's per-row numbers), with the
// page cache warm and cold (the file's pages dropped with posix_fadvise before each cold run, this file
// only), and where the warm open's time goes: the tensor data checksum and the finiteness pass, each timed
// alone on one core (the reader runs them at once on two). Issue 18, item 1. Each phase reports wall time
// and the process's CPU time (all threads): on a machine shared with other work the wall time grows with
// the load, the CPU time much less, and on an idle 2-core machine the wall time of a two-thread phase is
// about half its CPU time.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SeqRecCore

public enum OpenCommand {
    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: ["model", "repeats", "cold"])
        let path = try arguments.requiredString("model")
        let repeats = try arguments.int("repeats", default: 5, range: 1...100)
        let cold = try arguments.choice("cold", default: "yes", from: ["yes", "no"]) == "yes"
        var lines: [String] = []
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        lines.append("file \(path): \(ReportEncoding.decimal(Double(size) / 1e9, 2)) GB")
        _ = try Recommender(path: path, maxBatch: 1)   // warms the page cache
        var rows: [(String, [(wall: Double, cpu: Double)])] = []
        rows.append(("open, warm (ModelFile.open)", try (0..<repeats).map { _ in try milliseconds { _ = try ModelFile.open(path: path) } }))
        rows.append(("load to ready, warm (Recommender)",
                     try (0..<repeats).map { _ in try milliseconds { _ = try Recommender(path: path, maxBatch: 1) } }))
        let file = try ModelFile.open(path: path)
        let data = file.sections[3]
        let mapping = try MappedFile(path: path)
        let dataBytes = UnsafeRawBufferPointer(rebasing: mapping.bytes[Int(data.offset) ..< Int(data.offset + data.length)])
        rows.append(("  tensor data XXH64 alone (\(ReportEncoding.decimal(Double(data.length) / 1e9, 2)) GB, 1 core)",
                     try (0..<repeats).map { _ in try milliseconds { _ = Checksum.xxh64(dataBytes) } }))
        let floats = file.tensors.filter { $0.dtype == .f32 }
        let floatBytes = floats.reduce(UInt64(0)) { $0 + $1.byteLength }
        rows.append(("  finiteness of f32 tensors alone (\(ReportEncoding.decimal(Double(floatBytes) / 1e9, 2)) GB, 1 core)",
                     try (0..<repeats).map { _ in try milliseconds {
                         for tensor in floats {
                             _ = ModelFileReader.firstNonFinite(UnsafeRawBufferPointer(
                                 rebasing: mapping.bytes[Int(tensor.offset) ..< Int(tensor.offset + tensor.byteLength)]))
                         }
                     } }))
        if cold {
            rows.append(("read the file, cold (sequential read(2): the I/O alone)",
                         try (0..<repeats).map { _ in try dropCache(path); return try milliseconds { try readAll(path) } }))
            rows.append(("open, cold", try (0..<repeats).map { _ in
                try dropCache(path); return try milliseconds { _ = try ModelFile.open(path: path) } }))
            rows.append(("load to ready, cold", try (0..<repeats).map { _ in
                try dropCache(path); return try milliseconds { _ = try Recommender(path: path, maxBatch: 1) } }))
        }
        lines.append("| phase | wall ms, median | wall min–max | CPU ms, median (all threads) |")
        lines.append("|---|--:|--:|--:|")
        for (name, samples) in rows {
            let wall = samples.map(\.wall).sorted(), cpu = samples.map(\.cpu).sorted()
            lines.append("| \(name) | \(ReportEncoding.decimal(wall[wall.count / 2], 0)) | "
                         + "\(ReportEncoding.decimal(wall[0], 0))–\(ReportEncoding.decimal(wall[wall.count - 1], 0)) | "
                         + "\(ReportEncoding.decimal(cpu[cpu.count / 2], 0)) |")
        }
        return lines.joined(separator: "\n")
    }

    private static func milliseconds(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        let start = monotonicNanoseconds(), cpuStart = cpuNanoseconds()
        try body()
        return (Double(monotonicNanoseconds() - start) / 1e6, Double(cpuNanoseconds() - cpuStart) / 1e6)
    }

    private static func cpuNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Drops this file's pages from the page cache (no other file's): the next open reads from disk.
    private static func dropCache(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchUsageError("cannot open \(path)") }
        defer { close(fd) }
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    }

    private static func readAll(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchUsageError("cannot open \(path)") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while read(fd, buffer, 8 << 20) > 0 {}
    }
}

// Writing a model file to disk without holding it (FORMAT.md §11, "Writing large files"): the sections
// are encoded in memory (they are small), the tensor data section is streamed block by block from each
// tensor's payload while its XXH64 is computed on the way, and the preamble, which holds that checksum,
// is written last at offset 0. The file appears under its name only complete: it is written to a
// temporary name in the same folder, flushed with fsync and renamed over the target.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ModelFileWriter {
    /// Validates, then streams the file atomically to `path`.
    public func write(to path: String, source: String = "<writer>") throws {
        try validate(source: source)
        try Self.write(layout(), to: path)
    }

    /// Streams `layout` to `path` (no validation: tests build layouts that break one rule, or that place a
    /// tensor past 4 GiB). Entries must be in offset order without overlap; gaps and short payloads are
    /// written as zeros.
    package static func write(_ layout: Layout, to path: String) throws(FormatError) {
        let temporary = path + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw outputError(path, "cannot be created (\(temporary))") }
        var output = StreamOutput(fd: fd, path: path)
        do throws(FormatError) {
            try output.stream(layout)
            guard fsync(fd) == 0 else { throw outputError(path, "fsync failed") }
            guard close(fd) == 0 else { throw outputError(path, "close failed") }
            output.closed = true
            guard rename(temporary, path) == 0 else { throw outputError(path, "cannot replace it with \(temporary)") }
        } catch {
            if !output.closed { close(fd) }
            unlink(temporary)
            throw error
        }
    }

    fileprivate static func outputError(_ path: String, _ what: String) -> FormatError {
        let code = errno
        return FormatError(file: path, field: "output",
                           problem: "\(what): \(String(cString: strerror(code))) (errno \(code))",
                           hint: "check the folder exists, is writable and has room for the file")
    }
}

/// The sequential writer behind `ModelFileWriter.write(_:to:)`.
private struct StreamOutput {
    let fd: Int32
    let path: String
    var closed = false
    private var position: UInt64 = 0
    private static let zeros = [UInt8](repeating: 0, count: 1 << 16)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    mutating func stream(_ layout: ModelFileWriter.Layout) throws(FormatError) {
        let (metadata, table, vocabulary) = ModelFileWriter.encodeSections(layout)
        let placement = ModelFileWriter.sectionPlacement(layout, metadata: metadata.count, table: table.count,
                                                         vocabulary: vocabulary.count)
        var ignored = Checksum.Stream()
        try zeros(UInt64(FileLayout.preambleSize), hashing: &ignored)   // the preamble, written last
        var checksums: [UInt64] = []
        for bytes in [metadata, table, vocabulary] {
            try emit(bytes, count: bytes.count, hashing: &ignored)
            checksums.append(Checksum.xxh64(bytes))
        }
        let data = placement[3]
        try zeros(data.offset - position, hashing: &ignored)
        var hash = Checksum.Stream()
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: TensorPayload.blockBytes, alignment: 64)
        defer { scratch.deallocate() }
        for entry in layout.entries {
            let start = data.offset + entry.offset
            guard start >= position else {
                throw FormatError(file: path, field: "tensor '\(entry.name)'.offset",
                                  problem: "overlaps the tensor before it; a streamed layout is in offset order")
            }
            try zeros(start - position, hashing: &hash)
            var failure: FormatError?
            entry.payload.forEachBlock(limit: Int(entry.byteLength), scratch: scratch) { block in
                guard failure == nil else { return }
                do throws(FormatError) { try emit(block, hashing: &hash) } catch { failure = error }
            }
            if let failure { throw failure }
            try zeros(start + entry.byteLength - position, hashing: &hash)
        }
        try zeros(data.offset + data.length - position, hashing: &hash)
        checksums.append(hash.finish())
        let sections = zip(placement, checksums).map { ($0.offset, $0.length, $1) }
        let preamble = ModelFileWriter.preamble(layout, fileLength: position, sections: sections)
        let written = preamble.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == preamble.count else { throw ModelFileWriter.outputError(path, "the preamble cannot be written") }
    }

    /// The first `count` bytes of `array`.
    private mutating func emit(_ array: [UInt8], count: Int, hashing hash: inout Checksum.Stream) throws(FormatError) {
        let result = array.withUnsafeBytes { raw in
            Result { () throws(FormatError) in try emit(UnsafeRawBufferPointer(rebasing: raw[0 ..< count]), hashing: &hash) }
        }
        try result.get()
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer, hashing hash: inout Checksum.Stream) throws(FormatError) {
        hash.update(bytes)
        var done = 0
        while done < bytes.count {
            // safe: done < bytes.count, so the rest of the buffer is in range.
            let count = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw ModelFileWriter.outputError(path, "cannot be written") }
            done += count
        }
        position += UInt64(bytes.count)
    }

    /// `count` zero bytes. Runs of 1 MiB or more become a hole (lseek), so a layout with a tensor past 4 GiB
    /// needs no 4 GiB of disk; they are hashed all the same.
    private mutating func zeros(_ count: UInt64, hashing hash: inout Checksum.Stream) throws(FormatError) {
        if count >= 1 << 20 {
            Self.zeros.withUnsafeBytes { raw in
                var left = count
                while left > 0 {
                    let chunk = Int(Swift.min(left, UInt64(raw.count)))
                    hash.update(UnsafeRawBufferPointer(rebasing: raw[0 ..< chunk]))
                    left -= UInt64(chunk)
                }
            }
            position += count
            // A file ending in a hole gets its length from ftruncate; lseek alone does not extend it.
            guard lseek(fd, off_t(position), SEEK_SET) >= 0, ftruncate(fd, off_t(position)) == 0 else {
                throw ModelFileWriter.outputError(path, "cannot be extended to \(position) bytes")
            }
            return
        }
        var left = count
        while left > 0 {
            let chunk = Int(Swift.min(left, UInt64(Self.zeros.count)))
            try emit(Self.zeros, count: chunk, hashing: &hash)
            left -= UInt64(chunk)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. It owns the mapping: `munmap` runs in `deinit`, so any view
/// into `bytes` is valid only while the `MappedFile` lives.
package final class MappedFile: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only and never changes after init.
    package let path: String
    private let base: UnsafeRawPointer?
    private let length: Int

    /// Maps `path` read-only. Throws `FormatError` (with the errno text) when the file cannot be opened,
    /// inspected or mapped.
    package init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MappedFile.systemError(path, "open") }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MappedFile.systemError(path, "fstat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(file: path, field: "file", problem: "not a regular file")
        }
        guard let size = Int(exactly: info.st_size), size >= 0 else {
            throw FormatError(file: path, field: "file", problem: "size \(info.st_size) is not representable")
        }
        length = size
        if size == 0 {
            // mmap rejects a zero length; an empty file is simply an empty byte range.
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw MappedFile.systemError(path, "mmap") }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base {
            // safe: base/length are exactly what mmap returned in init.
            munmap(UnsafeMutableRawPointer(mutating: base), length)
        }
    }

    /// The mapped bytes; valid while `self` lives.
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: length)
    }

    package var count: Int { length }

    /// Drops this process's page-table entries for the whole pages inside `range` (nothing when the
    /// range is not inside the mapping) and returns the bytes dropped. Reading them later stays valid:
    /// a private read-only file mapping, never written, is refilled from the file on the next touch
    /// (MADV_DONTNEED); only anonymous memory would read back as zeros, which the bounds check excludes.
    /// Used once a table was copied elsewhere, so the process does not hold both (Recommender).
    @discardableResult
    package func releasePages(of range: UnsafeRawBufferPointer) -> Int {
        guard let base, let start = range.baseAddress, start >= base, range.count <= length - (start - base) else { return 0 }
        let page = Int(getpagesize())
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return 0 }
        // safe: [first, end) is whole pages of this read-only file mapping (checked above); advisory.
        return madvise(aligned, end - first, MADV_DONTNEED) == 0 ? end - first : 0
    }

    /// The `count` floats starting at `offset`, bound once as `Float`; valid while `self` lives.
    /// Returns nil when the range is outside the file or not 4-byte aligned in memory.
    package func floats(atByteOffset offset: Int, count: Int) -> UnsafeBufferPointer<Float>? {
        guard let base, offset >= 0, count >= 0 else { return nil }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, offset <= length, byteCount <= length - offset else { return nil }
        let start = base + offset
        guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else { return nil }
        // safe: the range lies inside the read-only mapping and is aligned for Float; the mapping
        // holds only plain bytes, so viewing them as Float is valid.
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count)
    }

    /// `count` 16-bit values (bf16 bits) at `offset`, or nil when out of range or not 2-byte aligned in memory.
    package func uint16s(atByteOffset offset: Int, count: Int) -> UnsafeBufferPointer<UInt16>? {
        guard let base, offset >= 0, count >= 0, count <= Int.max / 2, offset <= length, 2 * count <= length - offset,
              Int(bitPattern: base + offset) % MemoryLayout<UInt16>.alignment == 0 else { return nil }
        // safe: the range lies inside the read-only mapping of plain bytes and is aligned for UInt16.
        return UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: UInt16.self), count: count)
    }

    /// `count` bytes at `offset` as Int8, or nil when out of range.
    package func int8s(atByteOffset offset: Int, count: Int) -> UnsafeBufferPointer<Int8>? {
        guard let base, offset >= 0, count >= 0, offset <= length, count <= length - offset else { return nil }
        return UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: Int8.self), count: count)
    }

    private static func systemError(_ path: String, _ call: String) -> FormatError {
        let code = errno
        let text = String(cString: strerror(code))
        return FormatError(file: path, field: "file", problem: "\(call) failed: \(text) (errno \(code))")
    }
}

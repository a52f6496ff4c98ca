// Anonymous memory that starts on a 2 MB boundary and is advised for transparent huge pages before its
// first touch: what the resident scoring tables live in (ResidentTable), and what the benchmarks'
// bandwidth probe streams, so both read the same kind of memory.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one anonymous mapping; `start` stays valid while `self` lives.
package final class HugePageRegion: @unchecked Sendable {
    // @unchecked Sendable: the owner writes the memory once, before sharing it, and only reads it afterwards.
    package static var hugePage: Int { 2 << 20 }

    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int
    /// The first 2 MB boundary inside the mapping; `bytes` bytes from here are usable.
    package let start: UnsafeMutableRawPointer

    /// Nil when the mapping cannot be made. Without THP the memory still works, on 4 KB pages.
    package init?(bytes: Int) {
        // One huge page more than needed, so the start can be rounded up to a 2 MB boundary.
        let length = bytes + Self.hugePage
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        mapping = mapped
        mappingLength = length
        let skip = (Self.hugePage - Int(bitPattern: mapped) % Self.hugePage) % Self.hugePage
        // safe: skip < 2 MB, so [start, start + bytes) lies inside the mapping of bytes + 2 MB.
        start = mapped + skip
        #if os(Linux)
        _ = madvise(start, bytes, MADV_HUGEPAGE)  // advisory; must precede the first touch
        #endif
    }

    deinit {
        // safe: mapping/mappingLength are exactly what mmap returned in init.
        munmap(mapping, mappingLength)
    }
}

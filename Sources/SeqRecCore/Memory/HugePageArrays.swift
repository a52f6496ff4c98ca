// Arrays of millions of elements that are read and written at random (the catalogue's per-record and
// per-item tables, docs/OPERATIONS.md §12.4), allocated in memory advised for transparent huge pages
// before its first touch. With 4 KB pages every random access to a 32 MB table also misses the TLB, and
// in a VM that page walk is longer than the cache miss itself; a prefetch does not hide it. Tables
// smaller than `minimumBytes` are left as they are (they would hold no whole 2 MB page).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum HugePageArrays {
    /// Smallest table worth advising: two huge pages, so at least one whole page lies inside it.
    static var minimumBytes: Int { 2 * HugePageRegion.hugePage }

    /// Advises the whole 2 MB pages inside `bytes` bytes at `start` (still untouched) for huge pages.
    static func advise(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard bytes >= minimumBytes else { return }
        let page = HugePageRegion.hugePage, address = Int(bitPattern: start)
        let first = (address + page - 1) / page * page, end = (address + bytes) / page * page
        guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        // safe: [first, end) lies inside the caller's allocation; the advice changes no contents.
        _ = madvise(aligned, end - first, MADV_HUGEPAGE)   // advisory: without THP the pages stay 4 KB
        #endif
    }
}

extension Array {
    /// `count` copies of `value`, in huge-page-advised memory when large.
    init(hugePagesRepeating value: Element, count: Int) {
        self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
            if let start = buffer.baseAddress {
                HugePageArrays.advise(UnsafeMutableRawPointer(start), bytes: count * MemoryLayout<Element>.stride)
            }
            buffer.initialize(repeating: value)
            initialized = count
        }
    }

    /// A copy of `elements` with room for `capacity` (≥ their count), in huge-page-advised memory when large.
    init(hugePagesCopying elements: [Element], capacity: Int) {
        precondition(capacity >= elements.count, "room for every element")
        self.init(unsafeUninitializedCapacity: capacity) { buffer, initialized in
            if let start = buffer.baseAddress {
                HugePageArrays.advise(UnsafeMutableRawPointer(start), bytes: capacity * MemoryLayout<Element>.stride)
            }
            initialized = buffer.initialize(fromContentsOf: elements)
        }
    }

    /// Makes room for one more element as `append` would (doubling), but in huge-page-advised memory
    /// once the array is large; call before each `append` of a table that grows to millions.
    @inline(__always)
    mutating func reserveOneMoreInHugePages() {
        guard count == capacity, count * MemoryLayout<Element>.stride >= HugePageArrays.minimumBytes / 2 else { return }
        self = Array(hugePagesCopying: self, capacity: 2 * count)
    }
}

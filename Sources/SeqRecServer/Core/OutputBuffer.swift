// Bytes encoded for one connection and not yet taken by the kernel. Appends go to the end; the
// transport takes from the front; the consumed prefix is dropped lazily so a partly written
// buffer is never copied per write.
package struct OutputBuffer {
    private(set) package var bytes: [UInt8] = []
    private var start = 0

    package init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Bytes waiting to be written.
    package var count: Int { bytes.count - start }
    package var isEmpty: Bool { count == 0 }

    /// Appends frames through `encode`.
    package mutating func append(_ encode: (inout [UInt8]) -> Void) {
        encode(&bytes)
    }

    /// Calls `body` with the unwritten bytes.
    package func withPending<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { all in
            // safe: start ≤ bytes.count.
            try body(UnsafeRawBufferPointer(rebasing: all[start...]))
        }
    }

    /// Marks `written` bytes from the front as sent.
    package mutating func consume(_ written: Int) {
        precondition(written >= 0 && written <= count, "consumed \(written) of \(count) pending bytes")
        start += written
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= bytes.count / 2 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
    }

    /// Gives memory back after a burst: a buffer that grew past `limit` bytes of capacity and is now
    /// empty is replaced by a small one (issue 11.8: capacity must not ratchet up per connection).
    package mutating func shrinkIfEmpty(above limit: Int, to capacity: Int) {
        guard isEmpty, bytes.capacity > limit else { return }
        bytes = []
        bytes.reserveCapacity(capacity)
        start = 0
    }
}

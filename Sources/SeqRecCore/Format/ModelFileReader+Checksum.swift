/// XXH64 (xxHash64, seed 0), the checksum of every section of a model file (FORMAT.md §1).
///
/// Written from the published algorithm: four 64-bit lanes over 32-byte stripes, then 8-, 4- and 1-byte
/// tails and a final avalanche. Word-at-a-time. `Checksum.Stream` hashes input that arrives in pieces (the
/// writer streams the tensor data section to disk without holding it); the one-shot `xxh64` is a stream
/// fed once, so both give the same value by construction.
package enum Checksum {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    package static func xxh64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var stream = Stream()
        stream.update(bytes)
        return stream.finish()
    }

    static func xxh64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { xxh64($0) }
    }

    /// XXH64 over bytes fed in any number of `update` calls.
    struct Stream {
        private var lane1 = prime1 &+ prime2
        private var lane2 = prime2
        private var lane3: UInt64 = 0
        private var lane4 = 0 &- prime1
        private var total = 0
        /// Bytes of an incomplete 32-byte stripe carried to the next `update` (little-endian words).
        private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        private var pendingCount = 0

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard !bytes.isEmpty else { return }
            total += bytes.count
            var position = 0
            if pendingCount > 0 {
                let take = Swift.min(32 - pendingCount, bytes.count)
                withUnsafeMutableBytes(of: &pending) { stripe in
                    // safe: pendingCount + take ≤ 32 bytes of `pending`, take ≤ bytes.count.
                    stripe.baseAddress!.advanced(by: pendingCount).copyMemory(from: bytes.baseAddress!, byteCount: take)
                }
                pendingCount += take
                position = take
                guard pendingCount == 32 else { return }
                var stripe = pending
                withUnsafeBytes(of: &stripe) { stripe in consume(stripe, at: 0) }
                pendingCount = 0
            }
            let count = bytes.count
            while position + 32 <= count {
                consume(bytes, at: position)
                position += 32
            }
            if position < count {
                withUnsafeMutableBytes(of: &pending) { stripe in
                    // safe: fewer than 32 bytes remain.
                    stripe.baseAddress!.copyMemory(from: bytes.baseAddress! + position, byteCount: count - position)
                }
                pendingCount = count - position
            }
        }

        @inline(__always)
        private mutating func consume(_ bytes: UnsafeRawBufferPointer, at position: Int) {
            lane1 = round(lane1, word64(bytes, position))
            lane2 = round(lane2, word64(bytes, position + 8))
            lane3 = round(lane3, word64(bytes, position + 16))
            lane4 = round(lane4, word64(bytes, position + 24))
        }

        /// The hash of everything fed so far.
        func finish() -> UInt64 {
            var hash: UInt64
            if total >= 32 {
                hash = rotl(lane1, 1) &+ rotl(lane2, 7) &+ rotl(lane3, 12) &+ rotl(lane4, 18)
                hash = merge(hash, lane1)
                hash = merge(hash, lane2)
                hash = merge(hash, lane3)
                hash = merge(hash, lane4)
            } else {
                hash = prime5
            }
            hash = hash &+ UInt64(total)
            var tail = pending
            let count = pendingCount
            return withUnsafeBytes(of: &tail) { bytes in
                var position = 0
                while position + 8 <= count {
                    hash ^= round(0, word64(bytes, position))
                    hash = rotl(hash, 27) &* prime1 &+ prime4
                    position += 8
                }
                if position + 4 <= count {
                    // safe: position + 4 <= count ≤ 32 checked just above.
                    let word = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
                    hash ^= UInt64(word) &* prime1
                    hash = rotl(hash, 23) &* prime2 &+ prime3
                    position += 4
                }
                while position < count {
                    hash ^= UInt64(bytes[position]) &* prime5
                    hash = rotl(hash, 11) &* prime1
                    position += 1
                }
                hash ^= hash >> 33
                hash = hash &* prime2
                hash ^= hash >> 29
                hash = hash &* prime3
                hash ^= hash >> 32
                return hash
            }
        }
    }

    @inline(__always)
    private static func word64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        // safe: every caller checks offset + 8 <= bytes.count.
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func rotl(_ value: UInt64, _ shift: UInt64) -> UInt64 {
        (value << shift) | (value >> (64 - shift))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotl(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func merge(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        (hash ^ round(0, lane)) &* prime1 &+ prime4
    }
}

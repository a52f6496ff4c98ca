/// XXH64 (xxHash64, seed 0), the checksum of every section of a model file (FORMAT.md §1).
///
/// Written from the published algorithm: four 64-bit lanes over 32-byte stripes, then 8-, 4- and 1-byte
/// tails and a final avalanche. Word-at-a-time, so it hashes ~10 MB in a few ms in release builds.
enum Checksum {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    static func xxh64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var position = 0
        var hash: UInt64
        if count >= 32 {
            var lane1 = prime1 &+ prime2
            var lane2 = prime2
            var lane3: UInt64 = 0
            var lane4 = 0 &- prime1
            while position + 32 <= count {
                lane1 = round(lane1, word64(bytes, position))
                lane2 = round(lane2, word64(bytes, position + 8))
                lane3 = round(lane3, word64(bytes, position + 16))
                lane4 = round(lane4, word64(bytes, position + 24))
                position += 32
            }
            hash = rotl(lane1, 1) &+ rotl(lane2, 7) &+ rotl(lane3, 12) &+ rotl(lane4, 18)
            hash = merge(hash, lane1)
            hash = merge(hash, lane2)
            hash = merge(hash, lane3)
            hash = merge(hash, lane4)
        } else {
            hash = prime5
        }
        hash = hash &+ UInt64(count)
        while position + 8 <= count {
            hash ^= round(0, word64(bytes, position))
            hash = rotl(hash, 27) &* prime1 &+ prime4
            position += 8
        }
        if position + 4 <= count {
            // safe: position + 4 <= count checked just above.
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

    static func xxh64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { xxh64($0) }
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

// The bytes of one tensor as the writer emits them. A converter of a 10M-item table must not hold the
// file in memory (issue 18): tensors read from another file are borrowed from its mapping, and the int8
// scan table is produced row block by row block while it is written, so `seqrec convert` keeps no copy of
// the big tables (FORMAT.md §11, "Writing large files").

/// Little-endian tensor bytes: owned arrays (small tensors, tests), a borrowed mapping, or a producer.
package enum TensorPayload {
    case floats([Float])
    case int8s([Int8])
    /// Bytes in a mapping that `owner` keeps alive (a `ModelFile`, a safetensors reader's `MappedFile`).
    case borrowed(UnsafeRawBufferPointer, owner: AnyObject)
    /// `byteCount` bytes made on demand: `produce(start, buffer)` fills `buffer` with bytes
    /// `start ..< start + buffer.count` of the tensor. Called with consecutive ranges.
    case generated(byteCount: Int, produce: (Int, UnsafeMutableRawBufferPointer) -> Void)

    /// The largest block the writer asks a payload for at once.
    static let blockBytes = 8 << 20

    var byteCount: Int {
        switch self {
        case .floats(let values): return values.count * MemoryLayout<Float>.size
        case .int8s(let values): return values.count
        case .borrowed(let bytes, _): return bytes.count
        case .generated(let byteCount, _): return byteCount
        }
    }

    /// The f32 values (tests and small tools; a copy when borrowed).
    var floatValues: [Float] {
        switch self {
        case .floats(let values): return values
        case .borrowed(let bytes, _):
            return (0 ..< bytes.count / 4).map {
                // safe: 4·$0 + 4 ≤ bytes.count.
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        case .int8s, .generated: return []
        }
    }

    /// Hands the first `limit` bytes (all when fewer) to `body` in consecutive blocks of at most `blockBytes`.
    /// `scratch` holds `blockBytes` bytes for producers.
    func forEachBlock(limit: Int, scratch: UnsafeMutableRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let total = Swift.min(limit, byteCount)
        func inBlocks(_ bytes: UnsafeRawBufferPointer) throws {
            var start = 0
            while start < total {
                let end = Swift.min(start + Self.blockBytes, total)
                try body(UnsafeRawBufferPointer(rebasing: bytes[start ..< end]))
                start = end
            }
        }
        switch self {
        // Little-endian host (ModelFile.swift refuses big-endian builds): the in-memory bytes are the file's.
        case .floats(let values): try values.withUnsafeBytes { try inBlocks($0) }
        case .int8s(let values): try values.withUnsafeBytes { try inBlocks($0) }
        case .borrowed(let bytes, let owner): try withExtendedLifetime(owner) { try inBlocks(bytes) }
        case .generated(_, let produce):
            var start = 0
            while start < total {
                let end = Swift.min(start + Self.blockBytes, total, start + scratch.count)
                let block = UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< end - start])
                produce(start, block)
                try body(UnsafeRawBufferPointer(block))
                start = end
            }
        }
    }
}

// The batched int8 dot products: sessions in lanes, 16 per group, every table row of a slab read once for
// the whole batch (docs/KERNELS.md, "Batched int8 scan"):
//   rows [count, w] int8, queries [G·16, w] int8 (unused sessions zero) → out[i·16G + s] = rows[i]·v_s
// The native paths read the queries packed per path (`pack`): VNNI 4 offset bytes per lane and step,
// AVX2 2 int16 per lane and step (CSeqRecKernels/scan_int8_batch.c); portable and naive read them as they
// are. All are exact in Int32, so they agree bit for bit on used lanes (Int8ScanTests checks it).
import CSeqRecKernels

extension Int8Dot {
    /// Sessions per group (lanes of one 512-bit vector of Int32).
    static let groupLanes = 16

    /// Whether the batched int8 scan beats the batched fp32 scan on this path: with VNNI one instruction
    /// makes 16 sessions' 4-column products; the AVX2 kernel needs as many instructions per session and
    /// column as the fp32 one, and measured 1.2–1.6 × slower at B = 32 (KERNELS.md, "Batched int8 scan").
    var batchesFasterThanFp32: Bool { self == .avx512vnni || self == .avxvnni }

    /// Bytes the packed queries of `groups` groups of width `width` take on any path.
    static func packedBytes(groups: Int, width: Int) -> Int { groups * ((width + 1) / 2) * 64 }

    /// Lays out `count` queries [count, width] in `packed` as this path's batched kernel reads them
    /// (a no-op for the portable and naive paths, which read `queries` directly).
    func pack(_ queries: UnsafePointer<Int8>, count: Int, width: Int, into packed: UnsafeMutableRawPointer) {
        let groups = (count + Self.groupLanes - 1) / Self.groupLanes
        switch self {
        case .avx512vnni, .avxvnni:
            let steps = (width + 3) / 4, bytes = packed.assumingMemoryBound(to: UInt8.self)
            bytes.update(repeating: 0, count: groups * steps * 64)
            for s in 0..<count {
                let base = bytes + (s / Self.groupLanes) * steps * 64 + (s % Self.groupLanes) * 4
                // safe: j < width; the group's area holds steps·64 bytes, lane byte 4(s mod 16) + j mod 4.
                for j in 0..<width { base[(j / 4) * 64 + j % 4] = UInt8(bitPattern: queries[s * width + j]) ^ 0x80 }
            }
        case .avx2:
            let steps = (width + 1) / 2, halves = packed.assumingMemoryBound(to: Int16.self)
            halves.update(repeating: 0, count: groups * steps * 32)
            for s in 0..<count {
                let base = halves + (s / Self.groupLanes) * steps * 32 + (s % Self.groupLanes) * 2
                for j in 0..<width { base[(j / 2) * 32 + j % 2] = Int16(queries[s * width + j]) }
            }
        case .portable, .naive:
            return
        }
    }

    /// out[i·16·groups + s] = Σ_j rows[i·width + j]·queries[s·width + j] for i < count and s < `sessions`
    /// (other lanes of the last group unspecified). `packed` is `pack`'s output for the same queries.
    func batchDots(count: Int, width: Int, rows: UnsafePointer<Int8>, queries: UnsafePointer<Int8>, sessions: Int,
                   packed: UnsafeRawPointer, rowSums: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Int32>) {
        let groups = (sessions + Self.groupLanes - 1) / Self.groupLanes
        switch self {
        #if arch(x86_64)
        case .avx512vnni:
            seqrec_dot_i8_batch_avx512vnni(count, width, rows, packed.assumingMemoryBound(to: UInt8.self), groups,
                                           rowSums, out)
        case .avxvnni:
            seqrec_dot_i8_batch_avxvnni(count, width, rows, packed.assumingMemoryBound(to: UInt8.self), groups,
                                        rowSums, out)
        case .avx2:
            seqrec_dot_i8_batch_avx2(count, width, rows, packed.assumingMemoryBound(to: Int16.self), groups, out)
        #else
        case .avx512vnni, .avxvnni, .avx2:
            Self.portableBatchDots(count: count, width: width, rows: rows, queries: queries, sessions: sessions, into: out)
        #endif
        case .portable:
            Self.portableBatchDots(count: count, width: width, rows: rows, queries: queries, sessions: sessions, into: out)
        case .naive:
            let stride = groups * Self.groupLanes
            for i in 0..<count {
                for s in 0..<sessions {
                    var sum: Int32 = 0
                    for j in 0..<width { sum += Int32(rows[i * width + j]) * Int32(queries[s * width + j]) }
                    out[i * stride + s] = sum
                }
            }
        }
    }

    /// The portable path: each row against every session with the single-query Swift SIMD dot.
    private static func portableBatchDots(count: Int, width: Int, rows: UnsafePointer<Int8>, queries: UnsafePointer<Int8>,
                                          sessions: Int, into out: UnsafeMutablePointer<Int32>) {
        let stride = (sessions + groupLanes - 1) / groupLanes * groupLanes
        for i in 0..<count {
            for s in 0..<sessions {
                // safe: one row against one query, written to its lane of row i's output.
                portableDots(count: 1, width: width, rows: rows + i * width, query: queries + s * width, into: out + i * stride + s)
            }
        }
    }
}

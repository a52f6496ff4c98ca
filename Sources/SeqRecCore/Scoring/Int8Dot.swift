// Exact integer dot products of int8 table rows with an int8 query, the inner loop of the int8 scan:
//   rows [count, width] int8, query [width] int8, rowSums [count] (Σ of each row) → out[i] = rows[i]·query
// Paths, fastest first: AVX-512 VNNI, AVX-VNNI, AVX2 (CSeqRecKernels/scan_int8.c), portable Swift SIMD,
// and the naive twin (scalar). All are exact in Int32 (width ≤ maxWidth), so they agree bit for bit;
// Int8ScanTests checks that on awkward shapes.
import CSeqRecKernels

package enum Int8Dot: String, Sendable, CaseIterable {
    case avx512vnni, avxvnni, avx2, portable, naive

    /// Widest row the kernels take (SEQREC_SCAN_MAX_WIDTH); wider tables are scanned in fp32.
    package static var maxWidth: Int { 4096 }

    /// The fastest path this CPU has at native level `native` (the `Kernels` level: the SEQREC_KERNELS
    /// override caps it the same way it caps the fp32 kernels: simd-avx512 → AVX-512 VNNI when present,
    /// simd-avx2 → AVX-VNNI when present else AVX2, simd-portable → Swift SIMD).
    package static func fastest(native: InstructionSet) -> Int8Dot {
        #if arch(x86_64)
        if native >= .avx512 && seqrec_cpu_has_avx512_vnni() != 0 { return .avx512vnni }
        if native >= .avx2 && seqrec_cpu_has_avx_vnni() != 0 { return .avxvnni }
        if native >= .avx2 { return .avx2 }
        #endif
        return .portable
    }

    /// Whether this CPU runs the path (the native ones need their instructions).
    package var isSupported: Bool {
        #if arch(x86_64)
        switch self {
        case .avx512vnni: return seqrec_cpu_has_avx512_vnni() != 0
        case .avxvnni: return seqrec_cpu_has_avx_vnni() != 0
        case .avx2: return InstructionSet.detected >= .avx2
        case .portable, .naive: return true
        }
        #else
        return self == .portable || self == .naive
        #endif
    }

    /// out[i] = Σ_j rows[i·width + j]·query[j] for i < count. Requires 1 ≤ width ≤ maxWidth and a supported path.
    @inline(__always)
    package func dots(count: Int, width: Int, rows: UnsafePointer<Int8>, query: UnsafePointer<Int8>,
                      rowSums: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Int32>) {
        switch self {
        #if arch(x86_64)
        case .avx512vnni: seqrec_dot_i8_avx512vnni(count, width, rows, query, rowSums, out)
        case .avxvnni: seqrec_dot_i8_avxvnni(count, width, rows, query, rowSums, out)
        case .avx2: seqrec_dot_i8_avx2(count, width, rows, query, out)
        #else
        case .avx512vnni, .avxvnni, .avx2: Self.portableDots(count: count, width: width, rows: rows, query: query, into: out)
        #endif
        case .portable: Self.portableDots(count: count, width: width, rows: rows, query: query, into: out)
        case .naive: Self.naiveDots(count: count, width: width, rows: rows, query: query, into: out)
        }
    }

    /// Swift SIMD: 16 bytes at a time widened to Int32 lanes (exact), one accumulator per row.
    static func portableDots(count: Int, width: Int, rows: UnsafePointer<Int8>, query: UnsafePointer<Int8>,
                             into out: UnsafeMutablePointer<Int32>) {
        let whole = width / 16 * 16
        for i in 0..<count {
            let row = rows + i * width
            var acc = SIMD16<Int32>()
            var p = 0
            while p < whole {
                // safe: p + 16 ≤ width, inside the row and the query.
                let r = UnsafeRawPointer(row + p).loadUnaligned(as: SIMD16<Int8>.self)
                let q = UnsafeRawPointer(query + p).loadUnaligned(as: SIMD16<Int8>.self)
                acc &+= SIMD16<Int32>(truncatingIfNeeded: r) &* SIMD16<Int32>(truncatingIfNeeded: q)
                p += 16
            }
            var sum = acc.wrappedSum()
            while p < width { sum &+= Int32(row[p]) &* Int32(query[p]); p += 1 }
            out[i] = sum
        }
    }

    /// The definition: one scalar loop per row.
    static func naiveDots(count: Int, width: Int, rows: UnsafePointer<Int8>, query: UnsafePointer<Int8>,
                          into out: UnsafeMutablePointer<Int32>) {
        for i in 0..<count {
            var sum: Int32 = 0
            for j in 0..<width { sum += Int32(rows[i * width + j]) * Int32(query[j]) }
            out[i] = sum
        }
    }
}

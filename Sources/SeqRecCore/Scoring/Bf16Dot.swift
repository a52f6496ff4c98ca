// Float dot products of bf16 table rows with a session's query, the inner loop of the bf16 scan:
//   rows [count, width] bf16 → out[i] ≈ rows[i]·u in fp32
// Two query forms (docs/KERNELS.md, "Exact top-k from the bf16 scan"):
//   split: u ≈ hi + lo, both bf16 (vdpbf16ps multiplies bf16 by bf16): AVX-512 BF16 and its twin naiveSplit
//   (vdpbf16ps emulated in Swift, so the AVX-512 arithmetic runs on any CPU);
//   fp32: u itself, each bf16 widened exactly to fp32: AVX2 (CSeqRecKernels/scan_bf16.c), portable Swift
//   SIMD, and the naive twin.
// Float sums differ with their order, so the paths do not agree bit for bit; each stays within the
// rounding bound `roundings(width:)` feeds into the exact scan, which Bf16ScanTests checks on awkward shapes.
import CSeqRecKernels

package enum Bf16Dot: String, Sendable, CaseIterable {
    case avx512bf16, naiveSplit, avx2, portable, naive

    /// The fastest path this CPU has at native level `native` (the `Kernels` level: SEQREC_KERNELS caps it
    /// as it caps the fp32 kernels: simd-avx512 → AVX-512 BF16 when present, simd-avx2 → AVX2,
    /// simd-portable → Swift SIMD).
    package static func fastest(native: InstructionSet) -> Bf16Dot {
        #if arch(x86_64)
        if native >= .avx512 && seqrec_cpu_has_avx512_bf16() != 0 { return .avx512bf16 }
        if native >= .avx2 { return .avx2 }
        #endif
        return .portable
    }

    /// Whether this CPU runs the path (the native ones need their instructions).
    package var isSupported: Bool {
        #if arch(x86_64)
        switch self {
        case .avx512bf16: return seqrec_cpu_has_avx512_bf16() != 0
        case .avx2: return InstructionSet.detected >= .avx2
        case .naiveSplit, .portable, .naive: return true
        }
        #else
        return self != .avx512bf16 && self != .avx2
        #endif
    }

    /// Whether the path multiplies by the split query (hi, lo) instead of the fp32 one.
    var splitsQuery: Bool { self == .avx512bf16 || self == .naiveSplit }

    /// n such that γ_n bounds the path's rounding error relative to Σ|row_j|·|query part_j|, the bias
    /// addition after it included (KERNELS.md, step 3 of the bf16 bound). fp32-query paths sum w products
    /// (γ_w, with or without FMA, in any order) + 1. The split paths sum 2w exact products; vdpbf16ps is
    /// specified with round-to-nearest-even, but its intermediate rounding is pseudo-code only, so its
    /// roundings are counted with a unit of 2ε (γ'_n ≤ γ_2n): 2·2w + 2.
    func roundings(width: Int) -> Int { splitsQuery ? 4 * width + 2 : width + 1 }

    /// out[i] ≈ rows[i]·query for i < count, `query` [width] fp32, `hi`/`lo` [width] its split (read by the
    /// split paths only). Requires 1 ≤ width ≤ ScanTensors.maxWidth and a supported path.
    @inline(__always)
    package func dots(count: Int, width: Int, rows: UnsafePointer<UInt16>, query: UnsafePointer<Float>,
                      hi: UnsafePointer<UInt16>, lo: UnsafePointer<UInt16>, into out: UnsafeMutablePointer<Float>) {
        switch self {
        #if arch(x86_64)
        case .avx512bf16: seqrec_dot_bf16_avx512bf16(count, width, rows, hi, lo, out)
        case .avx2: seqrec_dot_bf16_avx2(count, width, rows, query, out)
        #else
        case .avx512bf16: Self.naiveSplitDots(count: count, width: width, rows: rows, hi: hi, lo: lo, into: out)
        case .avx2: Self.portableDots(count: count, width: width, rows: rows, query: query, into: out)
        #endif
        case .naiveSplit: Self.naiveSplitDots(count: count, width: width, rows: rows, hi: hi, lo: lo, into: out)
        case .portable: Self.portableDots(count: count, width: width, rows: rows, query: query, into: out)
        case .naive: Self.naiveDots(count: count, width: width, rows: rows, query: query, into: out)
        }
    }

    /// Swift SIMD: 8 bf16 at a time widened to Float lanes (exact), one accumulator per row.
    static func portableDots(count: Int, width: Int, rows: UnsafePointer<UInt16>, query: UnsafePointer<Float>,
                             into out: UnsafeMutablePointer<Float>) {
        let whole = width / 8 * 8
        for i in 0..<count {
            let row = rows + i * width
            var acc = SIMD8<Float>()
            var p = 0
            while p < whole {
                // safe: p + 8 ≤ width, inside the row and the query.
                let bits = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(row + p).loadUnaligned(as: SIMD8<UInt16>.self)) &<< 16
                let r = unsafeBitCast(bits, to: SIMD8<Float>.self)   // same size: 8 × 32 bits
                acc += r * UnsafeRawPointer(query + p).loadUnaligned(as: SIMD8<Float>.self)
                p += 8
            }
            var sum = acc.sum()
            while p < width { sum += Bf16ScanTable.widen(row[p]) * query[p]; p += 1 }
            out[i] = sum
        }
    }

    /// The definition of the fp32-query paths: one scalar loop per row.
    static func naiveDots(count: Int, width: Int, rows: UnsafePointer<UInt16>, query: UnsafePointer<Float>,
                          into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            var sum: Float = 0
            for j in 0..<width { sum += Bf16ScanTable.widen(rows[i * width + j]) * query[j] }
            out[i] = sum
        }
    }

    /// The twin of AVX-512 BF16: `seqrec_dot_bf16_avx512bf16` step by step, with `vdpbf16ps` emulated per
    /// Intel's pseudo-code (SDM, VDPBF16PS): in each of 16 fp32 lanes, acc += row[2l+1]·q[2l+1] first, then
    /// acc += row[2l]·q[2l], each a fused multiply-add rounded to nearest even (bf16·bf16 is exact in fp32),
    /// inputs that are subnormal read as zero (DAZ), subnormal results flushed to zero (FTZ), MXCSR ignored.
    /// Per 32 elements one instruction with hi, then one with lo (zero past width, as the masked loads),
    /// then `_mm512_reduce_add_ps`'s tree: halves added lane by lane, 16 → 8 → 4 → 2 → 1 (plain fp32 adds,
    /// gradual underflow, as the kernel's vaddps under the default MXCSR). FTZ here tests the result Swift
    /// rounds with gradual underflow; x86 tests tininess after rounding to an unbounded exponent, which
    /// differs only for a result within 2⁻¹⁵⁰ of 2⁻¹²⁶ (then 2⁻¹²⁶ here, 0 there: inside the bound's
    /// absolute term either way).
    static func naiveSplitDots(count: Int, width: Int, rows: UnsafePointer<UInt16>, hi: UnsafePointer<UInt16>,
                               lo: UnsafePointer<UInt16>, into out: UnsafeMutablePointer<Float>) {
        /// make_fp32 with DAZ: a bf16 value as the instruction reads it.
        func operand(_ bits: UInt16) -> Float { Bf16ScanTable.isSubnormal(bits) ? 0 : Bf16ScanTable.widen(bits) }
        /// One `vdpbf16ps` on elements base ..< base + 32 of `row` and `part`.
        func dpbf16(_ acc: inout SIMD16<Float>, _ row: UnsafePointer<UInt16>, _ part: UnsafePointer<UInt16>, _ base: Int) {
            func accumulate(_ lane: Int, _ j: Int) {
                // safe: only j < width is read; past the row are the masked load's zeros.
                let r = j < width ? operand(row[j]) : 0, q = j < width ? operand(part[j]) : 0
                let sum = acc[lane].addingProduct(r, q)
                acc[lane] = sum.isSubnormal ? Float(signOf: sum, magnitudeOf: 0) : sum
            }
            for lane in 0..<16 {
                accumulate(lane, base + 2 * lane + 1)
                accumulate(lane, base + 2 * lane)
            }
        }
        for i in 0..<count {
            let row = rows + i * width
            var acc = SIMD16<Float>()
            for base in stride(from: 0, to: width, by: 32) {
                dpbf16(&acc, row, hi, base)
                dpbf16(&acc, row, lo, base)
            }
            let sum8 = acc.lowHalf + acc.highHalf, sum4 = sum8.lowHalf + sum8.highHalf, sum2 = sum4.lowHalf + sum4.highHalf
            out[i] = sum2[0] + sum2[1]
        }
    }
}

// The SIMD vocabulary of every SIMD kernel, kept in one place: the lane type, the unroll (number of
// independent accumulators), unaligned loads/stores and the multiply-add.
//
// Why SIMD8<Float>: one ymm register when Package.swift compiles the core for AVX2 + FMA (`haswell`,
// the default on hosts that have both), two xmm registers on baseline x86-64 (SSE2); 4 accumulators
// of SIMD8 leave room for operands without spills in both cases.
// Why `multiplyAdd` switches on SEQREC_FMA: with FMA, `addingProduct` is one fused instruction; without
// it, `addingProduct` compiles to one `fmaf` library call per lane (measured: far slower than mul + add).

/// The SIMD vector every SIMD kernel uses.
typealias FloatLanes = SIMD8<Float>

/// Half-width vectors, for microkernels that need more than 8 live accumulators.
typealias HalfLanes = SIMD4<Float>

enum SIMDWidth {
    // Computed, not stored: a `static let` is initialised lazily and every use would check a once-token.
    /// Floats per vector.
    static var lanes: Int { FloatLanes.scalarCount }
    /// Independent accumulators in reductions (hides the add latency).
    static var accumulators: Int { 4 }
    /// Floats consumed per unrolled iteration of a reduction.
    static var step: Int { lanes * accumulators }
}

extension UnsafePointer where Pointee == Float {
    /// The `FloatLanes.scalarCount` floats starting at `offset`; no alignment required.
    @inline(__always)
    func lanes(at offset: Int) -> FloatLanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatLanes.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// The `FloatLanes.scalarCount` floats starting at `offset`; no alignment required.
    @inline(__always)
    func lanes(at offset: Int) -> FloatLanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatLanes.self)
    }

    /// Stores `value` at `offset`; no alignment required.
    @inline(__always)
    func storeLanes(_ value: FloatLanes, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: FloatLanes.self)
    }
}

extension UnsafePointer where Pointee == Float {
    /// The `HalfLanes.scalarCount` floats starting at `offset`; no alignment required.
    @inline(__always)
    func halfLanes(at offset: Int) -> HalfLanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: HalfLanes.self)
    }
}

/// [Σ a, Σ b, Σ c, Σ d] by pairwise shuffles (a 4×4 transpose-and-add), cheaper than four `.sum()`s.
@inline(__always)
func horizontalSums(_ a: HalfLanes, _ b: HalfLanes, _ c: HalfLanes, _ d: HalfLanes) -> SIMD4<Float> {
    let ab = SIMD8(lowHalf: a, highHalf: b), cd = SIMD8(lowHalf: c, highHalf: d)
    let pairs = SIMD8(lowHalf: ab.evenHalf + ab.oddHalf, highHalf: cd.evenHalf + cd.oddHalf)
    return pairs.evenHalf + pairs.oddHalf
}

/// The same for full-width accumulators: fold each to half width first.
@inline(__always)
func horizontalSums(_ a: FloatLanes, _ b: FloatLanes, _ c: FloatLanes, _ d: FloatLanes) -> SIMD4<Float> {
    horizontalSums(a.lowHalf + a.highHalf, b.lowHalf + b.highHalf, c.lowHalf + c.highHalf, d.lowHalf + d.highHalf)
}

/// max(a, b) per lane by compare-and-select (`pointwiseMax` is an out-of-line call).
@inline(__always)
func lanewiseMax(_ a: FloatLanes, _ b: FloatLanes) -> FloatLanes {
    a.replacing(with: b, where: b .> a)
}

/// min(a, b) per lane by compare-and-select.
@inline(__always)
func lanewiseMin(_ a: FloatLanes, _ b: FloatLanes) -> FloatLanes {
    a.replacing(with: b, where: b .< a)
}

/// acc + a·b: one fused multiply-add where the build targets FMA, else a multiply and an add.
@inline(__always)
func multiplyAdd(_ acc: FloatLanes, _ a: FloatLanes, _ b: FloatLanes) -> FloatLanes {
    #if SEQREC_FMA
    acc.addingProduct(a, b)
    #else
    acc + a * b
    #endif
}

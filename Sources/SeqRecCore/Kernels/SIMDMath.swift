// Vectorised transcendental functions for the SIMD activations and softmax: e^x and erf(x) on
// `FloatLanes`, with no library calls and no branches.
//
// exp: e^x = 2^n · e^r with n = round(x·log₂e) and r = x − n·ln2 (|r| ≤ ln2/2), ln2 split in a high part
//      exact in float and a low correction (Cody–Waite), e^r by its degree-7 Taylor polynomial (truncation
//      < 1e-8 relative), 2^n built in the exponent bits. Below x = −86.6 the result is 0 (e^x < 2.3e-38
//      there, so the absolute error is below that); above 88.72283 it is +inf, as for expf. NaN stays NaN.
//      (The tests bound the relative error against Double exp in between.)
// erf: for |x| ≥ 0.5, Abramowitz & Stegun 7.1.26,
//      erf|x| = 1 − t·(a₁ + t(a₂ + t(a₃ + t(a₄ + t·a₅))))·e^(−x²) with t = 1/(1 + p|x|), |error| ≤ 1.5e-7
//      in exact arithmetic; below 0.5, the Maclaurin series. The tests require < 1e-6 against Glibc's erff
//      over the whole float range (an exhaustive run over all 2^32 floats measured 3.6e-7).

enum SIMDMath {
    /// e^x per lane (see the file comment for range and accuracy).
    @inline(__always)
    static func exp(_ x: FloatLanes) -> FloatLanes {
        // 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer, kept in the low mantissa bits.
        let roundingShifter = FloatLanes(repeating: 12_582_912)
        let lowest = FloatLanes(repeating: -86.6), highest = FloatLanes(repeating: 88.72283)
        let clamped = lanewiseMin(lanewiseMax(x, lowest), highest)
        let shifted = clamped * 1.44269504088896341 + roundingShifter  // x·log₂e, rounded
        let n = shifted - roundingShifter
        // ln 2 = 0.693359375 (exact in float, few bits) − 2.12194440e-4 (the correction).
        let r = (clamped - n * 0.693359375) - n * -2.12194440e-4
        var p = FloatLanes(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // safe: n ∈ [−125, 128] after the clamp, so the biased exponent n − 1 + 127 lies in [1, 254];
        // 2^n = 2^(n−1)·2 keeps n = 128 (e^x just below the float maximum) finite.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self)
            &- unsafeBitCast(roundingShifter, to: SIMD8<Int32>.self)
        let twoToNMinusOne = unsafeBitCast((integer &+ 126) &<< 23, to: FloatLanes.self)
        let result = (p * twoToNMinusOne) * 2
        return result.replacing(with: 0, where: x .< lowest).replacing(with: .infinity, where: x .> highest)
    }

    /// erf(x) per lane, |error| < 1e-6 against erff (see the file comment).
    @inline(__always)
    static func erf(_ x: FloatLanes) -> FloatLanes {
        let size = magnitude(x)
        let t = 1 / (1 + 0.3275911 * size)
        var poly = FloatLanes(repeating: 1.061405429)
        poly = poly * t - 1.453152027
        poly = poly * t + 1.421413741
        poly = poly * t - 0.284496736
        poly = poly * t + 0.254829592
        let large = withSign(of: x, 1 - poly * t * exp(-(size * size)))
        return large.replacing(with: erfNearZero(x), where: size .< 0.5)
    }

    /// erf(x) for |x| < 0.5 by its Maclaurin series to x^13 (truncation < 1e-9), avoiding the
    /// cancellation in 1 − (…)·e^(−x²) that costs A&S 7.1.26 its accuracy near 0.
    @inline(__always)
    private static func erfNearZero(_ x: FloatLanes) -> FloatLanes {
        let z = x * x
        var series = FloatLanes(repeating: 1.0 / 9360)
        series = series * z - 1.0 / 1320
        series = series * z + 1.0 / 216
        series = series * z - 1.0 / 42
        series = series * z + 1.0 / 10
        series = series * z - 1.0 / 3
        series = series * z + 1
        return x * series * 1.12837916709551257  // 2/√π
    }

    /// |x| per lane (clears the sign bit).
    @inline(__always)
    static func magnitude(_ x: FloatLanes) -> FloatLanes {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: FloatLanes.self)
    }

    /// x with the sign of `sign` per lane (for odd functions computed on |x|).
    @inline(__always)
    static func withSign(of sign: FloatLanes, _ x: FloatLanes) -> FloatLanes {
        let signBits = unsafeBitCast(sign, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) | signBits, to: FloatLanes.self)
    }

    /// 1/(1 + e^−x) per lane.
    @inline(__always)
    static func sigmoid(_ x: FloatLanes) -> FloatLanes {
        1 / (1 + exp(-x))
    }
}

/// A lane-wise function, as a type so that `mapInPlace` is specialised and inlined for it (a closure
/// argument was left as an indirect call per vector, measured 2× slower for GELU).
protocol LaneFunction {
    static func apply(_ x: FloatLanes) -> FloatLanes
}

extension SIMDKernels {
    /// x[i] = F(x[i]) in place: whole vectors, then the leftovers through one zero-padded vector, so
    /// every element gets the same approximation wherever it sits.
    @inline(__always)
    static func mapInPlace<F: LaneFunction>(_ function: F.Type, count: Int, _ x: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            x.storeLanes(F.apply(x.lanes(at: i)), at: i)
            i += w
        }
        guard i < count else { return }
        var tail = FloatLanes()
        for lane in 0..<(count - i) { tail[lane] = x[i + lane] }  // safe: i + lane < count
        let mapped = F.apply(tail)
        for lane in 0..<(count - i) { x[i + lane] = mapped[lane] }
    }
}

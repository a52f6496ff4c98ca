// Vectorised transcendental functions for the SIMD activations and softmax: e^x and erf(x) on
// `FloatLanes`, with no library calls and no branches.
//
// exp: e^x = 2^n · e^r with n = round(x·log₂e) and r = x − n·ln2 (|r| ≤ ln2/2), ln2 split in a high part
//      exact in float and a low correction (Cody–Waite), e^r by its degree-7 Taylor polynomial (truncation
//      < 1e-8 relative), 2^n built in the exponent bits. Below x = −86.6 the result is 0 (e^x < 2.3e-38
//      there, so the absolute error is below that); above 88.72283 it is +inf, as for expf. NaN stays NaN.
//      (The tests bound the relative error against Double exp in between.)
// erf: erf(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 3.92 with P, Q of degree 5 (Q(0) = 1), x clamped to ±3.92 beyond
//      (erf(3.92) = 1 − 5.6e-9). Coefficients fitted for SeqRec by iteratively reweighted least squares
//      against mpmath's erf on 20,001 points: max error 1.6e-8 in exact arithmetic, 4.1e-7 when evaluated
//      in float. One division and 10 multiply-adds per vector, no exp, no branch between ranges.
//      The tests require < 1e-6 against Glibc's erff over the whole float range.

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
        p = multiplyAdd(FloatLanes(repeating: 1.0 / 720), p, r)
        p = multiplyAdd(FloatLanes(repeating: 1.0 / 120), p, r)
        p = multiplyAdd(FloatLanes(repeating: 1.0 / 24), p, r)
        p = multiplyAdd(FloatLanes(repeating: 1.0 / 6), p, r)
        p = multiplyAdd(FloatLanes(repeating: 0.5), p, r)
        p = multiplyAdd(FloatLanes(repeating: 1), p, r)
        p = multiplyAdd(FloatLanes(repeating: 1), p, r)
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
        let limit = FloatLanes(repeating: 3.92)
        let clamped = lanewiseMin(lanewiseMax(x, -limit), limit)
        let z = clamped * clamped
        var p = FloatLanes(repeating: 2.0347281393512005e-06)
        p = multiplyAdd(FloatLanes(repeating: 0.000287479973126194), p, z)
        p = multiplyAdd(FloatLanes(repeating: 0.003868358573121603), p, z)
        p = multiplyAdd(FloatLanes(repeating: 0.053060579252368664), p, z)
        p = multiplyAdd(FloatLanes(repeating: 0.19276480281164632), p, z)
        p = multiplyAdd(FloatLanes(repeating: 1.1283790223471113), p, z)
        var q = FloatLanes(repeating: 3.807059982967297e-05)
        q = multiplyAdd(FloatLanes(repeating: 0.0011881224276499808), q, z)
        q = multiplyAdd(FloatLanes(repeating: 0.015172359343307022), q, z)
        q = multiplyAdd(FloatLanes(repeating: 0.11508492644993934), q, z)
        q = multiplyAdd(FloatLanes(repeating: 0.5041650249538797), q, z)
        q = multiplyAdd(FloatLanes(repeating: 1), q, z)
        return clamped * p / q
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

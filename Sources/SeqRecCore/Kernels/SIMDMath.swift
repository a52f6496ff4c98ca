// Vectorised transcendental functions for the SIMD activations and softmax: e^x and erf(x) on
// `FloatLanes`, with no library calls and no branches.
//
// exp: e^x = 2^n · e^r with n = round(x·log₂e) and r = x − n·ln2 (|r| ≤ ln2/2), ln2 split in a high part
//      exact in float and a low correction (Cody–Waite), e^r by its degree-7 Taylor polynomial (truncation
//      < 1e-8 relative), 2^n built in the exponent bits. x is clamped to [−87.3, 88]: below, the result
//      is ≤ 1.2e-38 instead of a smaller number or 0; above, it is e^88 instead of up to 3.4e38 or +inf.
//      (The tests bound the relative error against Double exp.)
// erf: for |x| ≥ 0.5, Abramowitz & Stegun 7.1.26, erf|x| = 1 − t·(a₁ + t(a₂ + t(a₃ + t(a₄ + t·a₅))))·e^(−x²)
//      with t = 1/(1 + p|x|), |error| ≤ 1.5e-7 in exact arithmetic; below 0.5, the Maclaurin series.
//      The tests require < 1e-6 against Glibc's erff over the whole float range.
// NaN inputs are not propagated by these approximations; the kernels using them document that.

enum SIMDMath {
    /// e^x per lane (see the file comment for range and accuracy).
    @inline(__always)
    static func exp(_ x: FloatLanes) -> FloatLanes {
        // 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer, kept in the low mantissa bits.
        let roundingShifter = FloatLanes(repeating: 12_582_912)
        let clamped = lanewiseMin(lanewiseMax(x, FloatLanes(repeating: -87.3)), FloatLanes(repeating: 88))
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
        // safe: n ∈ [−126, 127] after the clamp, so n + 127 is a valid biased exponent in [1, 254].
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(roundingShifter, to: SIMD8<Int32>.self)
        let twoToN = unsafeBitCast((integer &+ 127) &<< 23, to: FloatLanes.self)
        return p * twoToN
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

extension SIMDKernels {
    /// x[i] = f(x[i]) in place: whole vectors, then the leftovers through one zero-padded vector, so
    /// every element gets the same approximation wherever it sits.
    @inline(__always)
    static func mapInPlace(count: Int, _ x: UnsafeMutablePointer<Float>, _ f: (FloatLanes) -> FloatLanes) {
        let w = SIMDWidth.lanes
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            x.storeLanes(f(x.lanes(at: i)), at: i)
            i += w
        }
        guard i < count else { return }
        var tail = FloatLanes()
        for lane in 0..<(count - i) { tail[lane] = x[i + lane] }  // safe: i + lane < count
        let mapped = f(tail)
        for lane in 0..<(count - i) { x[i + lane] = mapped[lane] }
    }
}

// SIMD twins of the vector (level-1) and element-wise kernels. Vocabulary from SIMDWidth.swift.
//
// Shape legend: `count` floats; `rows × cols` matrices with row stride `ldx`.
// Every loop is a vector body over whole `FloatLanes` plus a scalar leftovers loop. The transcendental
// activations (GELU's erf, sigmoid, tanh, swish) use the vector approximations of SIMDMath.swift, whose
// error bounds the tests check (NaN and infinities behave as in the Glibc-based reference).

enum SIMDKernels {
    static func dot(count: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        let w = SIMDWidth.lanes
        var acc0 = FloatLanes(), acc1 = FloatLanes(), acc2 = FloatLanes(), acc3 = FloatLanes()
        var i = 0
        while i + SIMDWidth.step <= count {  // safe: the whole step lies inside [0, count)
            acc0 = multiplyAdd(acc0, a.lanes(at: i), b.lanes(at: i))
            acc1 = multiplyAdd(acc1, a.lanes(at: i + w), b.lanes(at: i + w))
            acc2 = multiplyAdd(acc2, a.lanes(at: i + 2 * w), b.lanes(at: i + 2 * w))
            acc3 = multiplyAdd(acc3, a.lanes(at: i + 3 * w), b.lanes(at: i + 3 * w))
            i += SIMDWidth.step
        }
        while i + w <= count {
            acc0 = multiplyAdd(acc0, a.lanes(at: i), b.lanes(at: i))
            i += w
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count {  // leftovers
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        let scale = FloatLanes(repeating: alpha)
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            y.storeLanes(multiplyAdd(y.lanes(at: i), scale, x.lanes(at: i)), at: i)
            i += w
        }
        while i < count {  // leftovers
            y[i] += alpha * x[i]
            i += 1
        }
    }

    static func add(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            y.storeLanes(y.lanes(at: i) + x.lanes(at: i), at: i)
            i += w
        }
        while i < count {  // leftovers
            y[i] += x[i]
            i += 1
        }
    }

    static func scale(count: Int, alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        let factor = FloatLanes(repeating: alpha)
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            x.storeLanes(x.lanes(at: i) * factor, at: i)
            i += w
        }
        while i < count {  // leftovers
            x[i] *= alpha
            i += 1
        }
    }

    static func addBias(rows: Int, cols: Int, bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, ldx: Int) {
        for r in 0..<rows {
            add(count: cols, bias, into: x + r * ldx)  // safe: row r spans [r·ldx, r·ldx + cols), ldx ≥ cols
        }
    }

    static func relu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        let zero = FloatLanes()
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            x.storeLanes(x.lanes(at: i).replacing(with: zero, where: .!(x.lanes(at: i) .> zero)), at: i)
            i += w
        }
        while i < count {  // leftovers
            x[i] = x[i] > 0 ? x[i] : 0
            i += 1
        }
    }

    static func gelu(count: Int, _ x: UnsafeMutablePointer<Float>) {
        mapInPlace(GELULanes.self, count: count, x)
    }

    static func sigmoid(count: Int, _ x: UnsafeMutablePointer<Float>) {
        mapInPlace(SigmoidLanes.self, count: count, x)
    }

    static func tanh(count: Int, _ x: UnsafeMutablePointer<Float>) {
        mapInPlace(TanhLanes.self, count: count, x)
    }

    static func swish(count: Int, _ x: UnsafeMutablePointer<Float>) {
        mapInPlace(SwishLanes.self, count: count, x)
    }
}

/// x·Φ(x) = 0.5·x·(1 + erf(x/√2)), with the vector erf of `SIMDMath`.
enum GELULanes: LaneFunction {
    @inline(__always)
    static func apply(_ x: FloatLanes) -> FloatLanes {
        0.5 * x * (1 + SIMDMath.erf(x * 0.70710678118654752440))
    }
}

enum SigmoidLanes: LaneFunction {
    @inline(__always)
    static func apply(_ x: FloatLanes) -> FloatLanes {
        SIMDMath.sigmoid(x)
    }
}

/// tanh(x) = sign(x)·(1 − e^(−2|x|))/(1 + e^(−2|x|)): absolute error ~1e-7 near 0, where the subtraction
/// cancels; relative error ~1e-7 elsewhere.
enum TanhLanes: LaneFunction {
    @inline(__always)
    static func apply(_ x: FloatLanes) -> FloatLanes {
        let e = SIMDMath.exp(-2 * SIMDMath.magnitude(x))
        return SIMDMath.withSign(of: x, (1 - e) / (1 + e))
    }
}

/// x·σ(x).
enum SwishLanes: LaneFunction {
    @inline(__always)
    static func apply(_ x: FloatLanes) -> FloatLanes {
        x * SIMDMath.sigmoid(x)
    }
}

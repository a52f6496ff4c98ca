// SIMD row kernels: layer norm and softmax, one row at a time.
//
// Shape legend: x is rows × cols with row stride ldx (out: ldo); gamma and beta have cols entries.
// Statistics are computed before any write, so out may alias x. Softmax uses the vector exp of
// SIMDMath.swift.

extension SIMDKernels {
    static func layerNorm(rows: Int, cols: Int, x: UnsafePointer<Float>, ldx: Int, gamma: UnsafePointer<Float>,
                          beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>, ldo: Int) {
        guard cols > 0 else { return }
        for r in 0..<rows {
            // safe: row r spans [r·ld, r·ld + cols) and ld ≥ cols for both x and out.
            normalizeRow(cols: cols, x: x + r * ldx, gamma: gamma, beta: beta, eps: eps, out: out + r * ldo)
        }
    }

    static func softmaxRows(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, ldx: Int) {
        guard cols > 0 else { return }
        for r in 0..<rows {
            softmaxRow(cols: cols, x + r * ldx)  // safe: row r spans [r·ldx, r·ldx + cols), ldx ≥ cols
        }
    }

    /// out[cols] = (x − mean)/√(biased variance + eps)·gamma + beta, with a two-pass variance.
    private static func normalizeRow(cols: Int, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                     beta: UnsafePointer<Float>, eps: Float, out: UnsafeMutablePointer<Float>) {
        let mean = sum(count: cols, x) / Float(cols)
        let variance = squaredDeviationSum(count: cols, x, mean: mean) / Float(cols)
        let inverseDeviation = 1 / (variance + eps).squareRoot()
        let w = SIMDWidth.lanes
        let meanLanes = FloatLanes(repeating: mean), scaleLanes = FloatLanes(repeating: inverseDeviation)
        var j = 0
        while j + w <= cols {  // safe: the vector lies inside [0, cols)
            let normalized = (x.lanes(at: j) - meanLanes) * scaleLanes
            out.storeLanes(multiplyAdd(beta.lanes(at: j), normalized, gamma.lanes(at: j)), at: j)
            j += w
        }
        while j < cols {  // leftovers
            out[j] = (x[j] - mean) * inverseDeviation * gamma[j] + beta[j]
            j += 1
        }
    }

    /// Σ x[i] with independent accumulators.
    private static func sum(count: Int, _ x: UnsafePointer<Float>) -> Float {
        let w = SIMDWidth.lanes
        var acc0 = FloatLanes(), acc1 = FloatLanes(), acc2 = FloatLanes(), acc3 = FloatLanes()
        var i = 0
        while i + SIMDWidth.step <= count {  // safe: the whole step lies inside [0, count)
            acc0 += x.lanes(at: i)
            acc1 += x.lanes(at: i + w)
            acc2 += x.lanes(at: i + 2 * w)
            acc3 += x.lanes(at: i + 3 * w)
            i += SIMDWidth.step
        }
        while i + w <= count {
            acc0 += x.lanes(at: i)
            i += w
        }
        var total = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count {  // leftovers
            total += x[i]
            i += 1
        }
        return total
    }

    /// Σ (x[i] − mean)² with independent accumulators.
    private static func squaredDeviationSum(count: Int, _ x: UnsafePointer<Float>, mean: Float) -> Float {
        let w = SIMDWidth.lanes
        let meanLanes = FloatLanes(repeating: mean)
        var acc0 = FloatLanes(), acc1 = FloatLanes()
        var i = 0
        while i + 2 * w <= count {  // safe: both vectors lie inside [0, count)
            let d0 = x.lanes(at: i) - meanLanes, d1 = x.lanes(at: i + w) - meanLanes
            acc0 = multiplyAdd(acc0, d0, d0)
            acc1 = multiplyAdd(acc1, d1, d1)
            i += 2 * w
        }
        while i + w <= count {
            let d = x.lanes(at: i) - meanLanes
            acc0 = multiplyAdd(acc0, d, d)
            i += w
        }
        var total = (acc0 + acc1).sum()
        while i < count {  // leftovers
            total += (x[i] - mean) * (x[i] - mean)
            i += 1
        }
        return total
    }

    /// x[count] = exp(x − shift) in place (leftovers through one zero-padded vector).
    private static func exponentiate(count: Int, _ x: UnsafeMutablePointer<Float>, minus shift: Float) {
        let w = SIMDWidth.lanes
        let shiftLanes = FloatLanes(repeating: shift)
        var i = 0
        while i + w <= count {  // safe: the vector lies inside [0, count)
            x.storeLanes(SIMDMath.exp(x.lanes(at: i) - shiftLanes), at: i)
            i += w
        }
        guard i < count else { return }
        var tail = shiftLanes
        for lane in 0..<(count - i) { tail[lane] = x[i + lane] }  // safe: i + lane < count
        let mapped = SIMDMath.exp(tail - shiftLanes)
        for lane in 0..<(count - i) { x[i + lane] = mapped[lane] }
    }

    /// x[cols] = exp(x − max)/Σ exp(x − max), in place (three passes: max, exp, scale).
    private static func softmaxRow(cols: Int, _ x: UnsafeMutablePointer<Float>) {
        let w = SIMDWidth.lanes
        var maxLanes = FloatLanes(repeating: x[0])
        var j = 0
        while j + w <= cols {  // safe: the vector lies inside [0, cols)
            maxLanes = lanewiseMax(maxLanes, x.lanes(at: j))
            j += w
        }
        var maximum = maxLanes.max()
        while j < cols {  // leftovers
            maximum = Swift.max(maximum, x[j])
            j += 1
        }
        exponentiate(count: cols, x, minus: maximum)
        scale(count: cols, alpha: 1 / sum(count: cols, x), x)
    }
}

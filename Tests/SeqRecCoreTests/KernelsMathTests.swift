// Accuracy of the vector transcendental approximations in SIMDMath.swift, over the whole float range:
// a strided walk through all 2^32 bit patterns plus a dense walk where the functions are not flat.
import Foundation
import Testing
@testable import SeqRecCore

/// Every `stride`-th float bit pattern (NaNs skipped), then `dense` evenly spaced values in `denseRange`.
private func sweep(stride: UInt32, dense: Int, in denseRange: ClosedRange<Float>) -> [Float] {
    var values: [Float] = []
    var bits: UInt32 = 0
    while true {
        let value = Float(bitPattern: bits)
        if !value.isNaN { values.append(value) }
        let (next, overflow) = bits.addingReportingOverflow(stride)
        if overflow { break }
        bits = next
    }
    let step = (denseRange.upperBound - denseRange.lowerBound) / Float(dense)
    values += (0...dense).map { denseRange.lowerBound + Float($0) * step }
    values += [0, -0, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
               .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1, -1]
    return values
}

/// Applies a lane function to every value (zero-padded last vector).
private func mapLanes(_ values: [Float], _ f: (FloatLanes) -> FloatLanes) -> [Float] {
    var out = values
    for start in stride(from: 0, to: values.count, by: FloatLanes.scalarCount) {
        var lanes = FloatLanes()
        let end = Swift.min(start + FloatLanes.scalarCount, values.count)
        for i in start..<end { lanes[i - start] = values[i] }
        let mapped = f(lanes)
        for i in start..<end { out[i] = mapped[i - start] }
    }
    return out
}

@Suite("Kernels: accuracy of the SIMD exp and erf")
struct KernelsMathTests {
    /// The brief's bar for a vector erf: max |erf − erff| < 1e-6 over the whole float range.
    @Test func erfIsWithinOneMillionthOfGlibcEverywhere() {
        let inputs = sweep(stride: 16_411, dense: 100_000, in: -6...6)
        let approximations = mapLanes(inputs) { SIMDMath.erf($0) }
        var worst: (error: Float, input: Float) = (0, 0)
        for (x, approximation) in zip(inputs, approximations) {
            let error = abs(approximation - erff(x))
            if !(error <= worst.error) { worst = (error.isNaN ? .infinity : error, x) }
        }
        #expect(worst.error < 1e-6, "max |erf − erff| = \(worst.error) at x = \(worst.input)")
    }

    /// e^x within relative 2.5e-7 (about 2 ulp) of the exact value on [−86.6, 88.72283], 0 below and +inf
    /// above, as documented.
    @Test func expIsAccurateOverItsRange() {
        let inputs = sweep(stride: 16_411, dense: 100_000, in: -88...89)
        let approximations = mapLanes(inputs) { SIMDMath.exp($0) }
        var worst: (error: Double, input: Float) = (0, 0)
        for (x, approximation) in zip(inputs, approximations) {
            if x < -86.6 {
                #expect(approximation == 0, "exp(\(x)) = \(approximation), expected 0 below −86.6")
            } else if x > 88.72283 {
                #expect(approximation == .infinity, "exp(\(x)) = \(approximation), expected +inf")
            } else {
                let exact = Foundation.exp(Double(x))
                let error = abs(Double(approximation) - exact) / exact
                if !(error <= worst.error) { worst = (error.isNaN ? .infinity : error, x) }
            }
        }
        #expect(worst.error < 2.5e-7, "max relative error of exp = \(worst.error) at x = \(worst.input)")
    }

    /// The SIMD GELU against x·Φ(x) in Double: absolute error below 1e-6·max(1, |x|).
    @Test func simdGELUMatchesTheExactFormula() {
        let inputs = sweep(stride: 65_537, dense: 200_000, in: -10...10).filter(\.isFinite)
        var outputs = inputs
        outputs.withUnsafeMutableBufferPointer { Kernels(.forced(.simd)).gelu(count: inputs.count, $0.baseAddress!) }
        for (x, y) in zip(inputs, outputs) {
            let exact = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            let allowed = 1e-6 * Swift.max(1, abs(Double(x)))
            if !(abs(Double(y) - exact) <= allowed) {
                Issue.record("GELU(\(x)) = \(y), exact \(exact)")
                return
            }
        }
    }
}

@Suite("Kernels: special values in the activations")
struct KernelsSpecialValueTests {
    /// NaN stays NaN (ReLU maps it to 0, as the reference does); infinities and extremes match the reference.
    @Test(arguments: KernelActivation.allCases)
    func specialValuesMatchReference(_ activation: KernelActivation) {
        let inputs: [Float] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               100, -100, 0, -0, .leastNonzeroMagnitude, 1e-20, -1e-20]
        var expected = inputs, actual = inputs
        expected.withUnsafeMutableBufferPointer {
            activation.apply(Kernels(.forced(.naive)), count: inputs.count, $0.baseAddress!)
        }
        actual.withUnsafeMutableBufferPointer {
            activation.apply(Kernels(.forced(.simd)), count: inputs.count, $0.baseAddress!)
        }
        for (index, (a, e)) in zip(actual, expected).enumerated() {
            let same = a.isNaN ? e.isNaN : (a == e || abs(a - e) <= 1e-5 * abs(e) + 1e-6)
            #expect(same, "\(activation)(\(inputs[index])): SIMD \(a), reference \(e)")
        }
    }
}

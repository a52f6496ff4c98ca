// Level-1, bias, row (layer norm, softmax) and element-wise kernels: every backend against the
// naive reference on awkward lengths (lane width is 8; the unrolled step is 32).
import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

private let counts = [0, 1, 7, 8, 9, 31, 32, 33, 63, 1000, 1025, 4099]

/// rows × cols with `padding` extra floats per row.
private let rowShapes: [(rows: Int, cols: Int, padding: Int)] = [
    (0, 5, 1), (3, 0, 2), (1, 1, 0), (3, 7, 2), (2, 8, 0), (5, 9, 3), (4, 33, 1), (2, 64, 5), (7, 1025, 2),
]

enum KernelActivation: String, CaseIterable, Sendable {
    case gelu, relu, sigmoid, tanh, swish

    func apply(_ kernels: Kernels, count: Int, _ x: UnsafeMutablePointer<Float>) {
        switch self {
        case .gelu: kernels.gelu(count: count, x)
        case .relu: kernels.relu(count: count, x)
        case .sigmoid: kernels.sigmoid(count: count, x)
        case .tanh: kernels.tanh(count: count, x)
        case .swish: kernels.swish(count: count, x)
        }
    }
}

/// Runs `body` on a copy of `values` for `selection` and returns the result.
private func mutated(_ values: [Float], _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var copy = values
    copy.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    return copy
}

@Suite("Kernels: vector, row and element-wise kernels against the reference")
struct KernelsVectorTests {
    @Test(arguments: counts)
    func levelOneKernelsMatchReference(_ count: Int) {
        let seed = testSeed(count, 1)
        var rng = SplitMix64(seed: seed)
        let x = rng.floats(Swift.max(1, count)), y = rng.floats(Swift.max(1, count))
        let alpha: Float = -0.625
        let expectedDot = Kernels(.forced(.naive)).dot(count: count, x, y)
        let dotMagnitude = zip(x.prefix(count), y.prefix(count)).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
        let axpyMagnitude = zip(x, y).map { abs(alpha * $0.0) + abs($0.1) }
        let addMagnitude = zip(x, y).map { abs($0.0) + abs($0.1) }
        let naive = Kernels(.forced(.naive))
        for selection in selectionsUnderTest {
            let kernels = Kernels(selection), context = "seed=\(seed) count=\(count) selection=\(selection)"
            expectClose([kernels.dot(count: count, x, y)], [expectedDot], magnitude: [dotMagnitude], "dot \(context)")
            expectClose(mutated(y) { kernels.axpy(count: count, alpha: alpha, x: x, y: $0) },
                        mutated(y) { naive.axpy(count: count, alpha: alpha, x: x, y: $0) },
                        magnitude: axpyMagnitude, "axpy \(context)")
            expectClose(mutated(y) { kernels.add(count: count, x, into: $0) },
                        mutated(y) { naive.add(count: count, x, into: $0) }, magnitude: addMagnitude, "add \(context)")
            expectClose(mutated(x) { kernels.scale(count: count, alpha: alpha, $0) },
                        mutated(x) { naive.scale(count: count, alpha: alpha, $0) },
                        magnitude: x.map { abs(alpha * $0) }, "scale \(context)")
        }
    }

    @Test(arguments: KernelActivation.allCases, counts)
    func activationsMatchReference(_ activation: KernelActivation, _ count: Int) {
        let seed = testSeed(count, 2)
        var rng = SplitMix64(seed: seed)
        let x = rng.floats(Swift.max(1, count), scale: 12)  // reaches the saturated tails of every activation
        let expected = mutated(x) { activation.apply(Kernels(.forced(.naive)), count: count, $0) }
        for selection in selectionsUnderTest {
            expectClose(mutated(x) { activation.apply(Kernels(selection), count: count, $0) }, expected,
                        magnitude: expected.map(abs),
                        "\(activation) seed=\(seed) count=\(count) selection=\(selection)")
        }
    }

    /// The reference GELU is the exact erf form, checked in Double against known values of x·Φ(x).
    @Test func referenceGELUIsTheExactErfForm() {
        let inputs: [Float] = [-3, -1, -0.5, 0, 0.5, 1, 3]
        let expected: [Double] = inputs.map { 0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot())) }
        let actual = mutated(inputs) { Kernels(.forced(.naive)).gelu(count: inputs.count, $0) }
        for (a, e) in zip(actual, expected) {
            #expect(abs(Double(a) - e) <= 1e-6 * abs(e) + 1e-7, "GELU \(a) vs exact \(e)")
        }
        #expect(abs(Double(actual[5]) - 0.8413447460685429) < 1e-6, "GELU(1) must be Φ(1) = 0.8413447…")
    }

    @Test(arguments: rowShapes.indices)
    func addBiasMatchesReference(_ shapeIndex: Int) {
        let shape = rowShapes[shapeIndex], seed = testSeed(shape.rows, shape.cols, 3)
        var rng = SplitMix64(seed: seed)
        let x = paddedMatrix(rows: shape.rows, cols: shape.cols, padding: shape.padding, rng: &rng)
        let bias = rng.floats(Swift.max(1, shape.cols))
        let run = { (selection: KernelSelection) in
            mutated(x.values) {
                Kernels(selection).addBias(rows: shape.rows, cols: shape.cols, bias: bias, x: $0, ldx: x.ld)
            }
        }
        let expected = run(.forced(.naive))
        let magnitude = x.values.indices.map { abs(x.values[$0]) + abs(bias[($0 % x.ld) % bias.count]) }
        for selection in selectionsUnderTest {
            let context = "addBias seed=\(seed) \(shape) selection=\(selection)"
            let actual = run(selection)
            expectClose(actual, expected, magnitude: magnitude, context)
            expectPaddingUntouched(actual, rows: shape.rows, cols: shape.cols, ld: x.ld, context)
        }
    }

    @Test(arguments: rowShapes.indices, [false, true])
    func layerNormMatchesReference(_ shapeIndex: Int, inPlace: Bool) {
        let shape = rowShapes[shapeIndex], seed = testSeed(shape.rows, shape.cols, 4)
        var rng = SplitMix64(seed: seed)
        var x = paddedMatrix(rows: shape.rows, cols: shape.cols, padding: shape.padding, rng: &rng)
        for r in 0..<shape.rows {
            for j in 0..<shape.cols { x.values[r * x.ld + j] = 3 + 2 * x.values[r * x.ld + j] }  // mean ≠ 0
        }
        let gamma = rng.floats(Swift.max(1, shape.cols)), beta = rng.floats(Swift.max(1, shape.cols))
        let rows = shape.rows, cols = shape.cols, ld = x.ld
        let run = { (selection: KernelSelection) -> [Float] in
            let kernels = Kernels(selection)
            if inPlace {
                return mutated(x.values) {
                    kernels.layerNorm(rows: rows, cols: cols, x: $0, ldx: ld, gamma: gamma, beta: beta, eps: 1e-5,
                                      out: $0, ldo: ld)
                }
            }
            var out = [Float](repeating: paddingSentinel, count: x.values.count)
            out.withUnsafeMutableBufferPointer { o in
                kernels.layerNorm(rows: rows, cols: cols, x: x.values, ldx: ld, gamma: gamma, beta: beta, eps: 1e-5,
                                  out: o.baseAddress!, ldo: ld)
            }
            return out
        }
        let expected = run(.forced(.naive))
        // Σ|terms| of (x − mean)·gamma/σ + beta: the mean is as large as x here, so it counts too.
        var magnitude = [Float](repeating: 0, count: x.values.count)
        for r in 0..<rows where cols > 0 {
            let row = (0..<cols).map { Double(x.values[r * ld + $0]) }
            let mean = row.reduce(0, +) / Double(cols)
            let deviation = (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols) + 1e-5).squareRoot()
            for j in 0..<cols {
                let normalizedTerms = (abs(row[j]) + abs(mean)) * abs(Double(gamma[j])) / deviation
                magnitude[r * ld + j] = Float(normalizedTerms + abs(Double(beta[j])))
            }
        }
        for selection in selectionsUnderTest {
            let context = "layerNorm seed=\(seed) \(shape) inPlace=\(inPlace) selection=\(selection)"
            let actual = run(selection)
            expectClose(actual, expected, magnitude: magnitude, context)
            expectPaddingUntouched(actual, rows: rows, cols: cols, ld: ld, context)
        }
    }

    @Test(arguments: rowShapes.indices)
    func softmaxMatchesReference(_ shapeIndex: Int) {
        let shape = rowShapes[shapeIndex], seed = testSeed(shape.rows, shape.cols, 5)
        var rng = SplitMix64(seed: seed)
        var x = paddedMatrix(rows: shape.rows, cols: shape.cols, padding: shape.padding, rng: &rng)
        for r in 0..<shape.rows {
            for j in 0..<shape.cols { x.values[r * x.ld + j] *= 20 }  // exp of unshifted values would overflow
        }
        let run = { (selection: KernelSelection) in
            mutated(x.values) { Kernels(selection).softmaxRows(rows: shape.rows, cols: shape.cols, x: $0, ldx: x.ld) }
        }
        let expected = run(.forced(.naive))
        for r in 0..<shape.rows where shape.cols > 0 {
            let total = (0..<shape.cols).reduce(Float(0)) { $0 + expected[r * x.ld + $1] }
            #expect(abs(total - 1) < 1e-5, "reference softmax row \(r) sums to \(total), seed=\(seed) \(shape)")
        }
        for selection in selectionsUnderTest {
            let context = "softmax seed=\(seed) \(shape) selection=\(selection)"
            let actual = run(selection)
            expectClose(actual, expected, magnitude: expected.map(abs), context)
            expectPaddingUntouched(actual, rows: shape.rows, cols: shape.cols, ld: x.ld, context)
        }
    }
}

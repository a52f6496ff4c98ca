// The fused native GRU step (CSeqRecKernels, AVX-512 and AVX2) against the composed naive step (reference
// GEMM, Glibc σ/tanh) on awkward shapes: hidden widths around the 16-unit panel (1, 7, 15, 16, 17, 33),
// the real 64/128 and a ragged 130; row counts 0, 1, 2 and around the 8-row tile; with and without biases.
import Testing
@testable import SeqRecCore

struct GRUStepCase: Sendable, CustomTestStringConvertible {
    let rows: Int, hiddenWidth: Int, inputWidth: Int, biases: Bool
    var testDescription: String { "rows=\(rows) D=\(hiddenWidth) I=\(inputWidth) biases=\(biases)" }
}

private let gruStepCases: [GRUStepCase] = [
    (0, 16), (1, 1), (1, 7), (2, 15), (7, 16), (8, 17), (9, 33), (1, 64), (3, 128), (17, 128), (32, 130), (1, 130),
].enumerated().map { index, shape in
    GRUStepCase(rows: shape.0, hiddenWidth: shape.1, inputWidth: 1 + (shape.1 * 3 + index) % 70, biases: index % 2 == 0)
}

@Suite("Kernels: fused GRU step against the naive composed step")
struct KernelsGRUStepTests {
    /// Three steps from a random state: after each, every unit within 1e-5 of the pre-activations'
    /// magnitude (Σ|terms| of its three gates, through σ' ≤ 1/4 and tanh' ≤ 1) + 1e-6 of the naive step.
    @Test(arguments: gruStepCases)
    func fusedStepMatchesNaive(_ t: GRUStepCase) {
        let d = t.hiddenWidth, i = t.inputWidth, rows = t.rows
        var rng = SplitMix64(seed: testSeed(rows, d, i, t.biases ? 1 : 0, 31))
        let wih = rng.floats(3 * d * i, scale: 0.5), whh = rng.floats(3 * d * d, scale: 0.5)
        let bih = rng.floats(3 * d), bhh = rng.floats(3 * d)
        let x = rng.floats(Swift.max(1, rows * i), scale: 2), start = rng.floats(Swift.max(1, rows * d))
        let packing = PackedWeights()
        wih.withUnsafeBufferPointer { pih in
            whh.withUnsafeBufferPointer { phh in
                bih.withUnsafeBufferPointer { pbi in
                    bhh.withUnsafeBufferPointer { pbh in
                        let layer = GRULayer(
                            input: Linear(transposedWeight: packing.transposed(pih.baseAddress!, rows: 3 * d, columns: i),
                                          bias: t.biases ? pbi.baseAddress! : nil, inputWidth: i, outputWidth: 3 * d),
                            hidden: Linear(transposedWeight: packing.transposed(phh.baseAddress!, rows: 3 * d, columns: d),
                                           bias: t.biases ? pbh.baseAddress! : nil, inputWidth: d, outputWidth: 3 * d),
                            recurrent: GRURecurrentWeights(weights: phh.baseAddress!, hiddenWidth: d))
                        check(layer, t, x: x, start: start, whh: whh, bhh: bhh)
                    }
                }
            }
        }
    }

    private func check(_ layer: GRULayer, _ t: GRUStepCase, x: [Float], start: [Float], whh: [Float], bhh: [Float]) {
        let d = t.hiddenWidth, rows = t.rows
        let run = { (selection: KernelSelection, states: inout [Float]) in
            var gi = [Float](repeating: 0, count: Swift.max(1, rows * 3 * d)), gh = gi
            var pointers = [UnsafePointer<Float>?](repeating: nil, count: Swift.max(1, rows))
            x.withUnsafeBufferPointer { px in
                states.withUnsafeMutableBufferPointer { ph in
                    layer.step(rows: rows, px.baseAddress!, ldx: t.inputWidth, hidden: ph.baseAddress!,
                               gi: &gi, gh: &gh, rowPointers: &pointers, kernels: Kernels(selection))
                }
            }
        }
        for selection in [KernelSelection.automatic] + InstructionSet.allCases.map({ .instructionSet($0) }) {
            var expected = start, actual = start
            for step in 0..<3 {
                // Magnitude of each unit's pre-activations from the state this step starts from.
                var magnitude = [Float](repeating: 0, count: Swift.max(1, rows * d))
                for r in 0..<rows {
                    for u in 0..<d {
                        var sum: Float = 1 + (t.biases ? abs(bhh[u]) + abs(bhh[d + u]) + abs(bhh[2 * d + u]) : 0)
                        for g in 0..<3 {
                            for p in 0..<d { sum += abs(expected[r * d + p] * whh[(g * d + u) * d + p]) }
                        }
                        magnitude[r * d + u] = sum
                    }
                }
                run(.forced(.naive), &expected)
                run(selection, &actual)
                let context = "\(t.testDescription) selection=\(selection) native=\(Kernels(selection).native) step \(step)"
                expectClose(actual, expected, magnitude: magnitude, context)
                actual = expected  // every step starts from the same state on both paths
            }
        }
    }
}

// The fused native GRU step (CSeqRecKernels, AVX-512 and AVX2) against the composed naive step (reference
// GEMM, Glibc σ/tanh) on awkward shapes: hidden widths around the 16-unit panel (1, 7, 15, 16, 17, 33),
// the real 64/128 and a ragged 130; row counts 0, 1, 2 and around the 8-row tile; with and without biases.
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

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
            x.withUnsafeBufferPointer { px in
                states.withUnsafeMutableBufferPointer { ph in
                    layer.step(rows: rows, px.baseAddress!, ldx: t.inputWidth, hidden: ph.baseAddress!,
                               gi: &gi, gh: &gh, kernels: Kernels(selection))
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
        expectRowPointersEqualBlock(layer, t)
        expectPanelOrderIrrelevant(layer, t)
    }

    /// Walking the panels backwards (odd steps of a recurrence) gives bit-identical states: each panel's
    /// units are computed from the old state alone, in the same order either way.
    private func expectPanelOrderIrrelevant(_ layer: GRULayer, _ t: GRUStepCase) {
        let d = t.hiddenWidth, rows = t.rows
        guard rows > 0 else { return }
        var rng = SplitMix64(seed: testSeed(rows, d, 9))
        let gi = rng.floats(rows * 3 * d), start = rng.floats(rows * d)
        for level in InstructionSet.allCases where level >= .avx2 && level <= InstructionSet.detected {
            let kernels = Kernels(.instructionSet(level))
            var forward = start, backward = start, scratch = [Float](repeating: 0, count: rows * d)
            gi.withUnsafeBufferPointer { g in
                let inputs = GRUStepInputs.block(g.baseAddress!, ldgi: 3 * d)
                kernels.fusedGRUStep(rows: rows, weights: layer.recurrent, hiddenBias: layer.hidden.bias, inputs: inputs,
                                     hidden: &forward, scratch: &scratch, panelsDescending: false)
                kernels.fusedGRUStep(rows: rows, weights: layer.recurrent, hiddenBias: layer.hidden.bias, inputs: inputs,
                                     hidden: &backward, scratch: &scratch, panelsDescending: true)
            }
            #expect(forward == backward, "\(t.testDescription) \(level): panels backwards changed the states")
        }
    }

    /// Inputs given as row pointers (here: a block's rows in reverse order, each row's state moved with
    /// it) give what the strided block gives, up to summation order (states are in (−1, 1)).
    private func expectRowPointersEqualBlock(_ layer: GRULayer, _ t: GRUStepCase) {
        let d = t.hiddenWidth, rows = t.rows, kernels = Kernels(.automatic)
        guard kernels.hasFusedGRUStep, rows > 0 else { return }
        var rng = SplitMix64(seed: testSeed(rows, d, 5))
        let gi = rng.floats(rows * 3 * d), start = rng.floats(rows * d)
        var viaBlock = start, scratch = [Float](repeating: 0, count: rows * d)
        var viaRows = (0..<rows).reversed().flatMap { start[($0 * d)..<(($0 + 1) * d)] }
        gi.withUnsafeBufferPointer { g in
            let base = g.baseAddress!
            let pointers: [UnsafePointer<Float>?] = (0..<rows).map { base + (rows - 1 - $0) * 3 * d }
            pointers.withUnsafeBufferPointer { p in
                kernels.fusedGRUStep(rows: rows, weights: layer.recurrent, hiddenBias: layer.hidden.bias,
                                     inputs: .rows(p.baseAddress!), hidden: &viaRows, scratch: &scratch)
            }
            kernels.fusedGRUStep(rows: rows, weights: layer.recurrent, hiddenBias: layer.hidden.bias,
                                 inputs: .block(base, ldgi: 3 * d), hidden: &viaBlock, scratch: &scratch)
        }
        let reordered = Array((0..<rows).reversed().flatMap { viaRows[($0 * d)..<(($0 + 1) * d)] })
        // Not bit-identical: a row's tile (8 rows, or alone with 4 partial sums) sets its summation order.
        expectClose(reordered, viaBlock, magnitude: [Float](repeating: 1, count: rows * d),
                    "\(t.testDescription): row pointers against the block")
    }
}

@Suite("GRU input projections table")
struct GRUInputProjectionsTests {
    /// Every row equals the layer's own input map of that table row; a table over the size cap (or one
    /// whose size overflows) is refused, so larger catalogues keep projecting per request.
    @Test func rowsEqualTheInputMapAndTheCapHolds() {
        let (d, i, rows) = (17, 9, 23)
        var rng = SplitMix64(seed: testSeed(d, i, rows, 77))
        let wih = rng.floats(3 * d * i), whh = rng.floats(3 * d * d), bih = rng.floats(3 * d), table = rng.floats(rows * i)
        let packing = PackedWeights()
        // The layer keeps a view of the bias: it must outlive every use (a `[Float]` argument would not).
        let bias = UnsafeMutablePointer<Float>.allocate(capacity: 3 * d)
        defer { bias.deallocate() }
        bias.initialize(from: bih, count: 3 * d)
        let layer = GRULayer(
            input: Linear(transposedWeight: packing.transposed(wih, rows: 3 * d, columns: i), bias: bias, inputWidth: i,
                          outputWidth: 3 * d),
            hidden: Linear(transposedWeight: packing.transposed(whh, rows: 3 * d, columns: d), bias: nil, inputWidth: d,
                           outputWidth: 3 * d),
            recurrent: GRURecurrentWeights(weights: whh, hiddenWidth: d))
        guard let projections = GRUInputProjections(layer: layer, table: table, rows: rows) else {
            Issue.record("a 23-row table was refused")
            return
        }
        #expect(projections.rows == rows && projections.width == 3 * d)
        var expected = [Float](repeating: 0, count: 3 * d)
        for row in 0..<rows {
            layer.input(rows: 1, Array(table[(row * i)..<((row + 1) * i)]), ldx: i, into: &expected, ldo: 3 * d,
                        kernels: Kernels(.forced(.naive)))
            for j in 0..<(3 * d) {
                let actual = projections.values[row * 3 * d + j]
                #expect(abs(actual - expected[j]) <= 1e-5 * (1 + Float(i)), "row \(row) unit \(j): \(actual) vs \(expected[j])")
            }
        }
        let capRows = GRUInputProjections.maximumBytes / (MemoryLayout<Float>.size * 3 * d) + 1
        #expect(GRUInputProjections(layer: layer, table: table, rows: capRows) == nil)
        #expect(GRUInputProjections(layer: layer, table: table, rows: Int.max / 2) == nil)
        #expect(GRUInputProjections(layer: layer, table: table, rows: 0) == nil)
    }
}

// Shared helpers for the kernel tests: buffers with padding and the tolerance check (the seeded
// generator is SeqRecTestSupport's SplitMix64).
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// The backends compared against the naive reference: both forced fast paths, the automatic rule, and
/// the SIMD backend pinned at each native level (a level above this CPU's runs at the CPU's).
let selectionsUnderTest: [KernelSelection] = [.forced(.blas), .forced(.simd), .automatic]
    + InstructionSet.allCases.map { .instructionSet($0) }

/// Values written into padding (between a row's used columns and its stride) to detect stray writes.
let paddingSentinel: Float = 12345

/// A rows × cols matrix with row stride cols + padding; used entries random, padding = sentinel.
/// Never empty, so it always has a base address.
func paddedMatrix(rows: Int, cols: Int, padding: Int, rng: inout SplitMix64) -> (values: [Float], ld: Int) {
    let ld = cols + padding
    var values = [Float](repeating: paddingSentinel, count: Swift.max(1, rows * ld))
    for r in 0..<rows {
        for j in 0..<cols { values[r * ld + j] = rng.nextFloat() }
    }
    return (values, ld)
}

/// Checks |actual − expected| ≤ 1e-5·magnitude + 1e-6 everywhere, where magnitude is Σ|terms| of that entry.
/// On failure it reports the worst entry and the given context (seed, shape, backend).
func expectClose(_ actual: [Float], _ expected: [Float], magnitude: [Float], _ context: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(context): length mismatch", sourceLocation: sourceLocation)
    var worst: (index: Int, excess: Float)?
    for i in 0..<Swift.min(actual.count, expected.count) {
        let allowed = 1e-5 * magnitude[i] + 1e-6
        let difference = abs(actual[i] - expected[i])
        if !(difference <= allowed), difference - allowed > (worst?.excess ?? -1) || difference.isNaN {
            worst = (i, difference.isNaN ? .infinity : difference - allowed)
        }
    }
    if let worst {
        let i = worst.index
        Issue.record("\(context): entry \(i) is \(actual[i]), expected \(expected[i]) (magnitude \(magnitude[i]))",
                     sourceLocation: sourceLocation)
    }
}

/// Checks that every padding entry still holds the sentinel (kernels must not write past `cols`).
func expectPaddingUntouched(_ values: [Float], rows: Int, cols: Int, ld: Int, _ context: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    for r in 0..<rows {
        for j in cols..<ld where values[r * ld + j] != paddingSentinel {
            Issue.record("\(context): padding entry (\(r), \(j)) was overwritten", sourceLocation: sourceLocation)
            return
        }
    }
}

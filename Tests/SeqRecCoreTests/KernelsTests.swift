// GEMM and GEMV: BLAS, SIMD and the automatic rule against the naive reference, on awkward shapes
// (0, 1, lane−1, lane, lane+1, odd tails, large), every transposition, padded strides, alpha/beta.
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

struct GEMMCase: Sendable, CustomTestStringConvertible {
    let m: Int, n: Int, k: Int
    let transA: Bool, transB: Bool
    let padding: Int
    let alpha: Float, beta: Float

    var testDescription: String {
        "m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) pad=\(padding) alpha=\(alpha) beta=\(beta)"
    }
}

struct GEMVCase: Sendable, CustomTestStringConvertible {
    let m: Int, n: Int
    let trans: Bool
    let padding: Int
    let alpha: Float, beta: Float

    var testDescription: String { "m=\(m) n=\(n) trans=\(trans) pad=\(padding) alpha=\(alpha) beta=\(beta)" }
}

/// Lane width is 8: 7, 8, 9 straddle it; 4 and 5 straddle the 4-row tile; 64/256/1683 are real shapes.
private let gemmShapes: [(Int, Int, Int)] = [
    (0, 5, 3), (5, 0, 3), (5, 3, 0), (1, 1, 1), (7, 7, 7), (8, 8, 8), (9, 9, 9), (4, 8, 64), (5, 17, 33),
    (13, 31, 64), (3, 64, 64), (64, 256, 64), (1, 1683, 64), (2, 1683, 64), (3, 1030, 17), (67, 259, 71),
    // The native tiles: 16-lane vectors (15/16/17, 47/48/49, 63/64/65 columns), 6- and 8-row tiles,
    // one-row products 8 vectors wide (127/128/129), the GRU's 50 × 128 → 384.
    (6, 47, 5), (7, 48, 9), (9, 49, 16), (12, 65, 3), (1, 15, 1), (2, 16, 2), (1, 129, 128), (1, 127, 130),
    (2, 63, 1), (50, 384, 128),
]

private let scalings: [(Float, Float)] = [(1, 0), (0.75, -1.5)]

private let gemmCases: [GEMMCase] = gemmShapes.flatMap { m, n, k in
    [(false, false), (false, true), (true, false), (true, true)].enumerated().map { index, transposes in
        let (alpha, beta) = scalings[index % 2]
        return GEMMCase(m: m, n: n, k: k, transA: transposes.0, transB: transposes.1, padding: (m + index) % 3 * 2,
                        alpha: alpha, beta: beta)
    }
}

private let gemvCases: [GEMVCase] = [
    (0, 5), (5, 0), (1, 1), (7, 7), (8, 8), (9, 9), (4, 64), (17, 33), (1683, 64), (64, 1683), (100, 257),
].flatMap { m, n in
    [false, true].flatMap { trans in
        scalings.map { GEMVCase(m: m, n: n, trans: trans, padding: (m + n) % 3, alpha: $0.0, beta: $0.1) }
    }
}

@Suite("Kernels: GEMM and GEMV against the reference")
struct KernelsMatrixTests {
    @Test(arguments: gemmCases)
    func gemmMatchesReference(_ t: GEMMCase) {
        let seed = testSeed(t.m, t.n, t.k, t.transA ? 1 : 0, t.transB ? 1 : 0)
        var rng = SplitMix64(seed: seed)
        let a = paddedMatrix(rows: t.transA ? t.k : t.m, cols: t.transA ? t.m : t.k, padding: t.padding, rng: &rng)
        let b = paddedMatrix(rows: t.transB ? t.n : t.k, cols: t.transB ? t.k : t.n, padding: t.padding, rng: &rng)
        let c = paddedMatrix(rows: t.m, cols: t.n, padding: t.padding, rng: &rng)
        let run = { (selection: KernelSelection) -> [Float] in
            var out = c.values
            a.values.withUnsafeBufferPointer { pa in
                b.values.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { pc in
                        Kernels(selection).gemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                                alpha: t.alpha, a: pa.baseAddress!, lda: a.ld, b: pb.baseAddress!,
                                                ldb: b.ld, beta: t.beta, c: pc.baseAddress!, ldc: c.ld)
                    }
                }
            }
            return out
        }
        var magnitude = [Float](repeating: 0, count: c.values.count)
        for i in 0..<t.m {
            for j in 0..<t.n {
                var sum: Double = 0
                for p in 0..<t.k {
                    let aValue = t.transA ? a.values[p * a.ld + i] : a.values[i * a.ld + p]
                    let bValue = t.transB ? b.values[j * b.ld + p] : b.values[p * b.ld + j]
                    sum += abs(Double(aValue) * Double(bValue))
                }
                let old = Double(t.beta * c.values[i * c.ld + j])
                magnitude[i * c.ld + j] = Float(abs(Double(t.alpha)) * sum + abs(old))
            }
        }
        let expected = run(.forced(.naive))
        expectPaddingUntouched(expected, rows: t.m, cols: t.n, ld: c.ld, "naive \(t.testDescription)")
        for selection in selectionsUnderTest {
            let context = "seed=\(seed) \(t.testDescription) selection=\(selection)"
            let actual = run(selection)
            expectClose(actual, expected, magnitude: magnitude, context)
            expectPaddingUntouched(actual, rows: t.m, cols: t.n, ld: c.ld, context)
        }
    }

    @Test(arguments: gemvCases)
    func gemvMatchesReference(_ t: GEMVCase) {
        let seed = testSeed(t.m, t.n, t.trans ? 1 : 0)
        var rng = SplitMix64(seed: seed)
        let a = paddedMatrix(rows: t.m, cols: t.n, padding: t.padding, rng: &rng)
        let inputCount = t.trans ? t.m : t.n, outputCount = t.trans ? t.n : t.m
        let x = rng.floats(Swift.max(1, inputCount))
        let y = rng.floats(Swift.max(1, outputCount))
        let run = { (selection: KernelSelection) -> [Float] in
            var out = y
            a.values.withUnsafeBufferPointer { pa in
                x.withUnsafeBufferPointer { px in
                    out.withUnsafeMutableBufferPointer { py in
                        Kernels(selection).gemv(trans: t.trans, m: t.m, n: t.n, alpha: t.alpha, a: pa.baseAddress!,
                                                lda: a.ld, x: px.baseAddress!, beta: t.beta, y: py.baseAddress!)
                    }
                }
            }
            return out
        }
        var magnitude = y.map { abs(t.beta * $0) }
        for i in 0..<outputCount {
            var sum: Float = 0
            for p in 0..<inputCount {
                sum += abs((t.trans ? a.values[p * a.ld + i] : a.values[i * a.ld + p]) * x[p])
            }
            magnitude[i] += abs(t.alpha) * sum
        }
        let expected = run(.forced(.naive))
        for selection in selectionsUnderTest {
            expectClose(run(selection), expected, magnitude: magnitude,
                        "seed=\(seed) \(t.testDescription) selection=\(selection)")
        }
    }

    /// beta = 0 must overwrite C even when it holds NaN (BLAS semantics), on every backend.
    @Test(arguments: KernelBackend.allCases)
    func gemmWithZeroBetaIgnoresNaNInOutput(_ backend: KernelBackend) {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        var c = [Float](repeating: .nan, count: 4)
        Kernels(.forced(backend)).gemm(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, a: a, lda: 2,
                                       b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [1, 2, 3, 4], "backend \(backend)")
    }
}

@Suite("Kernels: concurrent use")
struct KernelsConcurrencyTests {
    /// Server workers call the kernels from several threads at once: every backend must give each
    /// caller the same result it gives a lone caller (OpenBLAS included, with its own threads set to 1).
    @Test(arguments: KernelBackend.allCases)
    func concurrentCallersGetTheSingleThreadedResult(_ backend: KernelBackend) async {
        configureBLASThreads(1)
        let (m, n, k) = (16, 256, 64)
        var rng = SplitMix64(seed: testSeed(m, n, k, 7))
        let a = rng.floats(m * k), b = rng.floats(n * k)
        let kernels = Kernels(.forced(backend))
        let product: @Sendable () -> [Float] = {
            var c = [Float](repeating: 0, count: m * n)
            kernels.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                         beta: 0, c: &c, ldc: n)
            return c
        }
        let expected = product()
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<25).reduce(0) { count, _ in count + (product() == expected ? 0 : 1) } }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0, "backend \(backend): \(mismatches) of 100 concurrent products differed")
    }
}

// `seqrec-bench kernels`: the linear-map GEMMs of SeqRec's models, timed on every backend, to
// measure the automatic dispatch rule (Sources/SeqRecCore/Kernels/KernelBackend.swift) against.
//
// Shape legend: out[M×N] = x[M×K]·Wᵀ with W stored [N×K] (PyTorch layout, "transB") or pre-transposed
// [K×N] ("plain", the layout Linear packs at load). M = rows (session positions × batch).
import SeqRecCore

public enum KernelsCommand {
    /// One timed (shape, layout, backend) combination.
    struct Row {
        var shape: String
        var layout: String
        var backend: String
        var p50: Double
        var min: Double
        var allocationsPerCall: Double
    }

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: ["rows", "shapes", "iterations", "gru"])
        let rows = try arguments.intList("rows", default: [1, 50], range: 1...4096)
        let widths = arguments.string("shapes", default: "64x64,64x256,256x64,64x384,128x384")
        let gruWidths = try arguments.intList("gru", default: [128], range: 1...2048)
        let plan = TimingPlan(warmup: 200, iterations: try arguments.int("iterations", default: 2000, range: 1...1_000_000),
                              maxSeconds: 0.5, minimumIterations: 20, repeats: 3)
        configureBLASThreads(1)  // as the engine does: OpenBLAS's own threads would time thread hand-offs
        var report: [String] = ["shape (M×K→N)  layout  backend  p50 µs  min µs  allocs/call"]
        for shape in widths.split(separator: ",") {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 >= 1 && $0 <= 8192 }) else {
                throw BenchUsageError("--shapes wants KxN pairs like 64x256, got \(shape)")
            }
            for m in rows {
                for row in measure(m: m, k: parts[0], n: parts[1], plan: plan) {
                    report.append("\(row.shape)  \(row.layout)  \(row.backend)  "
                                  + ReportEncoding.decimal(row.p50, 2) + "  " + ReportEncoding.decimal(row.min, 2) + "  "
                                  + ReportEncoding.decimal(row.allocationsPerCall, 2))
                }
            }
        }
        report.append("")
        report.append("GRU step (rows × D, 50 steps per call)  path  p50 µs  min µs  allocs/call")
        for d in gruWidths {
            for m in rows {
                for row in measureGRU(rows: m, hiddenWidth: d, plan: plan) {
                    report.append("\(row.shape)  \(row.backend)  " + ReportEncoding.decimal(row.p50, 2) + "  "
                                  + ReportEncoding.decimal(row.min, 2) + "  " + ReportEncoding.decimal(row.allocationsPerCall, 2))
                }
            }
        }
        return report.joined(separator: "\n")
    }

    /// The selections timed: BLAS, then the SIMD backend at every native level this CPU has, highest first.
    static var selections: [(name: String, selection: KernelSelection)] {
        [("blas", .forced(.blas))] + InstructionSet.allCases.filter { $0 <= InstructionSet.detected }.reversed()
            .map { ("simd-\($0.rawValue)", KernelSelection.instructionSet($0)) }
    }

    /// 50 recurrent steps of `rows` sessions (the recurrence of a 50-item GRU4Rec window, input projections
    /// given): the fused native step at each level against the composed one (product, then σ/tanh/update).
    static func measureGRU(rows m: Int, hiddenWidth d: Int, plan: TimingPlan) -> [Row] {
        let w = UnsafeMutablePointer<Float>.allocate(capacity: 3 * d * d)
        let wT = UnsafeMutablePointer<Float>.allocate(capacity: 3 * d * d)
        let gi = UnsafeMutablePointer<Float>.allocate(capacity: m * 3 * d)
        let gh = UnsafeMutablePointer<Float>.allocate(capacity: m * 3 * d)
        let h = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        defer { w.deallocate(); wT.deallocate(); gi.deallocate(); gh.deallocate(); h.deallocate() }
        for i in 0..<(3 * d * d) { w[i] = Float(i % 13) * 0.01 - 0.06 }
        for r in 0..<(3 * d) { for c in 0..<d { wT[c * 3 * d + r] = w[r * d + c] } }
        for i in 0..<(m * 3 * d) { gi[i] = Float(i % 11) * 0.05 - 0.25 }
        let packed = GRURecurrentWeights(weights: w, hiddenWidth: d)
        let inputRows = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: m)
        defer { inputRows.deallocate() }
        for row in 0..<m { inputRows[row] = UnsafePointer(gi + row * 3 * d) }
        var rows: [Row] = []
        for (name, selection) in selections where name != "blas" {
            let kernels = Kernels(selection)
            h.update(repeating: 0.1, count: m * d)
            let runs = TimingLoop.measure(plan) {
                for step in 0..<50 {
                    if kernels.hasFusedGRUStep {
                        kernels.fusedGRUStep(rows: m, weights: packed, hiddenBias: nil, inputs: .rows(inputRows), hidden: h,
                                             scratch: gh, panelsDescending: step % 2 == 1)
                    } else {
                        composedGRUStep(rows: m, hiddenWidth: d, transposedWeights: wT, gi: gi, gh: gh, hidden: h,
                                        kernels: kernels)
                    }
                }
            }
            rows.append(summary(runs, shape: "\(m)×\(d)", layout: "gru", backend: name))
        }
        return rows
    }

    /// The composed step as `GRULayer` runs it without a fused kernel (input projection already in gi).
    static func composedGRUStep(rows m: Int, hiddenWidth d: Int, transposedWeights: UnsafePointer<Float>,
                                gi: UnsafePointer<Float>, gh: UnsafeMutablePointer<Float>,
                                hidden h: UnsafeMutablePointer<Float>, kernels: Kernels) {
        kernels.gemm(transA: false, transB: false, m: m, n: 3 * d, k: d, alpha: 1, a: h, lda: d, b: transposedWeights,
                     ldb: 3 * d, beta: 0, c: gh, ldc: 3 * d)
        for row in 0..<m {
            let g = gh + row * 3 * d, i = gi + row * 3 * d, state = h + row * d
            for j in 0..<(2 * d) { g[j] += i[j] }
            kernels.sigmoid(count: 2 * d, g)
            for j in 0..<d { g[2 * d + j] = i[2 * d + j] + g[j] * g[2 * d + j] }
            kernels.tanh(count: d, g + 2 * d)
            for j in 0..<d { state[j] = (1 - g[d + j]) * g[2 * d + j] + g[d + j] * state[j] }
        }
    }

    static func measure(m: Int, k: Int, n: Int, plan: TimingPlan) -> [Row] {
        // Owned for the whole measurement, so the timed closures only call the kernel.
        let x = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let wT = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { x.deallocate(); w.deallocate(); wT.deallocate(); out.deallocate() }
        for i in 0..<(m * k) { x[i] = Float(i % 17) * 0.01 - 0.08 }
        for i in 0..<(n * k) { w[i] = Float(i % 13) * 0.02 - 0.12 }
        for r in 0..<n { for c in 0..<k { wT[c * n + r] = w[r * k + c] } }
        var rows: [Row] = []
        let shape = "\(m)×\(k)→\(n)"
        for (backend, selection) in selections {
            let kernels = Kernels(selection)
            for plain in [false, true] {
                // plain: x·(Wᵀ) on the packed copy [k×n]; transB: x·Wᵀ on W [n×k] as PyTorch stores it.
                let weights = plain ? wT : w, ldw = plain ? n : k
                let runs = TimingLoop.measure(plan) {
                    kernels.gemm(transA: false, transB: !plain, m: m, n: n, k: k, alpha: 1, a: x, lda: k,
                                 b: weights, ldb: ldw, beta: 0, c: out, ldc: n)
                }
                rows.append(summary(runs, shape: shape, layout: plain ? "plain" : "transB", backend: backend))
                guard m == 1 else { continue }
                let gemvRuns = TimingLoop.measure(plan) {
                    kernels.gemv(trans: plain, m: plain ? k : n, n: plain ? n : k, alpha: 1, a: weights, lda: ldw,
                                 x: x, beta: 0, y: out)
                }
                rows.append(summary(gemvRuns, shape: shape, layout: plain ? "plain-gemv" : "transB-gemv",
                                    backend: backend))
            }
        }
        return rows
    }

    static func summary(_ runs: [TimedRun], shape: String, layout: String, backend: String) -> Row {
        Row(shape: shape, layout: layout, backend: backend, p50: Spread(runs.map(\.latency.p50)).median,
            min: Spread(runs.map(\.latency.min)).min,
            allocationsPerCall: Double(runs.map(\.allocations).reduce(0, +)) / Double(runs.map(\.calls).reduce(0, +)))
    }
}

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
        let arguments = try BenchArguments(options, known: ["rows", "shapes", "iterations"])
        let rows = try arguments.intList("rows", default: [1, 50], range: 1...4096)
        let widths = arguments.string("shapes", default: "64x64,64x256,256x64,64x384,128x384")
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
        return report.joined(separator: "\n")
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
        for backend in [KernelBackend.blas, .simd] {
            let kernels = Kernels(.forced(backend))
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

    static func summary(_ runs: [TimedRun], shape: String, layout: String, backend: KernelBackend) -> Row {
        Row(shape: shape, layout: layout, backend: backend.rawValue, p50: Spread(runs.map(\.latency.p50)).median,
            min: Spread(runs.map(\.latency.min)).min,
            allocationsPerCall: Double(runs.map(\.allocations).reduce(0, +)) / Double(runs.map(\.calls).reduce(0, +)))
    }
}

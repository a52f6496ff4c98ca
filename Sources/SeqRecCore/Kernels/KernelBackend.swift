// KernelBackend: the ONE place that decides which implementation runs each kernel.
//
// Shape legend: m, n, k are GEMM sizes (C[m×n] = op(A)[m×k] · op(B)[k×n]); for GEMV, A is m×n.
//
// The rule (also in docs/KERNELS.md; thresholds measured in release mode on this machine, where OpenBLAS
// ran AVX-512 code before OPENBLAS_CORETYPE=Haswell was set and the Swift SIMD kernels run AVX2 + FMA):
// - native level (`Kernels.native`, resolved once per `Kernels`): the detected one (cpuid/xgetbv,
//   InstructionSet.swift) for `.automatic` and `.forced(.simd)`, the requested one capped at it for
//   `.instructionSet`, portable for BLAS and naive.
// - `.automatic`:
//   - gemm: at native ≥ AVX2 every plain product (¬transA ∧ ¬transB) runs the native GEMM (2–2.5× faster
//     than OpenBLAS as this environment configures it, on par with OpenBLAS's AVX-512 kernels);
//     otherwise SIMD when m·n·k < 1024 (call overhead dominates) or for a few-row product against a large
//     transposed B (¬transA ∧ transB ∧ 2 ≤ m ≤ 4 ∧ n ≥ 1024: catalog scoring of 2–4 sessions, where
//     OpenBLAS's sgemm first packs all of B and runs 1.0–3× slower than the streaming SIMD kernel);
//     SIMD for plain (untransposed) products whose n is not a multiple of 16 (OpenBLAS 0.3.21 mallocs
//     inside sgemm on every such call when n mod 16 ∈ 1…8); BLAS otherwise (about 2× faster than SIMD
//     once operands sit in cache, `seqrec-bench kernels`);
//   - gemv: trans = false (A·x, catalog scoring of one session): BLAS when m·n ≥ 1024, SIMD below;
//     trans = true (xᵀ·A, a packed linear map on one row): SIMD, native one-row GEMM at native ≥ AVX2
//     (Swift SIMD measured 10–20 % faster than sgemv for 64…128 → 64…384, `seqrec-bench kernels --rows 1`);
//   - GRU step: the fused native kernel at native ≥ AVX2, else composed (gemm + σ/tanh + update);
//   - dot, axpy, scale, add: BLAS when count ≥ 1024, SIMD below;
//   - bias, layer norm, softmax and the activations: SIMD (no BLAS primitive exists);
//   - full-catalog scoring of 1–8 sessions: the fused SIMD scan (Scoring/FusedScan.swift: dot products in
//     registers compared with the top-k threshold, no score block), measured on 1M×64 at batch 1 1.3–1.6×
//     faster than the blocked GEMV/GEMM + scan with either backend, and still 1.1–1.5× at batch 2–8;
//     more sessions: the batched SIMD scan (Scoring/BatchScan.swift: sessions in vector lanes, groups of
//     32 and 8), measured 1.4–1.6× faster than the blocked sgemm + scan at 9–32 sessions on 100k and 1M
//     items (OpenBLAS packs every table block per call) and on par at 1,683 items.
// - `.forced(.blas)`: BLAS wherever a BLAS primitive exists (sgemm — or sgemv for a single-row product
//   against a large transposed B —, sgemv, sdot, saxpy for axpy and add, sscal); kernels with no BLAS
//   primitive (bias, layer norm, softmax, activations) run the SIMD code.
//   Catalog scoring is always blocked (sgemv/sgemm into a score block, then the scan).
// - `.forced(.simd)`: never calls BLAS; catalog scoring as under `.automatic`.
// - `.instructionSet(level)`: as `.forced(.simd)` with the native kernels capped at `level`.
// - `.forced(.naive)`: the scalar reference loops in `Reference/`; catalog scoring blocked.
import CBLAS
import Foundation

/// An implementation family for the kernels.
public enum KernelBackend: String, Sendable, CaseIterable {
    case blas, simd, naive
}

/// Which backend runs each kernel: the documented automatic rule, or one backend forced everywhere.
public enum KernelSelection: Sendable, Equatable {
    /// BLAS for large GEMM/GEMV (see `DispatchRule`), SIMD for everything else.
    case automatic
    /// One backend for every kernel (BLAS falls back to SIMD where BLAS has no primitive).
    case forced(KernelBackend)
    /// The SIMD backend everywhere with its native kernels capped at this level (`.portable`: the Swift
    /// SIMD code only). A level above the CPU's runs at the CPU's (`Kernels` caps it);
    /// `fromEnvironmentValue` rejects it.
    case instructionSet(InstructionSet)

    /// The environment variable read by `fromEnvironment()`.
    public static let environmentVariable = "SEQREC_KERNELS"

    /// Every accepted name, for usage messages: auto, blas, simd, naive, simd-avx512, simd-avx2, simd-portable.
    public static var acceptedNames: [String] {
        ["auto"] + KernelBackend.allCases.map(\.rawValue) + InstructionSet.allCases.reversed().map { "simd-\($0.rawValue)" }
    }

    /// Parses one of `acceptedNames` ("auto" | "blas" | "simd" | "naive" | "simd-<level>"); nil for anything else.
    public init?(name: String) {
        if name == "auto" {
            self = .automatic
        } else if let backend = KernelBackend(rawValue: name) {
            self = .forced(backend)
        } else if name.hasPrefix("simd-"), let level = InstructionSet(rawValue: String(name.dropFirst(5))) {
            self = .instructionSet(level)
        } else {
            return nil
        }
    }

    /// The native-kernel level this selection runs at on a CPU that supports `detected`: the detected
    /// level for `.automatic` and `.forced(.simd)`, the requested one capped at it for `.instructionSet`,
    /// `.portable` for BLAS and naive (they run BLAS or the reference, and Swift SIMD where BLAS has none).
    package func nativeLevel(detected: InstructionSet) -> InstructionSet {
        switch self {
        case .automatic, .forced(.simd): return detected
        case .instructionSet(let requested): return Swift.min(requested, detected)
        case .forced(.blas), .forced(.naive): return .portable
        }
    }

    /// From the environment variable SEQREC_KERNELS (unset → .automatic; invalid → throws).
    public static func fromEnvironment() throws -> KernelSelection {
        let value = ProcessInfo.processInfo.environment[environmentVariable]
        return try fromEnvironmentValue(value)
    }

    /// The parsing behind `fromEnvironment()`, separate so it can be tested without touching the process
    /// environment: nil (unset) → `.automatic`; a valid name → its selection; anything else throws.
    /// A level this CPU lacks throws too.
    public static func fromEnvironmentValue(_ value: String?) throws -> KernelSelection {
        guard let value else { return .automatic }
        guard let selection = KernelSelection(name: value) else {
            throw KernelSelectionError(variable: environmentVariable, value: value)
        }
        try selection.checkSupported(detected: InstructionSet.detected)
        return selection
    }

    /// Throws `UnsupportedInstructionSetError` when the selection asks for a level above `detected`.
    public func checkSupported(detected: InstructionSet) throws(UnsupportedInstructionSetError) {
        if case .instructionSet(let requested) = self, requested > detected {
            throw UnsupportedInstructionSetError(requested: requested, detected: detected)
        }
    }
}

/// A kernel selection string that is not one of the accepted names.
public struct KernelSelectionError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String

    public var description: String {
        "\(variable)=\"\(value)\" is not a kernel selection; use one of: "
            + KernelSelection.acceptedNames.joined(separator: ", ") + " (or leave it unset for auto)"
    }
}

/// A kernel selection naming an instruction-set level this CPU does not have.
public struct UnsupportedInstructionSetError: Error, CustomStringConvertible, Equatable {
    public let requested: InstructionSet
    public let detected: InstructionSet

    public var description: String {
        "kernel selection simd-\(requested.rawValue) needs a CPU with \(requested.rawValue); this one supports "
            + "simd-\(detected.rawValue) at most (leave the selection at auto to use the best available)"
    }
}

/// Sets OpenBLAS's own thread count, process-wide: the application's call, made once at start-up (the
/// library never makes it; `seqrec` and `seqrec-bench` set 1, or SEQREC_BLAS_THREADS, so BLAS threads
/// never compete with the server's worker threads; OpenBLAS's own default is one thread per core).
public func configureBLASThreads(_ count: Int) {
    precondition(count >= 1 && count <= Int(Int32.max), "BLAS thread count must be at least 1, got \(count)")
    openblas_set_num_threads(Int32(count))
}

/// The measured thresholds of the automatic rule (see the file comment and docs/KERNELS.md).
enum DispatchRule {
    /// Smallest m·n·k for which `.automatic` calls sgemm.
    static let gemmBLASMinimumWork = 1024
    /// Few-row transB products (rows within this range) against at least `largeOperandRows` rows of B
    /// run SIMD under `.automatic`.
    static let fewRowProductRows = 2...4
    /// Rows of a transposed B from which it counts as large: OpenBLAS's packing of B no longer pays off
    /// for a few-row product, and the BLAS path computes a single-row product with sgemv.
    static let largeOperandRows = 1024
    /// Plain (¬transA ∧ ¬transB) products run BLAS under `.automatic` only when n is a multiple of this:
    /// OpenBLAS 0.3.21 mallocs inside sgemm on every call whose n mod 16 lies in 1…8 (measured with
    /// `seqrec-bench kernels` for n = 1…70, 100, 130 at m ∈ {1, 50}, k = 50; none for multiples of 16 over
    /// m ∈ 1…200, k ∈ 1…200), which would break the allocation-free hot path. Rounded to "not a multiple
    /// of 16" so shapes not measured stay on the safe side.
    static let plainProductColumnMultiple = 16
    /// Smallest m·n for which `.automatic` calls sgemv.
    static let gemvBLASMinimumWork = 1024
    /// Smallest count for which `.automatic` calls BLAS level-1 routines.
    static let vectorBLASMinimumCount = 1024
    /// Full-catalog sessions per batch that `.automatic` and `.forced(.simd)` score with the fused scan;
    /// more go to the batched scan.
    static let fusedScanSessions = 1...8
}

/// How `CatalogScorer` scores the whole catalog for the sessions of a batch.
package enum CatalogScan: Equatable {
    /// `FusedScan`: 8 rows at a time in registers, only rows above the top-k threshold leave them.
    case fused
    /// `BatchScan`: groups of 32 (or 8) sessions in vector lanes, each table value broadcast once.
    case batched
    /// `gemv`/`gemm` into a 4096-row score block (+ bias), then a vector threshold scan of the block.
    case blocked
}

extension KernelSelection {
    /// Backend for `gemm` of the given shape.
    package func gemmBackend(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             native: InstructionSet) -> KernelBackend {
        if case .instructionSet = self { return .simd }
        guard case .forced(let backend) = self else {
            if !transA && !transB && native >= .avx2 { return .simd }
            if !transA && transB && DispatchRule.fewRowProductRows.contains(m) && n >= DispatchRule.largeOperandRows {
                return .simd
            }
            if !transA && !transB && n % DispatchRule.plainProductColumnMultiple != 0 { return .simd }
            return atLeast(DispatchRule.gemmBLASMinimumWork, m, n, k) ? .blas : .simd
        }
        return backend
    }

    /// How `sessions` full-catalog sessions are scored (the fused scan is SIMD code, so BLAS and naive
    /// keep the blocked path, which runs their GEMV/GEMM).
    package func catalogScan(sessions: Int) -> CatalogScan {
        switch self {
        case .automatic, .forced(.simd), .instructionSet:
            return DispatchRule.fusedScanSessions.contains(sessions) ? .fused : .batched
        case .forced(.blas), .forced(.naive): return .blocked
        }
    }

    /// Backend for `gemv` with an m×n matrix.
    package func gemvBackend(trans: Bool, m: Int, n: Int) -> KernelBackend {
        if case .instructionSet = self { return .simd }
        guard case .forced(let backend) = self else {
            if trans { return .simd }
            return atLeast(DispatchRule.gemvBLASMinimumWork, m, n, 1) ? .blas : .simd
        }
        return backend
    }

    /// Backend for kernels that have a BLAS level-1 primitive (dot, axpy, scale, add).
    package func vectorBackend(count: Int) -> KernelBackend {
        if case .instructionSet = self { return .simd }
        guard case .forced(let backend) = self else {
            return count >= DispatchRule.vectorBLASMinimumCount ? .blas : .simd
        }
        return backend
    }

    /// Backend for kernels with no BLAS primitive: `.blas` runs the SIMD code.
    package var elementwiseBackend: KernelBackend {
        switch self {
        case .forced(.naive): return .naive
        case .forced(.blas), .forced(.simd), .automatic, .instructionSet: return .simd
        }
    }

    /// Which SIMD code runs a product the SIMD backend computes: the native plain-product kernel
    /// (¬transA ∧ ¬transB; a GEMV xᵀ·A is the one-row case) at `native` ≥ AVX2, the Swift SIMD code
    /// otherwise (transposed operands have no native kernel).
    package static func simdProduct(transA: Bool, transB: Bool, native: InstructionSet) -> InstructionSet {
        !transA && !transB ? native : .portable
    }

    /// How a GRU layer steps: the native fused kernel (recurrent product with the gate math in registers)
    /// at `native` ≥ AVX2, else the composed kernels (product, then σ/tanh/update through `Kernels`).
    package static func recurrentStep(native: InstructionSet) -> InstructionSet? {
        native >= .avx2 ? native : nil
    }

    /// x·y·z ≥ threshold, saturating: a product too large for Int is certainly above it.
    private func atLeast(_ threshold: Int, _ x: Int, _ y: Int, _ z: Int) -> Bool {
        let (xy, overflow1) = x.multipliedReportingOverflow(by: y)
        let (xyz, overflow2) = xy.multipliedReportingOverflow(by: z)
        return overflow1 || overflow2 || xyz >= threshold
    }
}

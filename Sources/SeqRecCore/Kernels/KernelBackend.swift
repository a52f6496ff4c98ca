// KernelBackend: the ONE place that decides which implementation runs each kernel.
//
// Shape legend: m, n, k are GEMM sizes (C[m×n] = op(A)[m×k] · op(B)[k×n]); for GEMV, A is m×n.
//
// The rule (also in docs/KERNELS.md):
// - `.automatic`:
//   - gemm uses BLAS when m·n·k ≥ `DispatchRule.gemmBLASMinimumWork`, SIMD below;
//   - gemv uses BLAS when m·n ≥ `DispatchRule.gemvBLASMinimumWork`, SIMD below;
//   - dot, axpy, scale, add and all element-wise kernels (bias, layer norm, softmax, activations)
//     use SIMD: they are memory-bound and short, so a BLAS call only adds overhead.
// - `.forced(.blas)`: BLAS wherever a BLAS primitive exists (sgemm, sgemv, sdot, saxpy for axpy and add,
//   sscal); kernels with no BLAS primitive (bias, layer norm, softmax, activations) run the SIMD code.
// - `.forced(.simd)`: never calls BLAS.
// - `.forced(.naive)`: the scalar reference loops in `Reference/`.
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

    /// The environment variable read by `fromEnvironment()`.
    public static let environmentVariable = "SEQREC_KERNELS"

    /// Parses "auto" | "blas" | "simd" | "naive"; nil for anything else.
    public init?(name: String) {
        if name == "auto" {
            self = .automatic
        } else if let backend = KernelBackend(rawValue: name) {
            self = .forced(backend)
        } else {
            return nil
        }
    }

    /// From the environment variable SEQREC_KERNELS (unset → .automatic; invalid → throws).
    public static func fromEnvironment() throws -> KernelSelection {
        let value = ProcessInfo.processInfo.environment[environmentVariable]
        return try fromEnvironmentValue(value)
    }

    /// The parsing behind `fromEnvironment()`, separate so it can be tested without touching the process
    /// environment: nil (unset) → `.automatic`; a valid name → its selection; anything else throws.
    public static func fromEnvironmentValue(_ value: String?) throws -> KernelSelection {
        guard let value else { return .automatic }
        guard let selection = KernelSelection(name: value) else {
            throw KernelSelectionError(variable: environmentVariable, value: value)
        }
        return selection
    }
}

/// A kernel selection string that is not one of the accepted names.
public struct KernelSelectionError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String

    public var description: String {
        "\(variable)=\"\(value)\" is not a kernel selection; use one of: auto, blas, simd, naive (or leave it unset for auto)"
    }
}

/// Sets OpenBLAS's own thread count explicitly (call once at startup; SeqRec default 1, so BLAS threads
/// never compete with the server's worker threads).
public func configureBLASThreads(_ count: Int) {
    precondition(count >= 1 && count <= Int(Int32.max), "BLAS thread count must be at least 1, got \(count)")
    openblas_set_num_threads(Int32(count))
}

/// The measured thresholds of the automatic rule (release build, this machine; see docs/KERNELS.md).
enum DispatchRule {
    /// Smallest m·n·k for which `.automatic` calls sgemm.
    static let gemmBLASMinimumWork = 64 * 64 * 64
    /// Smallest m·n for which `.automatic` calls sgemv.
    static let gemvBLASMinimumWork = 64 * 1024
}

extension KernelSelection {
    /// Backend for `gemm` of the given sizes.
    package func gemmBackend(m: Int, n: Int, k: Int) -> KernelBackend {
        switch self {
        case .forced(let backend): return backend
        case .automatic:
            // Saturating product: huge shapes must still pick BLAS, never trap.
            let (mn, o1) = m.multipliedReportingOverflow(by: n)
            let (mnk, o2) = mn.multipliedReportingOverflow(by: k)
            return o1 || o2 || mnk >= DispatchRule.gemmBLASMinimumWork ? .blas : .simd
        }
    }

    /// Backend for `gemv` with an m×n matrix.
    package func gemvBackend(m: Int, n: Int) -> KernelBackend {
        switch self {
        case .forced(let backend): return backend
        case .automatic:
            let (mn, overflow) = m.multipliedReportingOverflow(by: n)
            return overflow || mn >= DispatchRule.gemvBLASMinimumWork ? .blas : .simd
        }
    }

    /// Backend for kernels that have a BLAS level-1 primitive (dot, axpy, scale, add).
    package var vectorBackend: KernelBackend {
        switch self {
        case .forced(let backend): return backend
        case .automatic: return .simd
        }
    }

    /// Backend for kernels with no BLAS primitive: `.blas` runs the SIMD code.
    package var elementwiseBackend: KernelBackend {
        switch self {
        case .forced(.naive): return .naive
        case .forced(.blas), .forced(.simd), .automatic: return .simd
        }
    }
}

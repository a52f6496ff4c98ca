// Swift face of the native kernels (the CSeqRecKernels target): AVX-512 and AVX2 + FMA versions chosen
// by the level `Kernels` resolved once from the selection and the CPU (KernelBackend.swift has the rule).
// Callers pass a level ≥ .avx2 that the CPU supports (`Kernels.native` is capped at the detected level).
import CSeqRecKernels

enum NativeKernels {
    /// C[m×n] = alpha·A[m×k]·B[k×n] + beta·C, no transposes (beta = 0 overwrites C).
    static func gemm(_ level: InstructionSet, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
                     lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>,
                     ldc: Int) {
        #if arch(x86_64)
        switch level {
        case .avx512: seqrec_sgemm_nn_avx512(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        case .avx2: seqrec_sgemm_nn_avx2(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        case .portable: preconditionFailure("native gemm called at the portable level")
        }
        #else
        preconditionFailure("native kernels exist on x86-64 only")
        #endif
    }

    /// One GRU step over `rows` rows with W_hh packed by `GRURecurrentWeights` (see CSeqRecKernels.h).
    static func gruStep(_ level: InstructionSet, rows: Int, hiddenWidth d: Int, packed: UnsafePointer<Float>,
                        hiddenBias: UnsafePointer<Float>?, inputs: GRUStepInputs,
                        hidden: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        panelsDescending: Bool) {
        #if arch(x86_64)
        let (pointers, block, stride): (UnsafePointer<UnsafePointer<Float>?>?, UnsafePointer<Float>?, Int)
        switch inputs {
        case .rows(let rowPointers): (pointers, block, stride) = (rowPointers, nil, 0)
        case .block(let gi, let ldgi): (pointers, block, stride) = (nil, gi, ldgi)
        }
        let descending: Int32 = panelsDescending ? 1 : 0
        switch level {
        case .avx512:
            seqrec_gru_step_avx512(rows, d, packed, hiddenBias, pointers, block, stride, hidden, scratch, descending)
        case .avx2:
            seqrec_gru_step_avx2(rows, d, packed, hiddenBias, pointers, block, stride, hidden, scratch, descending)
        case .portable: preconditionFailure("native GRU step called at the portable level")
        }
        #else
        preconditionFailure("native kernels exist on x86-64 only")
        #endif
    }
}

/// Where a fused GRU step finds each row's 3D input projections (input bias included).
package enum GRUStepInputs {
    /// Row i at pointer i (rows anywhere, e.g. in `GRUInputProjections`).
    case rows(UnsafePointer<UnsafePointer<Float>?>)
    /// Row i at gi + i·ldgi.
    case block(UnsafePointer<Float>, ldgi: Int)
}

/// W_hh [3D × D] re-laid out once at load into the fused step's panels (16 hidden units, r | z | n side
/// by side per input unit, zero-padded). Owned by the layer that holds it; immutable after init.
package final class GRURecurrentWeights: @unchecked Sendable {
    let hiddenWidth: Int
    let packed: UnsafePointer<Float>

    package init(weights: UnsafePointer<Float>, hiddenWidth d: Int) {
        precondition(d > 0, "a GRU layer has at least one hidden unit")
        hiddenWidth = d
        let count = seqrec_gru_packed_count(d)
        let block = allocateCacheAligned(floats: count)
        seqrec_gru_pack(d, weights, block)  // writes every one of the `count` floats
        packed = UnsafePointer(block)
    }

    deinit {
        UnsafeMutableRawPointer(mutating: packed).deallocate()
    }
}

/// Bytes of a cache line, the alignment of every table a native kernel streams with 512-bit loads.
let cacheLineBytes = 64

/// Uninitialised floats starting on a cache line (free with `UnsafeMutableRawPointer.deallocate()`).
/// A plain `allocate(capacity:)` of a large block comes from mmap at page + 16 bytes, so every 64-byte
/// row of a packed panel would straddle two cache lines: each 512-bit load then costs two (measured in
/// RESULTS.md, "GRU4Rec at one row").
func allocateCacheAligned(floats count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * MemoryLayout<Float>.stride,
                                     alignment: cacheLineBytes)
        .bindMemory(to: Float.self, capacity: Swift.max(count, 1))
}

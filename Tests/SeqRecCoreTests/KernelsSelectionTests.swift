// KernelSelection parsing (names and SEQREC_KERNELS), the automatic dispatch rule, and the shape
// preconditions at the kernel entry points (exit tests: a bad shape must trap, not read out of bounds).
import Foundation
import Testing
@testable import SeqRecCore

@Suite("Kernels: selection, dispatch rule and preconditions")
struct KernelsSelectionTests {
    @Test(arguments: [
        ("auto", KernelSelection.automatic), ("blas", .forced(.blas)), ("simd", .forced(.simd)),
        ("naive", .forced(.naive)), ("simd-avx512", .instructionSet(.avx512)), ("simd-avx2", .instructionSet(.avx2)),
        ("simd-portable", .instructionSet(.portable)),
    ])
    func acceptedNamesParse(_ name: String, _ expected: KernelSelection) throws {
        #expect(KernelSelection(name: name) == expected)
        #expect(KernelSelection.acceptedNames.contains(name))
        if case .instructionSet(let level) = expected, level > InstructionSet.detected {
            #expect(throws: UnsupportedInstructionSetError(requested: level, detected: InstructionSet.detected)) {
                try KernelSelection.fromEnvironmentValue(name)
            }
        } else {
            #expect(try KernelSelection.fromEnvironmentValue(name) == expected)
        }
    }

    @Test(arguments: ["", "AUTO", "Blas", " simd", "simd ", "fast", "automatic", "blas,simd", "naïve", "simd-", "simd-avx", "avx2",
                      "simd-AVX2", "simd-avx512f", "simd-sse"])
    func otherNamesAreRejected(_ name: String) {
        #expect(KernelSelection(name: name) == nil)
        #expect(throws: KernelSelectionError(variable: "SEQREC_KERNELS", value: name)) {
            try KernelSelection.fromEnvironmentValue(name)
        }
    }

    @Test func unsetEnvironmentMeansAutomatic() throws {
        #expect(try KernelSelection.fromEnvironmentValue(nil) == .automatic)
    }

    @Test func errorMessageNamesTheVariableTheValueAndTheChoices() {
        let message = KernelSelectionError(variable: "SEQREC_KERNELS", value: "fast").description
        for fragment in ["SEQREC_KERNELS", "\"fast\"", "auto", "blas", "simd", "naive", "simd-avx512", "simd-avx2",
                         "simd-portable"] {
            #expect(message.contains(fragment), "message \"\(message)\" lacks \(fragment)")
        }
    }

    /// The real environment path, in a child process so setenv cannot disturb other tests.
    @Test func fromEnvironmentReadsTheVariable() async {
        await #expect(processExitsWith: .success) {
            unsetenv("SEQREC_KERNELS")
            guard (try? KernelSelection.fromEnvironment()) == .automatic else { exit(1) }
            setenv("SEQREC_KERNELS", "simd", 1)
            guard (try? KernelSelection.fromEnvironment()) == .forced(.simd) else { exit(2) }
            setenv("SEQREC_KERNELS", "turbo", 1)
            do {
                _ = try KernelSelection.fromEnvironment()
                exit(3)
            } catch let error as KernelSelectionError where error.value == "turbo" {
                exit(0)
            } catch {
                exit(4)
            }
        }
    }

    @Test func automaticRuleFollowsTheDocumentedThresholds() {
        let auto = KernelSelection.automatic
        #expect(auto.gemmBackend(transA: false, transB: false, m: 8, n: 8, k: 8, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: false, m: 1, n: 65, k: 64, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: false, m: 1, n: 64, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: false, m: 40, n: 64, k: 40, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: false, m: 50, n: 250, k: 64, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: false, m: 40, n: 24, k: 40, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: true, transB: false, m: 40, n: 24, k: 40, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 64, n: 64, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 1, n: 100_000, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 2, n: 1683, k: 64, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 4, n: 1_000_000, k: 64, native: .portable) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 4, n: 1023, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 5, n: 100_000, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: true, transB: true, m: 2, n: 100_000, k: 64, native: .portable) == .blas)
        #expect(auto.gemmBackend(transA: false, transB: false, m: .max, n: 1 << 60, k: 2, native: .portable) == .blas)
        #expect(auto.gemvBackend(trans: false, m: 16, n: 16) == .simd)
        #expect(auto.gemvBackend(trans: false, m: 1683, n: 64) == .blas)
        #expect(auto.gemvBackend(trans: true, m: 128, n: 384) == .simd)
        #expect(auto.vectorBackend(count: 64) == .simd)
        #expect(auto.vectorBackend(count: 4096) == .blas)
        #expect(auto.elementwiseBackend == .simd)
    }

    /// With native kernels (AVX2 or AVX-512) every plain product runs them under `.automatic`: measured
    /// 2–2.5× faster than OpenBLAS's sgemm under this environment's OPENBLAS_CORETYPE (docs/KERNELS.md).
    @Test(arguments: [InstructionSet.avx2, .avx512])
    func automaticRuleSendsPlainProductsToNativeKernels(_ level: InstructionSet) {
        let auto = KernelSelection.automatic
        #expect(auto.gemmBackend(transA: false, transB: false, m: 50, n: 64, k: 64, native: level) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: false, m: .max, n: 1 << 60, k: 2, native: level) == .simd)
        #expect(auto.gemmBackend(transA: false, transB: true, m: 64, n: 64, k: 64, native: level) == .blas)
        #expect(auto.gemmBackend(transA: true, transB: false, m: 40, n: 24, k: 40, native: level) == .blas)
        #expect(KernelSelection.simdProduct(transA: false, transB: false, native: level) == level)
        #expect(KernelSelection.simdProduct(transA: false, transB: true, native: level) == .portable)
        #expect(KernelSelection.simdProduct(transA: true, transB: false, native: level) == .portable)
        #expect(KernelSelection.recurrentStep(native: level) == level)
    }

    /// GRU4Rec at one row (issue 17: `auto` measured slower than `simd` there): every kernel its request
    /// calls — the fused recurrent step, `dense` as a one-row product (gemv xᵀ·A), the catalogue scan of one
    /// session — gets the same implementation from both selections, so they run the same code.
    @Test(arguments: [InstructionSet.avx2, .avx512])
    func oneRowGRU4RecRunsTheSameCodeUnderAutoAndSIMD(_ level: InstructionSet) {
        for selection in [KernelSelection.automatic, .forced(.simd)] {
            #expect(selection.gemvBackend(trans: true, m: 128, n: 64) == .simd)
            #expect(selection.catalogScan(sessions: 1) == .fused)
        }
        #expect(KernelSelection.simdProduct(transA: false, transB: false, native: level) == level)
        #expect(KernelSelection.recurrentStep(native: level) == level)
        #expect(KernelSelection.automatic.nativeLevel(detected: level) == KernelSelection.forced(.simd).nativeLevel(detected: level))
    }

    @Test func nativeLevelIsCappedAtTheDetectedOne() {
        #expect(KernelSelection.automatic.nativeLevel(detected: .avx2) == .avx2)
        #expect(KernelSelection.forced(.simd).nativeLevel(detected: .avx512) == .avx512)
        #expect(KernelSelection.instructionSet(.avx512).nativeLevel(detected: .avx2) == .avx2)
        #expect(KernelSelection.instructionSet(.avx2).nativeLevel(detected: .avx512) == .avx2)
        #expect(KernelSelection.instructionSet(.portable).nativeLevel(detected: .avx512) == .portable)
        #expect(KernelSelection.forced(.blas).nativeLevel(detected: .avx512) == .portable)
        #expect(KernelSelection.forced(.naive).nativeLevel(detected: .avx512) == .portable)
        #expect(KernelSelection.recurrentStep(native: .portable) == nil)
        #expect(Kernels(.instructionSet(.avx512)).native <= InstructionSet.detected)
        #expect(throws: UnsupportedInstructionSetError(requested: .avx512, detected: .avx2)) {
            try KernelSelection.instructionSet(.avx512).checkSupported(detected: .avx2)
        }
        let message = UnsupportedInstructionSetError(requested: .avx512, detected: .portable).description
        #expect(message.contains("simd-avx512") && message.contains("simd-portable"), "\(message)")
    }

    /// A pinned level is SIMD everywhere (never BLAS), like `.forced(.simd)`.
    @Test(arguments: InstructionSet.allCases)
    func pinnedLevelNeverCallsBLAS(_ level: InstructionSet) {
        let pinned = KernelSelection.instructionSet(level)
        #expect(pinned.gemmBackend(transA: false, transB: true, m: 64, n: 100_000, k: 64, native: level) == .simd)
        #expect(pinned.gemmBackend(transA: true, transB: false, m: 64, n: 64, k: 64, native: level) == .simd)
        #expect(pinned.gemvBackend(trans: false, m: 1683, n: 64) == .simd)
        #expect(pinned.vectorBackend(count: 1 << 20) == .simd)
        #expect(pinned.elementwiseBackend == .simd)
        #expect(pinned.catalogScan(sessions: 1) == .fused && pinned.catalogScan(sessions: 32) == .batched)
    }

    @Test(arguments: KernelBackend.allCases)
    func forcedSelectionIsUsedWhereverItHasAnImplementation(_ backend: KernelBackend) {
        let forced = KernelSelection.forced(backend)
        #expect(forced.gemmBackend(transA: false, transB: true, m: 2, n: 100_000, k: 64, native: .portable) == backend)
        #expect(forced.gemmBackend(transA: false, transB: false, m: 1, n: 1, k: 1, native: .portable) == backend)
        #expect(forced.gemvBackend(trans: false, m: 1, n: 1) == backend && forced.gemvBackend(trans: true, m: 1, n: 1) == backend)
        #expect(forced.vectorBackend(count: 1) == backend)
        #expect(forced.elementwiseBackend == (backend == .naive ? .naive : .simd))
    }

    @Test func negativeSizeTraps() async {
        await #expect(processExitsWith: .failure) {
            var c: [Float] = [0]
            Kernels(.automatic).gemm(transA: false, transB: false, m: -1, n: 1, k: 1, alpha: 1, a: [1], lda: 1,
                                     b: [1], ldb: 1, beta: 0, c: &c, ldc: 1)
        }
    }

    @Test func leadingDimensionBelowRowLengthTraps() async {
        await #expect(processExitsWith: .failure) {
            var c = [Float](repeating: 0, count: 4)
            Kernels(.automatic).gemm(transA: false, transB: true, m: 2, n: 2, k: 2, alpha: 1, a: [1, 2, 3, 4], lda: 1,
                                     b: [1, 2, 3, 4], ldb: 2, beta: 0, c: &c, ldc: 2)
        }
        await #expect(processExitsWith: .failure) {
            var y: [Float] = [0, 0]
            Kernels(.automatic).gemv(trans: false, m: 2, n: 2, alpha: 1, a: [1, 2, 3, 4], lda: 1, x: [1, 1],
                                     beta: 0, y: &y)
        }
        await #expect(processExitsWith: .failure) {
            var out: [Float] = [0, 0, 0, 0]
            Kernels(.automatic).layerNorm(rows: 2, cols: 2, x: [1, 2, 3, 4], ldx: 2, gamma: [1, 1], beta: [0, 0],
                                          eps: 1e-5, out: &out, ldo: 1)
        }
    }

    @Test func nonPositiveBLASThreadCountTraps() async {
        await #expect(processExitsWith: .failure) {
            configureBLASThreads(0)
        }
    }
}

// Which x86-64 instruction-set level the native kernels (the CSeqRecKernels target) may use, detected
// at run time with cpuid/xgetbv: the binary is built once for its named baseline and uses AVX2 + FMA or
// AVX-512 kernels only where the CPU (and the OS) supports them (docs/KERNELS.md, "Instruction set").
import CSeqRecKernels

/// Instruction-set levels of the native kernels, ordered: a CPU at one level runs every lower one.
public enum InstructionSet: String, Sendable, CaseIterable, Comparable {
    /// No native kernel: the Swift SIMD code (compiled for the package's baseline).
    case portable
    /// AVX2 + FMA kernels (256-bit).
    case avx2
    /// AVX-512 F/BW/VL/DQ kernels (512-bit, masked tails).
    case avx512

    /// The highest level this CPU and OS support (cpuid + xgetbv on every call: read it once, e.g. when
    /// a `Kernels` value is made).
    public static var detected: InstructionSet {
        switch seqrec_cpu_level() {
        case SEQREC_CPU_AVX512: return .avx512
        case SEQREC_CPU_AVX2: return .avx2
        default: return .portable
        }
    }

    private var rank: Int {
        switch self {
        case .portable: 0
        case .avx2: 1
        case .avx512: 2
        }
    }

    public static func < (lhs: InstructionSet, rhs: InstructionSet) -> Bool { lhs.rank < rhs.rank }
}

// swift-tools-version:6.1
// SeqRec: session-based next-item recommendation inference. No package dependencies:
// only the toolchain and the system libraries libopenblas-dev and liblapacke-dev.
import PackageDescription

#if canImport(Glibc)
import Glibc
#endif

/// Code generation for the SIMD kernels in SeqRecCore (docs/KERNELS.md, "Instruction set").
/// On an x86-64 host whose CPU has AVX2 and FMA the core is compiled for `haswell` (AVX2 + FMA) and
/// `SEQREC_FMA` turns every multiply-add into one fused instruction; elsewhere the baseline target is
/// used. `SEQREC_TARGET_CPU=<llvm cpu>` overrides the choice (`x86-64` builds a portable binary).
func simdSettings() -> [SwiftSetting] {
    #if arch(x86_64)
    let requested = getenv("SEQREC_TARGET_CPU").map { String(cString: $0) }
    let cpu: String
    if let requested, !requested.isEmpty {
        cpu = requested
    } else if let flags = hostCPUFlags(), flags.contains("avx2"), flags.contains("fma") {
        cpu = "haswell"
    } else {
        cpu = "x86-64"
    }
    if cpu == "x86-64" { return [] }
    return [.unsafeFlags(["-target-cpu", cpu]), .define("SEQREC_FMA")]
    #else
    return []
    #endif
}

/// The `flags` line of /proc/cpuinfo as a set, or nil when it cannot be read.
func hostCPUFlags() -> Set<Substring>? {
    guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 8192)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("flags") {
            return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
        }
    }
    return nil
}

let package = Package(
    name: "SeqRec",
    products: [
        .library(name: "SeqRecCore", targets: ["SeqRecCore"]),
        .library(name: "SeqRecProtocol", targets: ["SeqRecProtocol"]),
        .library(name: "SeqRecClient", targets: ["SeqRecClient"]),
        .executable(name: "seqrec", targets: ["seqrec"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(name: "CLinux"),
        .target(name: "SeqRecPosix", dependencies: ["CLinux"]),
        .target(name: "CSeqRecKernels"),
        .target(name: "SeqRecCore", dependencies: ["CBLAS", "CSeqRecKernels"], swiftSettings: simdSettings()),
        .target(name: "SeqRecProtocol"),
        .target(name: "SeqRecServer", dependencies: ["SeqRecCore", "SeqRecProtocol", "SeqRecPosix", "SeqRecOperations"]),
        .target(name: "SeqRecClient", dependencies: ["SeqRecProtocol", "SeqRecPosix"]),
        .target(name: "SeqRecOperations", dependencies: ["SeqRecProtocol", "SeqRecPosix"]),
        .executableTarget(
            name: "seqrec",
            dependencies: ["SeqRecCore", "SeqRecServer", "SeqRecClient", "SeqRecPosix", "SeqRecOperations"]
        ),
        .testTarget(name: "SeqRecCoreTests", dependencies: ["SeqRecCore"]),
        .testTarget(name: "SeqRecProtocolTests", dependencies: ["SeqRecProtocol"]),
        .testTarget(name: "SeqRecPosixTests", dependencies: ["SeqRecPosix"]),
        .testTarget(
            name: "SeqRecOperationsTests",
            dependencies: ["SeqRecOperations", "SeqRecPosix", "SeqRecProtocol", "SeqRecClient", "seqrec"]
        ),
        .testTarget(name: "SeqRecCLITests", dependencies: ["seqrec", "SeqRecCore"]),
        .testTarget(name: "SeqRecServerTests", dependencies: ["SeqRecServer", "SeqRecClient", "SeqRecCore", "SeqRecPosix"]),
        .target(name: "CBenchSupport", path: "Benchmarks/CBenchSupport"),
        .target(
            name: "SeqRecBench",
            dependencies: ["SeqRecCore", "SeqRecProtocol", "SeqRecPosix", "CBenchSupport", "SeqRecOperations"],
            path: "Benchmarks/SeqRecBench"
        ),
        .executableTarget(
            name: "seqrec-bench",
            dependencies: ["SeqRecBench"],
            path: "Benchmarks/seqrec-bench"
        ),
        .testTarget(
            name: "SeqRecBenchTests",
            dependencies: ["SeqRecBench", "SeqRecCore", "SeqRecServer"],
            path: "Benchmarks/Tests/SeqRecBenchTests"
        ),
    ]
)

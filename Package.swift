// swift-tools-version:6.2
// SeqRec: session-based next-item recommendation inference. No package dependencies:
// only the toolchain and the system libraries libopenblas-dev and liblapacke-dev.
import PackageDescription

/// The x86-64 instruction-set level SeqRec is compiled for (docs/KERNELS.md, "Instruction set"), from the
/// environment variable SEQREC_ISA — never from the build host's CPU, so a binary built anywhere runs
/// on every CPU of its level:
///   x86-64-v3 (default: AVX2 + FMA + BMI1/2 + F16C + MOVBE, every x86 server since 2013–2015),
///   x86-64-v4 (+ AVX-512 F/BW/CD/DQ/VL), x86-64-v2 (SSE4.2 + POPCNT), x86-64 (any x86-64 CPU).
/// `seqrec` and `seqrec-bench` check the CPU at start-up and exit with a message naming the missing
/// features (Sources/CSeqRecCPU). The level reaches the Swift compiler as `-Xcc -march=<level>` (the
/// clang importer's CPU, which sets IRGen's target CPU and features to exactly the level's; Swift's own
/// `-target-cpu` does not accept the psABI level names), an unsafe flag: SwiftPM ≥ 6.2 accepts it in
/// dependencies of every kind (version, branch, path) for manifests of tools version ≥ 6.2
/// (swiftlang/swift-package-manager #8896, #8951; checked with 6.3.1: a tools-6.1 manifest with the same
/// flag is refused as a version dependency); `SEQREC_ISA=x86-64` builds with no unsafe flag at all.
enum InstructionSetLevel: Int {
    case baseline = 1, v2, v3, v4

    static let environmentVariable = "SEQREC_ISA"

    static var requested: InstructionSetLevel {
        #if arch(x86_64)
        if let old = Context.environment["SEQREC_TARGET_CPU"] {
            fatalError("SEQREC_TARGET_CPU=\(old) is no longer read; set \(environmentVariable) to an ISA level instead: "
                + allLevels.map(\.name).joined(separator: ", "))
        }
        let name = Context.environment[environmentVariable] ?? "x86-64-v3"
        guard let level = allLevels.first(where: { $0.name == name }) else {
            fatalError("\(environmentVariable)=\"\(name)\" is not an ISA level; use one of: "
                + allLevels.map(\.name).joined(separator: ", "))
        }
        return level
        #else
        return .baseline   // other architectures: the compiler's default target, no check
        #endif
    }

    static let allLevels: [InstructionSetLevel] = [.baseline, .v2, .v3, .v4]

    var name: String { self == .baseline ? "x86-64" : "x86-64-v\(rawValue)" }

    /// SeqRecCore's code generation: the level's features, and fused multiply-add from v3 on (`SEQREC_FMA`).
    var swiftSettings: [SwiftSetting] {
        #if arch(x86_64)
        switch self {
        case .baseline: return []
        case .v2: return [.unsafeFlags(["-Xcc", "-march=\(name)"])]
        case .v3, .v4: return [.unsafeFlags(["-Xcc", "-march=\(name)"]), .define("SEQREC_FMA")]
        }
        #else
        return []
        #endif
    }

    /// The level the start-up check requires (0: no check, other architectures).
    var checkSettings: [CSetting] {
        #if arch(x86_64)
        return [.define("SEQREC_REQUIRED_ISA_LEVEL", to: String(rawValue))]
        #else
        return []
        #endif
    }
}

let isa = InstructionSetLevel.requested

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
        .target(name: "CSeqRecKernels", dependencies: ["CSeqRecCPU"]),
        .target(name: "SeqRecJSON"),
        .target(name: "SeqRecCore", dependencies: ["CBLAS", "CSeqRecKernels", "SeqRecJSON", "SeqRecPosix"], swiftSettings: isa.swiftSettings),
        .target(name: "CSeqRecCPU", cSettings: isa.checkSettings),
        .target(name: "SeqRecProtocol"),
        .target(name: "SeqRecServer", dependencies: ["SeqRecCore", "SeqRecProtocol", "SeqRecPosix", "SeqRecOperations", "SeqRecJSON"]),
        .target(name: "SeqRecClient", dependencies: ["SeqRecProtocol", "SeqRecPosix"]),
        .target(name: "SeqRecOperations", dependencies: ["SeqRecProtocol", "SeqRecPosix", "SeqRecJSON"]),
        .executableTarget(
            name: "seqrec",
            dependencies: ["SeqRecCore", "SeqRecServer", "SeqRecClient", "SeqRecPosix", "SeqRecOperations", "SeqRecJSON",
                           "CSeqRecCPU"]
        ),
        // Test support shared by the test targets (and used by nothing else): the seeded generator, package
        // paths, the `seqrec serve` launcher, process and curl runners, raw frames.
        .target(name: "SeqRecTestSupport", path: "Tests/SeqRecTestSupport"),
        .testTarget(name: "SeqRecJSONTests", dependencies: ["SeqRecJSON", "SeqRecTestSupport"]),
        .testTarget(name: "SeqRecCoreTests", dependencies: ["SeqRecCore", "SeqRecTestSupport"]),
        .testTarget(name: "SeqRecProtocolTests", dependencies: ["SeqRecProtocol", "SeqRecTestSupport"]),
        .testTarget(name: "SeqRecPosixTests", dependencies: ["SeqRecPosix"]),
        .testTarget(
            name: "SeqRecOperationsTests",
            dependencies: ["SeqRecOperations", "SeqRecPosix", "SeqRecProtocol", "SeqRecClient", "SeqRecJSON", "seqrec",
                           "SeqRecTestSupport"]
        ),
        .testTarget(name: "SeqRecCLITests", dependencies: ["seqrec", "SeqRecCore", "CSeqRecCPU", "SeqRecTestSupport"]),
        .testTarget(name: "SeqRecClientTests", dependencies: ["SeqRecClient", "SeqRecProtocol"]),
        .testTarget(
            name: "SeqRecServerTests",
            dependencies: ["SeqRecServer", "SeqRecClient", "SeqRecCore", "SeqRecPosix", "SeqRecTestSupport"]
        ),
        .target(name: "CBenchSupport", path: "Benchmarks/CBenchSupport"),
        .target(
            name: "SeqRecBench",
            dependencies: ["SeqRecCore", "SeqRecProtocol", "SeqRecPosix", "CBenchSupport", "SeqRecOperations",
                           "SeqRecServer"],
            path: "Benchmarks/SeqRecBench"
        ),
        .executableTarget(
            name: "seqrec-bench",
            dependencies: ["SeqRecBench", "CSeqRecCPU"],
            path: "Benchmarks/seqrec-bench"
        ),
        .testTarget(
            name: "SeqRecBenchTests",
            dependencies: ["SeqRecBench", "SeqRecCore", "SeqRecServer", "SeqRecTestSupport"],
            path: "Benchmarks/Tests/SeqRecBenchTests"
        ),
    ]
)

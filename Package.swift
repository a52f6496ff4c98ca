// swift-tools-version:6.1
// SeqRec: session-based next-item recommendation inference. No package dependencies:
// only the toolchain and the system libraries libopenblas-dev and liblapacke-dev.
import PackageDescription

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
        .target(name: "SeqRecCore", dependencies: ["CBLAS"]),
        .target(name: "SeqRecProtocol"),
        .target(name: "SeqRecServer", dependencies: ["SeqRecCore", "SeqRecProtocol", "CLinux"]),
        .target(name: "SeqRecClient", dependencies: ["SeqRecProtocol"]),
        .executableTarget(
            name: "seqrec",
            dependencies: ["SeqRecCore", "SeqRecServer", "SeqRecClient", "SeqRecBench"]
        ),
        .testTarget(name: "SeqRecCoreTests", dependencies: ["SeqRecCore"]),
        .testTarget(name: "SeqRecProtocolTests", dependencies: ["SeqRecProtocol"]),
        .testTarget(name: "SeqRecCLITests", dependencies: ["seqrec", "SeqRecCore"]),
        .testTarget(name: "SeqRecServerTests", dependencies: ["SeqRecServer", "SeqRecClient", "SeqRecCore"]),
        .target(name: "CBenchSupport", path: "Benchmarks/CBenchSupport"),
        .target(
            name: "SeqRecBench",
            dependencies: ["SeqRecCore", "SeqRecProtocol", "CBenchSupport"],
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

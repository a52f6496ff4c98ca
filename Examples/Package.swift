// swift-tools-version:6.2
// An application that uses SeqRec as a dependency, the way a gateway would: SeqRecCore in-process and
// SeqRecClient against a running `seqrec serve`. CI builds and runs it (.ci/run): the proof that both
// libraries are usable from another package. A versioned dependency reads the same way:
//   .package(url: "https://…/seqrec.git", from: "1.0.0")
import PackageDescription

let package = Package(
    name: "SeqRecExamples",
    dependencies: [
        .package(name: "SeqRec", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "seqrec-example",
            dependencies: [
                .product(name: "SeqRecCore", package: "SeqRec"),
                .product(name: "SeqRecClient", package: "SeqRec"),
                .product(name: "SeqRecProtocol", package: "SeqRec"),
            ]
        ),
    ]
)

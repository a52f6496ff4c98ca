// seqrec: convert, inspect, recommend, serve, bench. Each subcommand is a thin layer over the libraries.
import CSeqRecCPU
import Foundation
import SeqRecCore
import SeqRecServer

// First: SeqRecCore is compiled for SEQREC_ISA (Package.swift); on a CPU without it, say so instead of
// dying with SIGILL. This file and CSeqRecCPU are compiled for any x86-64 CPU.
if seqrec_cpu_check("seqrec") != 0 { exit(78) }

let usage = """
    usage: seqrec <command> [options]
      convert <folder> -o <file> [--verify|--no-verify] [--popularity <interactions.inter>] [--scan-table int8|bf16|int8,bf16]
                                          convert weights.safetensors + config.json [+ vocab.tsv] to a .seqrec file;
                                          when the folder has golden.json (default) or with --verify, the file is
                                          kept only if it reproduces upstream's golden outputs on every kernel path;
                                          --popularity stores interaction counts per item (RecBole .inter file)
                                          for the cold-start fallback answer; --scan-table int8 (bf16) adds an int8
                                          (bf16) copy of the scoring table (exact top-k from a smaller scan,
                                          docs/KERNELS.md); SEQREC_SCAN_TABLE=auto|fp32|int8|bf16 picks the one served
      inspect <file>                      print a model file's header, hyperparameters, tensors and checksums
      recommend --model <file> --session "<ids or titles; separated by ;>" [--k 10] [--exclude-seen]
                [--external] [--kernels auto|blas|simd|naive] [--diversity LAMBDA[,POOL]] [--explain]
                [--fallback (with an empty --session "": the most popular items)]
      recommend --model <file> --input <sessions.jsonl> [--k 10] --format jsonl
      serve [--model FILE] [--host 127.0.0.1] [--port 7878] [limits...]   (seqrec serve --help)
      bench --model <file> [--batch 1] [--k 10] [--kernels auto|blas|simd] [--format json|text]
                                          in-process latency percentiles and heap allocations per request
                                          (runs `seqrec-bench inprocess`, built next to seqrec; see Benchmarks/)
      demo [--session "<titles; ...>"] [--k 10] [--model FILE]
                                          serve the default model on a free port, send one real request
    Environment: SEQREC_KERNELS=auto|blas|simd|naive overrides the kernel path; SEQREC_BLAS_THREADS (default 1);
      exit status 78: the CPU lacks the instruction set this binary was built for (SEQREC_ISA at build time);
      SEQREC_TABLE_MEMORY=auto|mapped|resident: read scoring tables from the mapped file or a huge-page copy
      (auto copies tables of 32 MB and more).
    """

func run(_ arguments: [String]) async throws {
    guard let command = arguments.first else {
        throw UsageError("missing command (convert, inspect, recommend, serve, bench, demo); `seqrec help` prints the usage")
    }
    var rest = Arguments(arguments.dropFirst())
    switch command {
    case "convert":
        // Options first: `convert -o out.seqrec folder` must not take "-o" for the folder.
        guard let output = try rest.option("-o") ?? rest.option("--output") else { throw UsageError("convert needs -o <out file>") }
        let (verifyFlag, noVerifyFlag) = (rest.flag("--verify"), rest.flag("--no-verify"))
        guard !(verifyFlag && noVerifyFlag) else { throw UsageError("convert takes --verify or --no-verify, not both") }
        let verify: Bool? = verifyFlag ? true : noVerifyFlag ? false : nil
        let popularity = try rest.option("--popularity")
        let scanTables = try rest.option("--scan-table").map { option in
            guard let kinds = ScanTableConversion.kinds(option) else {
                throw UsageError("--scan-table takes int8, bf16 or int8,bf16, got '\(option)'")
            }
            return kinds
        }
        let folder = try rest.positional("input folder")
        try rest.finish()
        if let verified = try VerifiedConversion.convert(folder: folder, output: output, verify: verify,
                                                         popularity: popularity, report: { print($0) }) {
            print("verified: \(verified)")
        }
        if let scanTables { try ScanTableConversion.add(scanTables, path: output) }
        print("wrote \(output)")
    case "inspect":
        let path = try rest.positional("model file")
        try rest.finish()
        print(ModelInspector.describe(try ModelFile.open(path: path)), terminator: "")
    case "recommend":
        try RecommendCommand(&rest).run()
    case "serve":
        do {
            try ServeCommand.run(arguments: Array(arguments.dropFirst()))
        } catch let error as ServerCommandError {
            guard error.isHelpRequest else { throw UsageError("serve: \(error.message)") }
            print(error.message)
        }
    case "bench":
        try runBenchmark(Array(arguments.dropFirst()))
    case "demo":
        try await DemoCommand(&rest).run()
    case "help", "--help", "-h":
        print(usage)
    default:
        throw UsageError("unknown command '\(command)' (convert, inspect, recommend, serve, bench, demo); `seqrec help` prints the usage")
    }
}

/// Replaces this process with `seqrec-bench inprocess`. Counting allocations interposes malloc for the
/// whole process, so that code lives only in the benchmark binary: `seqrec` itself (the server) keeps
/// the system allocator, or whatever allocator the operator preloads.
func runBenchmark(_ arguments: [String]) throws {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let bench = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("seqrec-bench").path
    guard FileManager.default.isExecutableFile(atPath: bench) else {
        throw UsageError("bench runs seqrec-bench, which is not built next to this binary (\(bench)); "
            + "run `swift build -c release` (builds both)")
    }
    fflush(nil)
    let argv = (["seqrec-bench", "inprocess"] + arguments).map { strdup($0) } + [nil]
    execv(bench, argv)
    throw UsageError("cannot run \(bench): \(String(cString: strerror(errno)))")
}

do {
    let threads = ProcessInfo.processInfo.environment["SEQREC_BLAS_THREADS"] ?? "1"
    guard let count = Int(threads), (1...64).contains(count) else {
        throw UsageError("SEQREC_BLAS_THREADS=\"\(threads)\" must be an integer in 1…64")
    }
    configureBLASThreads(count)
    try await run(Array(CommandLine.arguments.dropFirst()))
    fflush(nil)
} catch let error as UsageError {
    fflush(nil)
    FileHandle.standardError.write(Data("seqrec: \(error.description)\n".utf8))
    exit(2)
} catch {
    fflush(nil)
    FileHandle.standardError.write(Data("seqrec: \(String(describing: error))\n".utf8))
    exit(1)
}

import Foundation
import SeqRecCore
import Testing
@testable import SeqRecServer

@Suite("seqrec serve arguments")
struct ServerCommandTests {
    @Test func noArgumentsServeTheDefaultModelOnLoopback() throws {
        let configuration = try ServerCommand.parse(arguments: [])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 7878)
        #expect(configuration.models.isEmpty)
    }

    @Test func defaultModelIsFoundInModels() throws {
        let configuration = ServerConfiguration()
        let preferred = try configuration.resolvedModels(fileExists: { _ in true }, listDirectory: { _ in [] })
        #expect(preferred == [ModelSource(path: "Models/default.seqrec")])
        let only = try configuration.resolvedModels(fileExists: { _ in false },
                                                     listDirectory: { _ in ["README.md", "sasrec-ml100k.seqrec"] })
        #expect(only == [ModelSource(path: "Models/sasrec-ml100k.seqrec")])
        #expect(throws: ServerCommandError.self) {
            try configuration.resolvedModels(fileExists: { _ in false }, listDirectory: { _ in ["a.seqrec", "b.seqrec"] })
        }
    }

    @Test func everyFlagIsRead() throws {
        let configuration = try ServerCommand.parse(arguments: [
            "--host", "::1", "--port", "0", "--model", "a.seqrec", "--model", "shop=b.seqrec", "--workers", "3", "--kernels", "simd",
            "--max-batch", "16", "--max-delay-us", "50", "--max-queue", "99", "--max-connections", "7",
            "--max-inflight", "9", "--max-frame", "65536", "--max-output", "131072", "--frame-timeout-ms", "250", "--idle-timeout-ms", "900",
            "--default-timeout-us", "5000", "--max-timeout-us", "60000", "--drain-delay-ms", "10", "--drain-grace-ms", "20",
            "--state-cache-mb", "0", "--state-cache-idle-s", "60", "--state-dir", "/var/lib/seqrec",
        ])
        #expect(configuration.stateDirectory == "/var/lib/seqrec")
        #expect(configuration.settings(tokenFile: nil)["state-dir"] == .string("/var/lib/seqrec"))
        #expect(configuration.stateCacheMegabytes == 0)
        #expect(configuration.stateCacheIdleSeconds == 60)
        #expect(configuration.host == "::1")
        #expect(configuration.port == 0)
        #expect(configuration.models == [ModelSource(path: "a.seqrec"), ModelSource(path: "b.seqrec", name: "shop")])
        #expect(configuration.workers == 3)
        #expect(configuration.kernels == KernelSelection(name: "simd"))
        #expect(configuration.maxBatch == 16)
        #expect(configuration.maxDelayMicroseconds == 50)
        #expect(configuration.maxQueue == 99)
        #expect(configuration.maxConnections == 7)
        #expect(configuration.maxInflightPerConnection == 9)
        #expect(configuration.maxFrameLength == 65_536)
        #expect(configuration.maxOutputBytes == 131_072)
        #expect(configuration.frameReadTimeoutMilliseconds == 250)
        #expect(configuration.idleTimeoutMilliseconds == 900)
        #expect(configuration.defaultTimeoutMicroseconds == 5_000)
        #expect(configuration.maxTimeoutMicroseconds == 60_000)
        #expect(configuration.drainDelayMilliseconds == 10)
        #expect(configuration.drainGraceMilliseconds == 20)
    }

    @Test(arguments: [
        (["--port", "70000"], "--port"),
        (["--workers", "0"], "--workers"),
        (["--max-batch"], "--max-batch needs a value"),
        (["--max-queue", "-3"], "--max-queue"),
        (["--model", "=x"], "--model"),
        (["--bogus"], "unknown option '--bogus'"),
        (["--kernels", "gpu"], "--kernels"),
        (["--max-frame", "10"], "--max-frame"),
        // Durations are held in nanoseconds: a huge value must be refused, not overflow later.
        (["--frame-timeout-ms", "9223372036854775807"], "--frame-timeout-ms must be 1...2147483647"),
        (["--idle-timeout-ms", "2147483648"], "--idle-timeout-ms"),
        (["--drain-delay-ms", "9223372036854775807"], "--drain-delay-ms"),
        (["--drain-grace-ms", "9223372036854775807"], "--drain-grace-ms"),
        (["--auth-token-file", "/nonexistent/token"], "cannot read '/nonexistent/token'"),
        (["--state-cache", "0"], "unknown option '--state-cache'"),
        (["--state-cache-mb", "65537"], "--state-cache-mb must be 0...65536"),
        (["--state-cache-mb", "-1"], "--state-cache-mb"),
        (["--state-cache-idle-s", "0"], "--state-cache-idle-s must be 1...604800"),
    ])
    func badArgumentsNameTheFlag(arguments: [String], expected: String) {
        do {
            _ = try ServerCommand.parse(arguments: arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.isHelpRequest)
        }
    }

    @Test func authTokenFileLosesOneTrailingNewline() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-token-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (contents, expected) in [("s3cret\r\n", "s3cret"), ("s3cret\n", "s3cret"), ("a b\n\n", "a b\n")] {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
            let configuration = try ServerCommand.parse(arguments: ["--auth-token-file", path])
            #expect(configuration.authToken == Array(expected.utf8))
        }
        for contents in ["\n", String(repeating: "x", count: 257)] {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: ServerCommandError.self) { try ServerCommand.parse(arguments: ["--auth-token-file", path]) }
        }
    }

    @Test func naiveKernelsAreAccepted() throws {
        #expect(try ServerCommand.parse(arguments: ["--kernels", "naive"]).kernels == .forced(.naive))
    }

    @Test func helpIsNotAnError() {
        do {
            _ = try ServerCommand.parse(arguments: ["--help"])
            Issue.record("--help returned a configuration")
        } catch {
            #expect(error.isHelpRequest)
            #expect(error.message.contains("--max-delay-us"))
        }
    }
}

import Foundation
@testable import SeqRecBench
import SeqRecCore
@testable import SeqRecServer
import SeqRecTestSupport
import Testing

/// The load generator against a real in-process server (ephemeral loopback port) serving the
/// ml-100k SASRec fixture: both loop kinds complete every request without errors, the open loop
/// delivers the offered rate, and latencies are plausible (never below the server's own part).
@Suite(.serialized) struct LoadGeneratorTests {
    final class RunningServer: @unchecked Sendable {
        let server: Server
        private let finished = DispatchSemaphore(value: 0)

        init() throws {
            let fixture = PackagePaths.fixture("recbole-sasrec-ml100k")
            let model = FileManager.default.temporaryDirectory
                .appendingPathComponent("load-generator-\(getpid()).seqrec").path
            try FixtureImporter.convert(folder: fixture, output: model)
            defer { try? FileManager.default.removeItem(atPath: model) }
            configureBLASThreads(1)   // as `seqrec` does at start-up: the library leaves OpenBLAS's threads alone
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.workers = 1
            configuration.drainDelayMilliseconds = 0
            configuration.drainGraceMilliseconds = 5_000
            let recommender = try Recommender(path: model, name: "sasrec", maxBatch: configuration.maxBatch)
            server = try Server(configuration: configuration, backends: [RecommenderBackend(recommender)])
            let thread = Thread { [server, finished] in
                try? server.run()
                finished.signal()
            }
            thread.start()
        }

        func stop() -> Bool {
            server.drain()
            return finished.wait(timeout: .now() + 10) == .success
        }
    }

    static func frames() throws -> [[UInt8]] {
        try LoadCommand.requestFrames(try BenchArguments(["--items", "1682", "--session-length", "20"], known: LoadCommand.options))
    }

    @Test func closedLoopAnswersEveryRequest() throws {
        let running = try RunningServer()
        let plan = LoadPlan(host: "127.0.0.1", port: running.server.port, connections: 4,
                            mode: .closed(depth: 2), warmupSeconds: 0.1, durationSeconds: 0.5)
        let result = try LoadGenerator.run(plan, frames: try Self.frames())
        #expect(running.stop())
        #expect(result.completed > 10)
        #expect(result.errors == 0 && result.unanswered == 0)
        #expect(result.throughputPerSecond > 0)
        #expect(result.latency.count == UInt64(result.completed))
        #expect(result.latency.minimum >= result.service.minimum)
    }

    @Test func openLoopDeliversTheOfferedRate() throws {
        let running = try RunningServer()
        let plan = LoadPlan(host: "127.0.0.1", port: running.server.port, connections: 3,
                            mode: .open(ratePerSecond: 50), warmupSeconds: 0.2, durationSeconds: 1)
        let result = try LoadGenerator.run(plan, frames: try Self.frames())
        #expect(running.stop())
        #expect(result.errors == 0 && result.unanswered == 0)
        // 50 requests are due in the measured second; all of them are answered and recorded.
        // (Throughput counts answers by arrival time, so on a loaded machine it lags the rate.)
        #expect(result.completed == 50)
        #expect(result.throughputPerSecond > 0 && result.offeredPerSecond == 50)
        #expect(result.latency.percentile(50) >= result.service.percentile(50),
                "latency from the due time includes the server's part")
    }
}

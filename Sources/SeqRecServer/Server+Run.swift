// `seqrec serve` end to end: load the models, bind, route SIGTERM/SIGINT to the drain, print one
// ready line, serve until drained, print one summary line.
import Foundation
import SeqRecCore

extension Server {
    /// Serves `configuration` on the calling thread until SIGTERM/SIGINT has drained the server.
    /// Errors (bad model file, port in use) are thrown before the ready line.
    public static func run(configuration: ServerConfiguration) throws {
        try configuration.validate()
        let descriptors = System.raiseOpenFileLimit()
        let sources = try configuration.resolvedModels(
            fileExists: { FileManager.default.fileExists(atPath: $0) },
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] })
        let kernels = try configuration.kernels ?? KernelSelection.fromEnvironment()
        let tableMemory = try TableMemory.fromEnvironment()   // Recommender no longer reads the environment
        var backends: [any InferenceBackend] = []
        for source in sources {
            let recommender = try Recommender(path: source.path, name: source.name, kernels: kernels,
                                              maxBatch: configuration.maxBatch, tableMemory: tableMemory,
                                              stateCacheEntries: configuration.stateCacheEntries)
            backends.append(RecommenderBackend(recommender))
        }
        let server = try Server(configuration: configuration, backends: backends)
        let delay = configuration.drainDelayMilliseconds
        let grace = configuration.drainGraceMilliseconds
        let signals = SignalDrain(server: server) { number in
            printLine("seqrec serve: signal \(number): draining (health NOT_SERVING, GOAWAY in \(delay) ms, "
                + "exit at the latest \(grace) ms later; a second signal stops at once)")
        }
        defer { withExtendedLifetime(signals) {} }
        printLine(server.readyLine)
        if descriptors < UInt64(configuration.maxConnections) + 64 {
            printLine("seqrec serve: warning: only \(descriptors) open files allowed; --max-connections "
                + "\(configuration.maxConnections) cannot all be accepted (raise ulimit -n)")
        }
        try server.run()
        let statistics = server.statistics
        printLine("seqrec serve: stopped; \(statistics.answeredRequests) requests answered, "
            + "\(statistics.rejectedOverload) rejected for overload, \(statistics.expiredInQueue) expired in the queue, "
            + "\(statistics.abandonedAtStop) abandoned at the grace limit"
            + (statistics.stateCacheLookups > 0
                ? "; \(statistics.stateCacheHits) of \(statistics.stateCacheLookups) sessions resumed from the state cache" : ""))
    }

    /// The one line printed when the server accepts connections.
    var readyLine: String {
        let models = backends.map { "\($0.info.name) (\($0.info.family), \($0.info.itemCount) items)" }
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "seqrec serve: ready on \(host):\(port); models: \(models.joined(separator: ", ")); "
            + "workers \(configuration.workers), max batch \(configuration.maxBatch), "
            + "max delay \(configuration.maxDelayMicroseconds) us"
    }

    /// Writes a line to stdout at once, even when stdout is a pipe (tests and supervisors wait for it).
    fileprivate static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

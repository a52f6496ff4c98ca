// `seqrec serve` minus what only an executable may do (signal dispositions, rlimits): load the
// models a configuration names and bind, ready for `run()`. Errors (bad model file, port in use)
// are thrown before anything is served.
import Foundation
import SeqRecCore
import SeqRecPosix

extension Server {
    public static func load(configuration: ServerConfiguration) throws -> Server {
        try configuration.validate()
        let sources = try configuration.resolvedModels(
            fileExists: { FileManager.default.fileExists(atPath: $0) },
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] })
        let kernels = try configuration.kernels ?? KernelSelection.fromEnvironment()
        let tableMemory = try TableMemory.fromEnvironment()   // Recommender no longer reads the environment
        var backends: [any InferenceBackend] = []
        var loadSeconds: [Double] = []
        for source in sources {
            let started = MonotonicClock.now()
            let recommender = try Recommender(path: source.path, name: source.name, kernels: kernels,
                                              maxBatch: configuration.maxBatch, tableMemory: tableMemory,
                                              stateCacheEntries: configuration.stateCacheEntries)
            backends.append(RecommenderBackend(recommender))
            loadSeconds.append(Double(MonotonicClock.now() &- started) / 1e9)
        }
        let server = try Server(configuration: configuration, backends: backends)
        server.modelLoadSeconds = loadSeconds
        server.catalogues = try ItemCatalogues(configuration: configuration, backends: backends)
        return server
    }

    /// The line printed after `run()` returns.
    public var stoppedLine: String {
        let statistics = statistics
        return "seqrec serve: stopped; \(statistics.answeredRequests) requests answered, "
            + "\(statistics.rejectedOverload) rejected for overload, \(statistics.expiredInQueue) expired in the queue, "
            + "\(statistics.abandonedAtStop) abandoned at the grace limit"
            + (statistics.stateCacheLookups > 0
                ? "; \(statistics.stateCacheHits) of \(statistics.stateCacheLookups) sessions resumed from the state cache" : "")
    }
}

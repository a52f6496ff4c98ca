// `seqrec serve` minus what only an executable may do (signal dispositions, rlimits, reading the
// environment): load the models a configuration names and bind, ready for `run()`. Errors (bad
// model file, port in use) are thrown before anything is served.
import Foundation
import SeqRecCore
import SeqRecPosix

extension Server {
    public static func load(configuration: ServerConfiguration) throws -> Server {
        try configuration.validate()
        let sources = try configuration.resolvedModels(
            fileExists: { FileManager.default.fileExists(atPath: $0) },
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] })
        var versions: [LoadedVersion] = []
        for source in sources {
            versions.append(try VersionLoader.load(path: source.path, name: source.name, version: 1,
                                                   configuration: configuration, warmWorkers: 0))
        }
        return try Server(configuration: configuration, versions: versions)
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

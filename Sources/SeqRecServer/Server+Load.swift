// `seqrec serve` minus what only an executable may do (signal dispositions, rlimits, reading the
// environment): load the models a configuration names (files, or a repository under its version
// policies), restore the saved routings, and bind, ready for `run()`. Errors (no loadable model,
// unreadable state directory, port in use) are thrown before anything is served.
import Foundation
import SeqRecCore
import SeqRecOperations
import SeqRecPosix

extension Server {
    public static func load(configuration: ServerConfiguration) throws -> Server {
        try configuration.validate()
        let store = try configuration.stateDirectory.map { directory throws(RoutingStoreError) in
            try RoutingStore(directory: directory)
        }
        let saved = try store?.load() ?? [:]
        var versions: [LoadedVersion] = []
        var report = LifecycleReport()
        if let root = configuration.modelRepository {
            let scan = scanRepository(root)
            report.skipped = scan.skipped
            for name in scan.models.keys.sorted() {
                let onDisk = scan.versions(of: name)
                let policy = configuration.versionPolicies[name] ?? .default
                // Versions a saved split or default names are served too: a split survives a restart.
                let routed = (saved[name]?.routing.versions ?? []).filter(onDisk.contains)
                for version in Set(policy.select(from: onDisk)).union(routed).sorted() {
                    do {
                        versions.append(try VersionLoader.load(path: scan.models[name]![version]!, name: name, version: version,
                                                               configuration: configuration, warmWorkers: configuration.workers))
                    } catch {
                        report.refused.append(RefusedVersion(model: name, version: version, reason: error.reason.rawValue,
                                                             message: error.message))
                    }
                }
            }
            for name in configuration.versionPolicies.keys.sorted() where scan.models[name] == nil {
                report.skipped.append("--version-policy \(name): no model directory \(root)/\(name) with versions")
            }
            guard !versions.isEmpty else {
                let problems = (report.refused.map(\.message) + report.skipped).prefix(5).joined(separator: "; ")
                throw ServerCommandError(message: "--model-repository \(root): no model version could be loaded "
                    + "(layout: \(root)/<name>/<version>/\(ModelRepository.fileName))" + (problems.isEmpty ? "" : ": \(problems)"))
            }
        } else {
            let sources = try configuration.resolvedModels(
                fileExists: { FileManager.default.fileExists(atPath: $0) },
                listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] })
            for source in sources {
                do {
                    versions.append(try VersionLoader.load(path: source.path, name: source.name, version: 1,
                                                           configuration: configuration, warmWorkers: configuration.workers))
                } catch {
                    throw ServerCommandError(message: "--model \(source.path): \(error.message)")
                }
            }
        }
        let server = try Server(configuration: configuration, versions: versions)
        server.catalogues = try ItemCatalogues(configuration: configuration, backends: versions.map(\.backend))
        server.routingStore = store
        server.startupReport = report
        server.monitor.withLock {
            for (name, routing) in saved where !name.isEmpty {
                guard let model = server.core.models.model(named: name) else { continue }
                server.core.models.restoreRouting(routing.routing, history: routing.history, model: model)
            }
        }
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

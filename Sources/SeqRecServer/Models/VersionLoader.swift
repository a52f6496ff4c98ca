// Opening a version: the file is mapped and fully validated by the engine (header, tensor table,
// checksums), then every worker-to-be runs synthetic requests, so its workspace exists, its pages
// are resident and its first real request is not slow. A version whose synthetic answers are
// malformed (wrong length, non-finite scores: corrupt weights) is refused before anyone sees it.
import Glibc
import SeqRecCore
import SeqRecPosix
import SeqRecProtocol

/// Why a version was not published; `reason` is the metric label and log field.
package struct VersionLoadError: Error, CustomStringConvertible, Sendable {
    package enum Reason: String, Sendable { case unreadable, corrupt, incompatible }
    package let reason: Reason
    package let message: String

    package init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    package var description: String { message }
}

package enum VersionLoader {
    /// Opens, validates and warms `path` as `name` version `version`, with `warmWorkers` warmed workers.
    package static func load(path: String, name: String?, version: UInt32, configuration: ServerConfiguration,
                             warmWorkers: Int) throws(VersionLoadError) -> LoadedVersion
    {
        let started = MonotonicClock.now()
        let recommender: Recommender
        do {
            recommender = try Recommender(path: path, name: name, kernels: configuration.kernels ?? .automatic,
                                          maxBatch: configuration.maxBatch, tableMemory: configuration.tableMemory,
                                          stateCache: configuration.stateCacheSettings,
                                          scanTable: configuration.scanTable,
                                          scanThreads: try ScanThreads.shared(count: configuration.scanThreads ?? 1))
        } catch {
            let unreadable = !FileSystem.isReadableFile(path)
            throw VersionLoadError(unreadable ? .unreadable : .corrupt, "\(path): \(error)")
        }
        let backend = RecommenderBackend(recommender, version: version)
        let workers = try warm(backend, workers: warmWorkers, maxBatch: configuration.maxBatch)
        return LoadedVersion(backend: backend, loadSeconds: Double(MonotonicClock.now() &- started) / 1e9,
                             warmWorkers: workers)
    }

    /// Makes `count` workers and runs synthetic sessions through each: a few single requests and one
    /// full batch. Throws `.corrupt` when an answer is not k finite scores in descending order.
    package static func warm(_ backend: any InferenceBackend, workers count: Int, maxBatch: Int)
        throws(VersionLoadError) -> [any InferenceWorker]
    {
        guard count > 0 else { return [] }
        let info = backend.info
        guard info.itemCount > 0 else { throw VersionLoadError(.incompatible, "\(info.name) v\(info.version) has no items") }
        let length = Int(min(info.maxSessionLength, 20))
        let k = Int(min(info.itemCount, 10))
        var queries: [SessionQuery] = []
        for index in 0..<maxBatch {
            let items = (0..<max(1, length)).map { position in
                Int32(truncatingIfNeeded: Int(info.firstItemID) + (position * 7_919 + index * 31) % Int(info.itemCount))
            }
            let query = SessionQuery(items: items, k: k)
            do throws(QueryRejection) {
                try backend.validate(query)
            } catch {
                throw VersionLoadError(.incompatible, "\(info.name) v\(info.version): a synthetic warm-up session was "
                    + "refused (\(error.message))")
            }
            queries.append(query)
        }
        var results = Array(repeating: ScoredItems(), count: maxBatch)
        var workers: [any InferenceWorker] = []
        for _ in 0..<count {
            let worker = backend.makeWorker()
            for single in 0..<min(3, maxBatch) {
                worker.recommend(queries[single..<(single + 1)], into: &results)
                try check(results[0], k: k, info: info)
            }
            worker.recommend(queries[...], into: &results)
            for result in results { try check(result, k: k, info: info) }
            workers.append(worker)
        }
        return workers
    }

    private static func check(_ result: ScoredItems, k: Int, info: ModelDescription) throws(VersionLoadError) {
        let sorted = zip(result.scores, result.scores.dropFirst()).allSatisfy { $0 >= $1 }
        guard result.items.count == k, result.scores.count == k, result.scores.allSatisfy(\.isFinite), sorted else {
            throw VersionLoadError(.corrupt, "\(info.name) v\(info.version): a warm-up request answered "
                + "\(result.items.count) items with scores \(result.scores.prefix(4)) (expected \(k) finite scores, "
                + "best first); the weights are probably corrupt")
        }
    }
}

/// Just enough of the file system for loading, without Foundation's FileManager on the request path.
enum FileSystem {
    static func isReadableFile(_ path: String) -> Bool { access(path, R_OK) == 0 }
}

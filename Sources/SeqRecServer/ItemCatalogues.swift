// The server's item attributes (docs/OPERATIONS.md, "Item attributes"): one `ItemCatalogue` per
// model name that has an attribute file or, with --state-dir, may receive updates; every loaded
// version of the name is attached, and a version a reload opens is attached before it serves
// (`attach`, which creates the catalogue of a name seen for the first time). Also the admin port's
// PATCH/GET item endpoints and the `seqrec_catalogue_*` metrics (docs/OPERATIONS.md §12.5).
import SeqRecCore
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol
import Synchronization

/// `--item-attributes NAME=FILE`.
public struct ItemAttributeSource: Sendable, Equatable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }
}

package final class ItemCatalogues: ItemAttributeServices, Sendable {
    /// One model name's catalogue and the counters of its PATCH calls.
    private struct Entry {
        let catalogue: ItemCatalogue
        var updates: UInt64 = 0
        var batches: UInt64 = 0
        var durationBuckets = [UInt64](repeating: 0, count: HistogramLayout.seconds.bucketCount)
        var durationNanoseconds: UInt64 = 0

        init(_ catalogue: ItemCatalogue) { self.catalogue = catalogue }
    }

    /// By model name; a name first seen in a repository reload gets its entry then (`attach`).
    private let entries: Mutex<[String: Entry]>
    private let files: [String: String]
    private let stateDirectory: String?
    /// Applies PATCH batches at nice 10 (the admin thread waits for it): on a busy machine a bulk update
    /// yields the CPU to the serving threads instead of taking its share from them. It holds only the
    /// catalogue's writer lock, which no serving thread takes (docs/OPERATIONS.md §12.4).
    private let writer = LifecycleThread(name: "seqrec-catalogue", scheduling: .normal(nice: 10))

    /// Loads the attribute files and the state directory's journals, and attaches every backend.
    /// `--item-attributes` may name a model not loaded yet only with a model repository (it may appear
    /// in a reload); the same holds for `--fallback`, which also needs a popularity ranking.
    package init(configuration: ServerConfiguration, backends: [any InferenceBackend]) throws {
        let names = Set(backends.map(\.info.name))
        let served = names.sorted().joined(separator: ", ")
        if configuration.modelRepository == nil {
            for source in configuration.itemAttributes where !names.contains(source.name) {
                throw ServerCommandError(message: "--item-attributes \(source.name)=\(source.path): no model named '\(source.name)' (served: \(served))")
            }
            for name in configuration.fallbackDefaults.keys.sorted() where !names.contains(name) {
                throw ServerCommandError(message: "--fallback \(name)=...: no model named '\(name)' (served: \(served))")
            }
        }
        for backend in backends where configuration.fallbackDefaults[backend.info.name] == true
            && (backend as? RecommenderBackend)?.recommender.info.hasPopularity == false {
            throw ServerCommandError(message: "--fallback \(backend.info.name)=popular: the model has no popularity ranking; "
                + "convert it with `seqrec convert --popularity <interactions>`")
        }
        files = Dictionary(configuration.itemAttributes.map { ($0.name, $0.path) }, uniquingKeysWith: { first, _ in first })
        stateDirectory = configuration.stateDirectory
        entries = Mutex([:])
        for backend in backends {
            do { try attach(backend) } catch { throw ServerCommandError(message: error.message) }
        }
    }

    /// Serves a newly loaded version of its model name with the name's attributes, creating the name's
    /// catalogue (attribute file, journal in the state directory) when the name is new.
    package func attach(_ backend: any InferenceBackend) throws(ServerCommandError) {
        let name = backend.info.name
        let catalogue = try entries.withLock { (entries) throws(ServerCommandError) -> ItemCatalogue? in
            if let entry = entries[name] { return entry.catalogue }
            let file = files[name]
            guard file != nil || stateDirectory != nil else { return nil }
            do {
                let catalogue = try ItemCatalogue(name: name, attributesFile: file, stateDirectory: stateDirectory)
                entries[name] = Entry(catalogue)
                return catalogue
            } catch {
                throw ServerCommandError(message: "item attributes of model '\(name)': \(error)")
            }
        }
        if let recommender = (backend as? RecommenderBackend)?.recommender { catalogue?.attach(recommender) }
    }

    /// Stops the writer thread (at exit; a PATCH after it runs on the admin thread).
    package func stop() { writer.stop() }

    /// The catalogue of model `name`, if it has one.
    package func catalogue(named name: String) -> ItemCatalogue? {
        entries.withLock { $0[name]?.catalogue }
    }

    package func updateItems(model: String, body: [UInt8]) -> ItemAttributeOutcome {
        guard stateDirectory != nil else {
            return .failed(.failedPrecondition, message: "item updates must be durable: start seqrec serve with --state-dir DIR")
        }
        guard let catalogue = catalogue(named: model) else {
            return .failed(.notFound, message: "no model named '\(model.prefix(100))'; GET /v1/models lists them")
        }
        let started = MonotonicClock.now()
        do {
            let applied = try writer.perform { Result { () throws(CatalogueError) -> Int in try catalogue.apply(json: body) } }.get()
            let nanoseconds = MonotonicClock.now() &- started
            entries.withLock { entries in
                guard var entry = entries[model] else { return }
                entries[model] = nil   // leaves `entry` the only reference to its buckets: no copy
                entry.updates &+= UInt64(applied)
                entry.batches &+= 1
                entry.durationBuckets[HistogramLayout.seconds.bucket(of: nanoseconds)] &+= 1
                entry.durationNanoseconds &+= nanoseconds
                entries[model] = entry
            }
            return .ok(json: "{\"applied\":\(applied)}\n")
        } catch {
            return .failed(Self.status(error), message: error.description)
        }
    }

    /// `seqrec_catalogue_*` (docs/OPERATIONS.md §12.5), one per model name, sorted by name.
    package func catalogueMetrics() -> [CatalogueMetrics] {
        let current = entries.withLock { $0 }
        return current.keys.sorted().map { name in
            let entry = current[name]!, gauges = entry.catalogue.gauges()
            return CatalogueMetrics(model: name, items: gauges.items, categories: gauges.categories,
                                    unavailable: gauges.unavailable, expired: gauges.expired,
                                    journalBytes: gauges.journalBytes, updates: entry.updates, batches: entry.batches,
                                    lastUpdateSeconds: Double(gauges.lastUpdate) / 1000, durationBuckets: entry.durationBuckets,
                                    durationNanoseconds: entry.durationNanoseconds)
        }
    }

    package func item(model: String, key: String) -> ItemAttributeOutcome {
        guard let catalogue = catalogue(named: model) else {
            return .failed(.notFound, message: "no item attributes for model '\(model.prefix(100))' (no --item-attributes "
                + "file and no --state-dir, or no such model)")
        }
        let itemKey: ItemKey
        if key.hasPrefix("#") {
            guard let id = Int64(key.dropFirst()), id >= 0 else {
                return .failed(.invalidArgument, message: "'\(key.prefix(40))' is not '#' and an internal id")
            }
            itemKey = .id(id)
        } else {
            itemKey = .token(key)
        }
        do {
            let (token, id, attributes) = try catalogue.item(itemKey)
            var json = attributes.json(id: token)
            json.removeLast()   // the closing brace: add the internal id
            json += ",\"internal_id\":" + (id.map { String($0) } ?? "null") + "}\n"
            return .ok(json: json)
        } catch {
            return .failed(Self.status(error), message: error.description)
        }
    }

    private static func status(_ error: CatalogueError) -> StatusCode {
        switch error.kind {
        case .invalidInput: .invalidArgument
        case .notFound: .notFound
        case .storage: .unavailable
        }
    }
}

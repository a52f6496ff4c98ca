// The item attributes of one model NAME (docs/OPERATIONS.md, "Item attributes"): kept by external id,
// so they outlive model versions; every attached version gets them resolved to its internal ids as an
// immutable snapshot in its `CatalogueSlot`. Loaded from an attribute file (the base), then the
// acknowledged updates in the state directory (the overlay) on top; `apply` journals a batch before it
// changes anything, then publishes new snapshots, so the very next request filters with it.
import Synchronization

public final class ItemCatalogue: Sendable {
    public let name: String

    private struct State {
        var items: [String: ItemAttributes] = [:]
        /// Every acknowledged update, merged per item (what compaction writes).
        var overlay: [String: AttributeUpdate] = [:]
        var categoryNumbers: [String: Int32] = [:]
        var versions: [VersionAttributes] = []
        var journal: AttributeJournal?
    }

    private let state: Mutex<State>
    /// Most updates in one `apply`.
    public static let maxBatch = 100_000
    /// Most distinct category names per model (category numbers are Int32 and one counter each per context).
    public static let maxCategories = 1 << 20

    /// Loads `attributesFile` (JSONL, one item per line; nil: none) and, when `stateDirectory` is given,
    /// the updates acknowledged before (and opens the journal there).
    public init(name: String, attributesFile: String? = nil, stateDirectory: String? = nil) throws(CatalogueError) {
        self.name = name
        var initial = State()
        if let attributesFile {
            for update in try AttributeFile.read(path: attributesFile) {
                try Self.merge(update, into: &initial)
            }
        }
        if let stateDirectory {
            let journal = try AttributeJournal(stateDirectory: stateDirectory, model: name)
            for update in try journal.load() {
                try Self.merge(update, into: &initial)
                guard case .token(let token) = update.key else { continue }
                initial.overlay[token] = initial.overlay[token].map { $0.merged(with: update) } ?? update
            }
            if journal.journalBytes > 0 { try journal.compact(Array(initial.overlay.values)) }
            initial.journal = journal
        }
        state = Mutex(initial)
    }

    /// Items with attributes, distinct categories.
    public var counts: (items: Int, categories: Int) {
        state.withLock { ($0.items.count, $0.categoryNumbers.count) }
    }

    /// Serves `recommender` (a version of this model) with these attributes from now on.
    public func attach(_ recommender: Recommender) {
        state.withLock { state in
            state.versions.removeAll { $0.recommender == nil || $0.recommender === recommender }
            let version = VersionAttributes(recommender)
            for (token, attributes) in state.items {
                version.set(token, attributes, numbers: attributes.categories.map { state.categoryNumbers[$0]! })
            }
            state.versions.append(version)
            version.slot.publish(version.snapshot(now: version.slot.now, categoryNumbers: state.categoryNumbers,
                                                  categoryCount: state.categoryNumbers.count))
        }
    }

    /// Stops updating `recommender`'s snapshot (its slot keeps the last one).
    public func detach(_ recommender: Recommender) {
        state.withLock { $0.versions.removeAll { $0.recommender == nil || $0.recommender === recommender } }
    }

    /// Applies a batch: every update is checked first (ids known, fields in range), then the batch is
    /// journaled (when there is a state directory) and only then applied and published. On error nothing
    /// changed. Returns the number of updates applied.
    @discardableResult
    public func apply(_ updates: [AttributeUpdate]) throws(CatalogueError) -> Int {
        guard updates.count <= Self.maxBatch else {
            throw CatalogueError(field: "updates", "\(updates.count) updates, at most \(Self.maxBatch) per batch; split it")
        }
        return try state.withLock { (state) throws(CatalogueError) -> Int in
            state.versions.removeAll { $0.recommender == nil }   // versions unloaded since
            var resolved: [AttributeUpdate] = []
            resolved.reserveCapacity(updates.count)
            var newCategories = Set<String>()
            for (index, update) in updates.enumerated() {
                do throws(CatalogueError) {
                    resolved.append(try resolve(update, state.versions))
                    for category in update.categories ?? [] where state.categoryNumbers[category] == nil { newCategories.insert(category) }
                } catch { throw error.within("updates[\(index)]") }
            }
            guard state.categoryNumbers.count + newCategories.count <= Self.maxCategories else {
                throw CatalogueError(field: "updates", "the model would have more than \(Self.maxCategories) distinct categories")
            }
            try state.journal?.append(resolved)
            var touched: [String] = []
            touched.reserveCapacity(resolved.count)
            for update in resolved {
                // safe: resolve checked the category count, and keys are tokens now.
                try? Self.merge(update, into: &state)
                guard case .token(let token) = update.key else { continue }
                state.overlay[token] = state.overlay[token].map { $0.merged(with: update) } ?? update
                touched.append(token)
            }
            for version in state.versions {
                for token in touched {
                    let attributes = state.items[token]!
                    version.set(token, attributes, numbers: attributes.categories.map { state.categoryNumbers[$0]! })
                }
                version.slot.publish(version.snapshot(now: version.slot.now, categoryNumbers: state.categoryNumbers,
                                                      categoryCount: state.categoryNumbers.count))
            }
            if let journal = state.journal, journal.journalBytes >= AttributeJournal.compactionBytes {
                // The batch is durable already; a failed compaction leaves the journal to replay.
                try? journal.compact(Array(state.overlay.values))
            }
            return resolved.count
        }
    }

    /// The updates of a PATCH body `{"updates": [...]}`, unresolved.
    public static func parseBatch(_ body: [UInt8]) throws(CatalogueError) -> [AttributeUpdate] {
        guard body.count <= 64 << 20 else { throw CatalogueError(field: "body", "\(body.count) bytes, at most 64 MiB") }
        return try AttributeJournal.batch(try CatalogueJSON.parse(body[...]), tokenOnly: false)
    }

    /// Parses and applies a PATCH body `{"updates": [...]}`.
    @discardableResult
    public func apply(json body: [UInt8]) throws(CatalogueError) -> Int {
        try apply(try Self.parseBatch(body))
    }

    /// One item's attributes: its external id, its internal id in the newest attached version (nil when
    /// that version does not know it), and its attributes (the defaults when it has none).
    public func item(_ key: ItemKey) throws(CatalogueError) -> (token: String, id: Int32?, attributes: ItemAttributes) {
        try state.withLock { (state) throws(CatalogueError) in
            state.versions.removeAll { $0.recommender == nil }
            let resolved = try resolve(AttributeUpdate(key: key), state.versions)
            guard case .token(let token) = resolved.key else { fatalError("resolve returns tokens") }
            let id = state.versions.last(where: { $0.recommender != nil })?.internalID(of: token)
            return (token, id, state.items[token] ?? ItemAttributes())
        }
    }

    /// All items' attributes as JSONL (the attribute file format), sorted by external id.
    public func exportLines() -> [String] {
        state.withLock { state in state.items.keys.sorted().map { state.items[$0]!.json(id: $0) } }
    }

    /// The update with its key as an external id known to the model (internal ids are read in the newest
    /// version; external ids must be known to some attached version, or any id when none is attached).
    private func resolve(_ update: AttributeUpdate, _ versions: [VersionAttributes]) throws(CatalogueError) -> AttributeUpdate {
        var resolved = update
        switch update.key {
        case .token(let token):
            guard versions.isEmpty || versions.contains(where: { $0.internalID(of: token) != nil }) else {
                throw CatalogueError(.notFound, field: "id", "'\(token.prefix(64))' is not an item of model '\(name)'; use an external id of its vocabulary")
            }
        case .id(let id):
            guard let newest = versions.last else {
                throw CatalogueError(field: "id", "internal id \(id) needs a loaded model; send the external id as a string")
            }
            guard let token = newest.token(of: id) else {
                throw CatalogueError(.notFound, field: "id", "internal id \(id) is not a recommendable id of model '\(name)'")
            }
            resolved.key = .token(token)
        }
        return resolved
    }

    private static func merge(_ update: AttributeUpdate, into state: inout State) throws(CatalogueError) {
        guard case .token(let token) = update.key else { return }
        var attributes = state.items[token] ?? ItemAttributes()
        update.apply(to: &attributes)
        for category in attributes.categories where state.categoryNumbers[category] == nil {
            guard state.categoryNumbers.count < maxCategories else {
                throw CatalogueError(field: "categories", "more than \(maxCategories) distinct categories")
            }
            state.categoryNumbers[category] = Int32(state.categoryNumbers.count)
        }
        state.items[token] = attributes
    }
}


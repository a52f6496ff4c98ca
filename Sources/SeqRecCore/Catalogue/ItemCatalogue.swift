// The item attributes of one model NAME (docs/OPERATIONS.md, "Item attributes"): kept by external id,
// so they outlive model versions; every attached version gets them resolved to its internal ids as an
// immutable snapshot in its `CatalogueSlot`. Loaded from an attribute file (the base), then the
// acknowledged updates in the state directory (the overlay) on top; `apply` journals a batch before it
// changes anything, then publishes new snapshots, so the very next request filters with it.
import Synchronization

public final class ItemCatalogue: Sendable {
    public let name: String

    /// The catalogue's items are records 0, 1, … in the order first seen (every array below has one
    /// entry per record); each attached version maps records to its internal ids once.
    private struct State {
        var records: [String: Int32] = [:]
        var tokens: [String] = []
        var items: [ItemAttributes] = []
        /// Every acknowledged update, merged per record (what compaction writes); nil: none.
        var overlay: [AttributeUpdate?] = []
        var categoryNumbers: [String: Int32] = [:]
        var versions: [VersionAttributes] = []
        var journal: AttributeJournal?
        /// When the last batch was applied (milliseconds since the epoch; 0: none since start).
        var lastUpdate: Int64 = 0
        /// Scratch: the category numbers of the update in hand.
        var numbers: [Int32] = []
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
                try Self.merge(update, into: &initial, overlay: false)
            }
        }
        if let stateDirectory {
            let journal = try AttributeJournal(stateDirectory: stateDirectory, model: name)
            for update in try journal.load() { try Self.merge(update, into: &initial, overlay: true) }
            if journal.journalBytes > 0 { try journal.compact(initial.overlay.compactMap { $0 }) }
            initial.journal = journal
        }
        state = Mutex(initial)
    }

    /// Serves `recommender` (a version of this model) with these attributes from now on.
    public func attach(_ recommender: Recommender) {
        state.withLock { state in
            state.versions.removeAll { $0.recommender == nil || $0.recommender === recommender }
            let version = VersionAttributes(recommender)
            for (record, token) in state.tokens.enumerated() {
                guard let item = version.mapNextRecord(token) else { continue }
                let attributes = state.items[record]
                version.set(item, available: attributes.available, expiresAt: attributes.expiresAt,
                            categories: attributes.categories.map { state.categoryNumbers[$0]! })
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
                    resolved.append(try resolve(update, state))
                    for category in update.categories ?? [] where state.categoryNumbers[category] == nil { newCategories.insert(category) }
                } catch { throw error.within("updates[\(index)]") }
            }
            guard state.categoryNumbers.count + newCategories.count <= Self.maxCategories else {
                throw CatalogueError(field: "updates", "the model would have more than \(Self.maxCategories) distinct categories")
            }
            try state.journal?.append(resolved)
            for update in resolved {
                // safe: resolve checked the category count, and keys are tokens now.
                try? Self.merge(update, into: &state, overlay: true)
            }
            for version in state.versions {
                version.slot.publish(version.snapshot(now: version.slot.now, categoryNumbers: state.categoryNumbers,
                                                      categoryCount: state.categoryNumbers.count))
            }
            if let journal = state.journal, journal.journalBytes >= AttributeJournal.compactionBytes {
                // The batch is durable already; a failed compaction leaves the journal to replay.
                try? journal.compact(state.overlay.compactMap { $0 })
            }
            state.lastUpdate = Timestamp.now()
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
            let resolved = try resolve(AttributeUpdate(key: key), state)
            guard case .token(let token) = resolved.key else { fatalError("resolve returns tokens") }
            guard let record = state.records[token] else { return (token, state.versions.last?.internalID(of: token), ItemAttributes()) }
            return (token, state.versions.last?.item(ofRecord: record), state.items[Int(record)])
        }
    }

    /// All items' attributes as JSONL (the attribute file format), sorted by external id.
    public func exportLines() -> [String] {
        state.withLock { state in
            state.records.keys.sorted().map { state.items[Int(state.records[$0]!)].json(id: $0) }
        }
    }

    /// The gauges of `seqrec_catalogue_*` (docs/OPERATIONS.md §12.5), judged at `now` (milliseconds
    /// since the epoch; nil: the newest version's clock). O(rows/64) for the unavailable count.
    public func gauges(now: Int64? = nil) -> CatalogueGauges {
        state.withLock { state in
            state.versions.removeAll { $0.recommender == nil }
            var gauges = CatalogueGauges(items: state.items.count, categories: state.categoryNumbers.count,
                                         journalBytes: state.journal?.journalBytes ?? 0, lastUpdate: state.lastUpdate)
            if let newest = state.versions.last {
                (gauges.unavailable, gauges.expired) = newest.unavailableCounts(now: now ?? newest.slot.now)
            }
            return gauges
        }
    }

    /// The update with its key as an external id known to the model (internal ids are read in the newest
    /// version; external ids must be known to some attached version, or any id when none is attached).
    private func resolve(_ update: AttributeUpdate, _ state: State) throws(CatalogueError) -> AttributeUpdate {
        var resolved = update
        switch update.key {
        case .token(let token):
            guard !state.versions.isEmpty else { break }
            if let record = state.records[token], state.versions.contains(where: { $0.item(ofRecord: record) != nil }) { break }
            guard state.versions.contains(where: { $0.internalID(of: token) != nil }) else {
                throw CatalogueError(.notFound, field: "id", "'\(token.prefix(64))' is not an item of model '\(name)'; use an external id of its vocabulary")
            }
        case .id(let id):
            guard let newest = state.versions.last else {
                throw CatalogueError(field: "id", "internal id \(id) needs a loaded model; send the external id as a string")
            }
            if let record = newest.record(ofItem: id) {
                resolved.key = .token(state.tokens[Int(record)])
            } else if let token = newest.token(of: id) {
                resolved.key = .token(token)
            } else {
                throw CatalogueError(.notFound, field: "id", "internal id \(id) is not a recommendable id of model '\(name)'")
            }
        }
        return resolved
    }

    /// Applies `update` (keyed by external id) to its record, creating the record (and its mapping in
    /// every attached version) when new, and passes the result to every attached version.
    private static func merge(_ update: AttributeUpdate, into state: inout State, overlay: Bool) throws(CatalogueError) {
        guard case .token(let token) = update.key else { return }
        let record: Int32
        if let known = state.records[token] {
            record = known
        } else {
            record = Int32(state.tokens.count)
            state.records[token] = record
            state.tokens.append(token)
            state.items.append(ItemAttributes())
            state.overlay.append(nil)
            for version in state.versions { version.mapNextRecord(token) }
        }
        let index = Int(record)
        update.apply(to: &state.items[index])
        if overlay { state.overlay[index] = state.overlay[index].map { $0.merged(with: update) } ?? update }
        if let categories = update.categories {
            state.numbers.removeAll(keepingCapacity: true)
            for category in categories {
                if let number = state.categoryNumbers[category] {
                    state.numbers.append(number)
                    continue
                }
                guard state.categoryNumbers.count < maxCategories else {
                    throw CatalogueError(field: "categories", "more than \(maxCategories) distinct categories")
                }
                let number = Int32(state.categoryNumbers.count)
                state.categoryNumbers[category] = number
                state.numbers.append(number)
            }
        }
        let attributes = state.items[index]
        for version in state.versions {
            guard let item = version.item(ofRecord: record) else { continue }
            version.set(item, available: attributes.available, expiresAt: attributes.expiresAt,
                        categories: update.categories == nil ? nil : state.numbers)
        }
    }
}

/// What `ItemCatalogue.gauges` reports.
public struct CatalogueGauges: Sendable, Equatable {
    /// Items with attributes (every external id ever given one), distinct category names.
    public var items: Int
    public var categories: Int
    /// Bytes of the journal not yet compacted into the overlay (0 without a state directory).
    public var journalBytes: Int
    /// When the last batch was applied, milliseconds since the epoch (0: none since start).
    public var lastUpdate: Int64
    /// In the newest attached version: items marked `available: false`, and items whose `expires_at`
    /// has passed (an item can be both).
    public var unavailable = 0
    public var expired = 0
}

// The item attributes of one model NAME (docs/OPERATIONS.md, "Item attributes"): kept by external id,
// so they outlive model versions; every attached version gets them resolved to its internal ids as an
// immutable snapshot in its `CatalogueSlot`. Loaded from an attribute file (the base), then the
// acknowledged updates in the state directory (the overlay) on top; `apply` journals a batch before it
// changes anything, then publishes new snapshots, so the very next request filters with it.
// Compaction of the journal runs on a background thread (ItemCatalogue+Compaction.swift).
import SeqRecPosix
import Synchronization

public final class ItemCatalogue: Sendable {
    public let name: String

    /// The catalogue's items are records 0, 1, … in the order first seen (every array below has one
    /// entry per record); each attached version maps records to its internal ids once.
    struct State {
        var records = RecordIndex()
        var tokens: [String] = []
        var items: [Record] = []
        var categoryNumbers: [String: Int32] = [:]
        var versions: [VersionAttributes] = []
        var journal: AttributeJournal?
        /// When the last batch was applied (milliseconds since the epoch; 0: none since start).
        var lastUpdate: Int64 = 0
        /// Scratch: the category numbers of the update in hand.
        var numbers: [Int32] = []
        var timings = BatchTimings()
        /// A compaction is running on its thread; start the next one when the journal has this many bytes.
        var compacting = false
        var nextCompaction = 0
    }

    /// One record: its attributes, and the fields acknowledged updates have set (`AttributeUpdate.fieldBits`;
    /// 0: none). The overlay compaction writes is each set field's current value (updates set fields,
    /// so the last one wins): no copy of the updates is kept. One array, so an update touches one place.
    struct Record {
        var attributes = ItemAttributes()
        var overlay: UInt8 = 0
    }

    let state: Mutex<State>
    /// Compact when the journal passes this many bytes (`AttributeJournal.compactionBytes`; tests lower it).
    let compactionBytes: Int
    /// Most updates in one `apply`.
    public static let maxBatch = 100_000
    /// Most distinct category names per model (category numbers are Int32 and one counter each per context).
    public static let maxCategories = 1 << 20

    /// Loads `attributesFile` (JSONL, one item per line; nil: none) and, when `stateDirectory` is given,
    /// the updates acknowledged before (and opens the journal there).
    public convenience init(name: String, attributesFile: String? = nil, stateDirectory: String? = nil) throws(CatalogueError) {
        try self.init(name: name, attributesFile: attributesFile, stateDirectory: stateDirectory,
                      compactionBytes: AttributeJournal.compactionBytes)
    }

    init(name: String, attributesFile: String?, stateDirectory: String?, compactionBytes: Int) throws(CatalogueError) {
        self.name = name
        self.compactionBytes = compactionBytes
        var initial = State()
        initial.nextCompaction = compactionBytes
        if let attributesFile {
            for update in try AttributeFile.read(path: attributesFile) {
                try Self.merge(update, record: -1, into: &initial, overlay: false)
            }
        }
        if let stateDirectory {
            let journal = try AttributeJournal(stateDirectory: stateDirectory, model: name)
            for update in try journal.load() { try Self.merge(update, record: -1, into: &initial, overlay: true) }
            if journal.journalBytes > 0 || journal.hasRotated {
                var text: [UInt8] = []
                Self.appendOverlay(of: initial.items[...], tokens: initial.tokens, to: &text)
                try journal.compact(overlay: text)
            }
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
                let attributes = state.items[record].attributes
                version.set(item, available: attributes.available, expiry: attributes.expiresAt ?? .max,
                            categories: attributes.categories.map { state.categoryNumbers[$0]! }[...])
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
            let started = MonotonicClock.now()
            state.versions.removeAll { $0.recommender == nil }   // versions unloaded since
            let (resolved, records, known) = try check(updates, state)
            let checked = MonotonicClock.now()
            try state.journal?.append(resolved)
            let journaled = state.journal == nil ? checked : MonotonicClock.now()
            // Updates of known records first, then those of new records, each in batch order (so
            // records are numbered as they first appear).
            Self.applyKnown(resolved, records: records, order: known, into: &state)
            for (index, record) in records.enumerated() where record < 0 {
                // safe: check counted the categories, and keys are tokens now.
                try? Self.merge(resolved[index], record: -1, into: &state, overlay: true)
            }
            let applied = MonotonicClock.now()
            for version in state.versions {
                version.slot.publish(version.snapshot(now: version.slot.now, categoryNumbers: state.categoryNumbers,
                                                      categoryCount: state.categoryNumbers.count))
            }
            let published = MonotonicClock.now()
            state.timings = BatchTimings(updates: resolved.count, check: checked - started, journal: journaled - checked,
                                         apply: applied - journaled, publish: published - applied)
            startCompactionIfDue(&state)
            state.lastUpdate = Timestamp.now()
            return resolved.count
        }
    }

    /// Every update checked (ids known, categories within the limit), keyed by external id, with its
    /// record (-1: none yet), and the indices of the updates of known records. Fast path in passes
    /// without dependencies between updates, so their cache misses overlap: the records of all ids
    /// (`RecordIndex.find(batch:)`), then the checks, then whether some version maps each known record
    /// (prefetched ahead). On any refusal the batch is checked again one update at a time in batch
    /// order, so the error names the first bad update.
    private func check(_ updates: [AttributeUpdate], _ state: State) throws(CatalogueError) -> ([AttributeUpdate], [Int32], [Int]) {
        var records = state.records.find(batch: updates.count, tokens: state.tokens) { index in
            guard case .token(let token) = updates[index].key else { return nil }
            return token
        }
        var resolved = updates   // shared until an update keyed by internal id is rewritten
        var refused = false
        for index in updates.indices {
            // An external id with a record: the versions are asked below, after every lookup.
            if records[index] >= 0, case .token = updates[index].key { continue }
            guard let result = try? resolve(updates[index], record: records[index], state, mappingChecked: false) else {
                refused = true
                break
            }
            if case .id = updates[index].key { resolved[index] = result.0 }
            records[index] = result.record
        }
        var known: [Int] = []
        if !refused {
            known.reserveCapacity(updates.count)
            for (index, record) in records.enumerated() where record >= 0 { known.append(index) }
            for (position, index) in known.enumerated() where !state.versions.isEmpty {
                if position + prefetchDistance < known.count {
                    for version in state.versions { version.prefetch(record: records[known[position + prefetchDistance]]) }
                }
                if !state.versions.contains(where: { $0.item(ofRecord: records[index]) != nil }) && !isItem(resolved[index], state) {
                    refused = true
                    break
                }
            }
        }
        if refused {
            for (index, update) in updates.enumerated() {
                do throws(CatalogueError) {
                    _ = try resolve(update, record: nil, state, mappingChecked: true)
                } catch { throw error.within("updates[\(index)]") }
            }
            // Not reached: the one-at-a-time check is stricter than the fast path. Refuse rather than crash.
            throw CatalogueError(field: "updates", "refused; send the updates one at a time to find the bad one")
        }
        var newCategories = Set<String>()
        for update in resolved {
            for category in update.categories ?? [] where state.categoryNumbers[category] == nil { newCategories.insert(category) }
        }
        guard state.categoryNumbers.count + newCategories.count <= Self.maxCategories else {
            throw CatalogueError(field: "updates", "the model would have more than \(Self.maxCategories) distinct categories")
        }
        return (resolved, records, known)
    }

    /// The updates of a PATCH body `{"updates": [...]}`, unresolved.
    public static func parseBatch(_ body: [UInt8]) throws(CatalogueError) -> [AttributeUpdate] {
        guard body.count <= 64 << 20 else { throw CatalogueError(field: "body", "\(body.count) bytes, at most 64 MiB") }
        return try UpdateBodyParser.batch(body[...], tokenOnly: false)
    }

    /// Parses and applies a PATCH body `{"updates": [...]}`.
    @discardableResult
    public func apply(json body: [UInt8]) throws(CatalogueError) -> Int {
        try apply(try Self.parseBatch(body))
    }

    /// Where the time of the last applied batch went (zeros before the first).
    public var lastBatchTimings: BatchTimings { state.withLock { $0.timings } }

    /// One item's attributes: its external id, its internal id in the newest attached version (nil when
    /// that version does not know it), and its attributes (the defaults when it has none).
    public func item(_ key: ItemKey) throws(CatalogueError) -> (token: String, id: Int32?, attributes: ItemAttributes) {
        try state.withLock { (state) throws(CatalogueError) in
            state.versions.removeAll { $0.recommender == nil }
            let (resolved, record) = try resolve(AttributeUpdate(key: key), record: nil, state, mappingChecked: true)
            guard case .token(let token) = resolved.key else { fatalError("resolve returns tokens") }
            guard record >= 0 else { return (token, state.versions.last?.internalID(of: token), ItemAttributes()) }
            return (token, state.versions.last?.item(ofRecord: record), state.items[Int(record)].attributes)
        }
    }

    /// All items' attributes as JSONL (the attribute file format), sorted by external id.
    public func exportLines() -> [String] {
        state.withLock { state in
            state.tokens.indices.sorted { state.tokens[$0] < state.tokens[$1] }.map { state.items[$0].attributes.json(id: state.tokens[$0]) }
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
    /// version; external ids must be known to some attached version, or any id when none is attached),
    /// and that id's record (-1: none yet). `record`: a token key's record when the caller looked it up
    /// already. Without `mappingChecked` a known record is taken as it is (`check` then asks the
    /// versions).
    private func resolve(_ update: AttributeUpdate, record found: Int32?, _ state: State,
                         mappingChecked: Bool) throws(CatalogueError) -> (AttributeUpdate, record: Int32) {
        var resolved = update
        switch update.key {
        case .token(let token):
            let record = found ?? state.records.find(token, tokens: state.tokens)
            guard !state.versions.isEmpty, record < 0 || mappingChecked else { return (update, record) }
            if record >= 0, state.versions.contains(where: { $0.item(ofRecord: record) != nil }) { return (update, record) }
            guard isItem(update, state) else {
                throw CatalogueError(.notFound, field: "id", "'\(token.prefix(64))' is not an item of model '\(name)'; use an external id of its vocabulary")
            }
            return (update, record)
        case .id(let id):
            guard let newest = state.versions.last else {
                throw CatalogueError(field: "id", "internal id \(id) needs a loaded model; send the external id as a string")
            }
            if let record = newest.record(ofItem: id) {
                resolved.key = .token(state.tokens[Int(record)])
                return (resolved, record)
            }
            guard let token = newest.token(of: id) else {
                throw CatalogueError(.notFound, field: "id", "internal id \(id) is not a recommendable id of model '\(name)'")
            }
            resolved.key = .token(token)
            return (resolved, state.records.find(token, tokens: state.tokens))
        }
    }

    /// Whether some attached version knows the update's external id (a vocabulary lookup).
    private func isItem(_ update: AttributeUpdate, _ state: State) -> Bool {
        guard case .token(let token) = update.key else { return true }
        return state.versions.contains { $0.internalID(of: token) != nil }
    }

    /// Applies `update` (keyed by external id) to its record (`record`, or -1 to look it up), creating the
    /// record (and its mapping in every attached version) when new, and passes the fields it sets to
    /// every attached version. Touches only what the update sets.
    private static func merge(_ update: AttributeUpdate, record known: Int32, into state: inout State, overlay: Bool) throws(CatalogueError) {
        guard case .token(let token) = update.key else { return }
        var record = known
        if record < 0 {   // new, or first seen earlier in the same batch
            record = state.records.find(token, tokens: state.tokens)
            if record < 0 {
                record = Int32(state.tokens.count)
                state.records.insert(token, record: record)
                state.tokens.reserveOneMoreInHugePages()
                state.tokens.append(token)
                state.items.reserveOneMoreInHugePages()
                state.items.append(Record())
                for version in state.versions { version.mapNextRecord(token) }
            }
        }
        let index = Int(record)
        update.apply(to: &state.items[index].attributes)
        if overlay { state.items[index].overlay |= update.fieldBits }
        if let categories = update.categories {
            state.numbers.removeAll(keepingCapacity: true)
            for category in categories {
                guard state.categoryNumbers[category] != nil || state.categoryNumbers.count < maxCategories else {
                    throw CatalogueError(field: "categories", "more than \(maxCategories) distinct categories")
                }
                state.numbers.append(number(of: category, &state))
            }
        }
        for version in state.versions {
            guard let item = version.item(ofRecord: record) else { continue }
            version.set(item, available: update.available, expiry: update.expiry, categories: update.categories == nil ? nil : state.numbers[...])
        }
    }

    /// Applies the updates of known records (`order`: their indices in batch order; `records` by
    /// index): each record's attributes (prefetched ahead, so the misses of several overlap), then
    /// every version in one call, with the category numbers interned here.
    private static func applyKnown(_ updates: [AttributeUpdate], records: [Int32], order: [Int], into state: inout State) {
        guard !order.isEmpty else { return }
        var numbers: [Int32] = [], spans = [Range<Int>?](repeating: nil, count: updates.count)
        updates.withUnsafeBufferPointer { updates in
            for (position, index) in order.enumerated() {
                if position + prefetchDistance < order.count { state.items.prefetch(Int(records[order[position + prefetchDistance]])) }
                let record = Int(records[index])
                updates[index].apply(to: &state.items[record].attributes)
                state.items[record].overlay |= updates[index].fieldBits
                if let categories = updates[index].categories {
                    let start = numbers.count
                    // safe: `check` counted the new categories against the limit.
                    for category in categories { numbers.append(number(of: category, &state)) }
                    spans[index] = start ..< numbers.count
                }
            }
            for version in state.versions { version.apply(updates, order: order, records: records, numbers: numbers, categories: spans) }
        }
    }

    /// The number of category `name`, interned now when new.
    private static func number(of name: String, _ state: inout State) -> Int32 {
        if let number = state.categoryNumbers[name] { return number }
        let number = Int32(state.categoryNumbers.count)
        state.categoryNumbers[name] = number
        return number
    }

    /// Appends the overlay lines of `records` (the fields acknowledged updates set, current values;
    /// `tokens` by record, indexed like `records`) to `text`.
    static func appendOverlay(of records: ArraySlice<Record>, tokens: [String], to text: inout [UInt8]) {
        for index in records.indices where records[index].overlay != 0 {
            records[index].attributes.update(key: .token(tokens[index]), fields: records[index].overlay).appendJSON(to: &text)
            text.append(UInt8(ascii: "\n"))
        }
    }
}

/// Where one `ItemCatalogue.apply` spent its time, in nanoseconds, under the catalogue's writer lock:
/// checking every update (ids resolved to records, fields in range), the journal (encoding, write,
/// `fsync`; 0 without a state directory), applying the updates to every attached version's state, and
/// building and publishing their snapshots. Parsing a PATCH body comes before and is not included.
public struct BatchTimings: Sendable, Equatable {
    public var updates = 0
    public var check: UInt64 = 0
    public var journal: UInt64 = 0
    public var apply: UInt64 = 0
    public var publish: UInt64 = 0

    /// The "apply + publish" (< 10 ms for 10,000 items over 1M): everything a batch costs under
    /// the lock but the journal — check, apply, publish (docs/OPERATIONS.md §12.4).
    public var applyAndPublish: UInt64 { check + apply + publish }
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

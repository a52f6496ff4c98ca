// One model version's mutable copy of the attributes, by internal id, from which `ItemCatalogue` builds
// the immutable snapshots it publishes to the version's `CatalogueSlot`. Only the catalogue's writer
// touches it (under its lock). The catalogue numbers its items (records, by external id) and this
// version maps each record to its internal id once, when the record or the version appears, so an
// update of a known item costs array lookups here, never a vocabulary lookup or a String. The
// attributes themselves are in `VersionTables`.

final class VersionAttributes {
    weak var recommender: Recommender?
    let slot: CatalogueSlot
    let rows: Int
    private let recommendable: Range<Int>
    private let vocabulary: Vocabulary?

    /// Catalogue record → internal id (-1: not an item of this version), and back (-1: no record).
    private var itemOfRecord: [Int32] = []
    private var recordOfItem: [Int32]
    private var attributedCount = 0
    /// The attributes by internal id. One stored struct, changed through its mutating methods: one
    /// exclusivity check per call instead of one per table access (a class's stored properties are
    /// checked at run time).
    private var tables: VersionTables

    init(_ recommender: Recommender) {
        self.recommender = recommender
        slot = recommender.catalogue
        rows = recommender.info.firstItem + recommender.info.itemCount
        recommendable = recommender.info.firstItem ..< rows
        vocabulary = recommender.vocabulary
        recordOfItem = [Int32](hugePagesRepeating: -1, count: rows)
        tables = VersionTables(rows: rows)
    }

    /// The internal id of external id `token` in this version, or nil when it has none.
    func internalID(of token: String) -> Int32? {
        if let vocabulary {
            guard let id = vocabulary.id(ofToken: token), id < rows else { return nil }
            return Int32(id)
        }
        guard let id = Int(token), String(id) == token, recommendable.contains(id) else { return nil }
        return Int32(id)
    }

    /// The external id of recommendable internal id `id`, or nil when it is out of range.
    func token(of id: Int64) -> String? {
        guard id >= Int64(recommendable.lowerBound), id < Int64(recommendable.upperBound) else { return nil }
        return vocabulary?.token(of: Int(id)) ?? String(id)
    }

    /// Maps the catalogue's next record (records are numbered 0, 1, … in the order they appear) to
    /// `token`'s internal id; returns it, or nil when `token` is not an item of this version.
    @discardableResult
    func mapNextRecord(_ token: String) -> Int32? {
        let record = Int32(itemOfRecord.count)
        itemOfRecord.reserveOneMoreInHugePages()
        guard let item = internalID(of: token), recordOfItem[Int(item)] < 0 else {
            itemOfRecord.append(-1)
            return nil
        }
        itemOfRecord.append(item)
        recordOfItem[Int(item)] = record
        attributedCount += 1
        return item
    }

    /// The internal id of catalogue record `record`, or nil when this version does not have it.
    @inline(__always)
    func item(ofRecord record: Int32) -> Int32? {
        let item = itemOfRecord[Int(record)]
        return item < 0 ? nil : item
    }

    /// Starts loading record `record`'s internal id (a batch asks ahead of `item(ofRecord:)`).
    @inline(__always)
    func prefetch(record: Int32) { itemOfRecord.prefetch(Int(record)) }

    /// The catalogue record of internal id `id`, or nil when the catalogue has none for it.
    func record(ofItem id: Int64) -> Int32? {
        guard id >= 0, id < Int64(rows) else { return nil }
        let record = recordOfItem[Int(id)]
        return record < 0 ? nil : record
    }

    /// Records the attributes of `item` that changed (nil: unchanged, so an update costs only what it
    /// sets): `expiry` in milliseconds since the epoch (`Int64.max`: never), `categories` the interned
    /// category numbers.
    func set(_ item: Int32, available: Bool?, expiry: Int64?, categories: ArraySlice<Int32>?) {
        tables.set(item, available: available, expiry: expiry, categories: categories)
    }

    /// Applies `updates[index]` for each index of `order` whose record this version maps (`records`
    /// by update index), prefetching the records ahead: the known records of a batch in one call.
    /// `categories[index]` is the range of `numbers` holding that update's category numbers (nil: the
    /// update leaves categories as they are).
    func apply(_ updates: UnsafeBufferPointer<AttributeUpdate>, order: [Int], records: [Int32], numbers: [Int32],
               categories: [Range<Int>?]) {
        for (position, index) in order.enumerated() {
            if position + prefetchDistance < order.count { itemOfRecord.prefetch(Int(records[order[position + prefetchDistance]])) }
            let item = itemOfRecord[Int(records[index])]
            guard item >= 0 else { continue }
            tables.set(item, available: updates[index].available, expiry: updates[index].expiry, categories: categories[index].map { numbers[$0] })
        }
    }

    /// An immutable snapshot of the current state, judged at `now` (already expired items are folded
    /// into the unavailable bits), with `categoryNumbers` the catalogue's interning of `categoryCount` names.
    func snapshot(now: Int64, categoryNumbers: [String: Int32], categoryCount: Int) -> CatalogueSnapshot {
        tables.snapshot(now: now, categoryNumbers: categoryNumbers, categoryCount: categoryCount, itemsWithAttributes: attributedCount)
    }

    /// Items marked unavailable, and items expired at `now` (as of the last snapshot's expiry order).
    func unavailableCounts(now: Int64) -> (unavailable: Int, expired: Int) { tables.unavailableCounts(now: now) }
}

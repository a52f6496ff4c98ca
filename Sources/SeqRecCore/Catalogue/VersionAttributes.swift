// One model version's mutable copy of the attributes, by internal id, from which `ItemCatalogue` builds
// the immutable snapshots it publishes to the version's `CatalogueSlot`. Only the catalogue's writer
// touches it (under its lock). A publish copies the unavailable bits (rows/8 bytes) and rebuilds only
// what changed: the per-item category table and the members of changed categories when categories
// changed, the expiry order when expiries changed.

final class VersionAttributes {
    weak var recommender: Recommender?
    let slot: CatalogueSlot
    let rows: Int
    private let recommendable: Range<Int>
    private let vocabulary: Vocabulary?

    private var unavailable: [UInt64]
    private var expiry: [Int32: Int64] = [:]
    private var itemCategories: [[Int32]]
    private var attributed = Set<Int32>()
    // What the last snapshot holds, reused while unchanged.
    private var sortedExpiry: [(time: Int64, item: Int32)] = []
    private var members: [CategoryMembers?] = []
    private var categoryStart: [Int32]
    private var categoryList: [Int32] = []
    private var expiryChanged = false
    private var changedCategories = Set<Int32>()
    private var categoriesChanged = false

    init(_ recommender: Recommender) {
        self.recommender = recommender
        slot = recommender.catalogue
        rows = recommender.info.firstItem + recommender.info.itemCount
        recommendable = recommender.info.firstItem ..< rows
        vocabulary = recommender.vocabulary
        unavailable = [UInt64](repeating: 0, count: (rows + 63) / 64)
        itemCategories = [[Int32]](repeating: [], count: rows)
        categoryStart = [Int32](repeating: 0, count: rows + 1)
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

    /// Records `attributes` (category names already interned as `numbers`) for `token`.
    func set(_ token: String, _ attributes: ItemAttributes, numbers: [Int32]) {
        guard let item = internalID(of: token) else { return }
        let index = Int(item)
        attributed.insert(item)
        if attributes.available {
            unavailable[index >> 6] &= ~(1 << UInt64(index & 63))
        } else {
            unavailable[index >> 6] |= 1 << UInt64(index & 63)
        }
        if expiry[item] != attributes.expiresAt {
            expiry[item] = attributes.expiresAt
            expiryChanged = true
        }
        let old = itemCategories[index]
        if old != numbers {
            for number in old where !numbers.contains(number) { changedCategories.insert(number) }
            for number in numbers where !old.contains(number) { changedCategories.insert(number) }
            itemCategories[index] = numbers
            categoriesChanged = true
        }
    }

    /// An immutable snapshot of the current state, judged at `now` (already expired items are folded
    /// into the unavailable bits), with `categoryNumbers` the catalogue's interning of `categoryCount` names.
    func snapshot(now: Int64, categoryNumbers: [String: Int32], categoryCount: Int) -> CatalogueSnapshot {
        if expiryChanged {
            sortedExpiry = expiry.map { (time: $0.value, item: $0.key) }.sorted { ($0.time, $0.item) < ($1.time, $1.item) }
            expiryChanged = false
        }
        if categoriesChanged {
            rebuildCategoryTable()
            rebuildMembers(count: categoryCount)
            categoriesChanged = false
        } else if members.count < categoryCount {
            members.append(contentsOf: repeatElement(nil, count: categoryCount - members.count))
        }
        var bits = unavailable
        var firstFuture = 0
        while firstFuture < sortedExpiry.count && sortedExpiry[firstFuture].time <= now {
            let item = Int(sortedExpiry[firstFuture].item)
            bits[item >> 6] |= 1 << UInt64(item & 63)
            firstFuture += 1
        }
        let expiring = firstFuture == 0 ? sortedExpiry : Array(sortedExpiry[firstFuture...])
        return CatalogueSnapshot(rows: rows, unavailable: bits, expiring: expiring, categoryNumbers: categoryNumbers,
                                 members: members, categoryStart: categoryStart, categoryList: categoryList,
                                 itemsWithAttributes: attributed.count)
    }

    private func rebuildCategoryTable() {
        categoryList.removeAll(keepingCapacity: true)
        for item in 0..<rows {
            categoryStart[item] = Int32(categoryList.count)
            categoryList.append(contentsOf: itemCategories[item])
        }
        categoryStart[rows] = Int32(categoryList.count)
    }

    /// Members of the changed categories, in one pass over the per-item table (ids come out sorted).
    private func rebuildMembers(count: Int) {
        if members.count < count { members.append(contentsOf: repeatElement(nil, count: count - members.count)) }
        guard !changedCategories.isEmpty else { return }
        var wanted = [Bool](repeating: false, count: count)
        for number in changedCategories { wanted[Int(number)] = true }
        var lists = [[Int32]](repeating: [], count: count)
        for item in 0..<rows {
            for number in itemCategories[item] where wanted[Int(number)] { lists[Int(number)].append(Int32(item)) }
        }
        for number in changedCategories {
            let items = lists[Int(number)]
            members[Int(number)] = items.isEmpty ? nil : CategoryMembers(items: items, rows: rows)
        }
        changedCategories.removeAll(keepingCapacity: true)
    }
}

// One model version's mutable copy of the attributes, by internal id, from which `ItemCatalogue` builds
// the immutable snapshots it publishes to the version's `CatalogueSlot`. Only the catalogue's writer
// touches it (under its lock). Every change is O(1) or O(category size) in place, and a snapshot shares
// the arrays (copy on write): a publish after n changes costs the copies of the arrays those changes
// touched (unavailable bits rows/8 bytes, per-item categories rows·8 bytes, each changed category's
// members), never a rebuild over all items.

final class VersionAttributes {
    weak var recommender: Recommender?
    let slot: CatalogueSlot
    let rows: Int
    private let recommendable: Range<Int>
    private let vocabulary: Vocabulary?

    private var unavailable: [UInt64]
    private var attributed: [UInt64]
    private var attributedCount = 0
    private var expiry: [Int32: Int64] = [:]
    private var itemCategories: [UInt64]
    private var overflow: [Int32] = []
    private var overflowGarbage = 0
    private var members: [CategoryMembers?] = []
    private var sortedExpiry: [(time: Int64, item: Int32)] = []
    private var expiryChanged = false

    init(_ recommender: Recommender) {
        self.recommender = recommender
        slot = recommender.catalogue
        rows = recommender.info.firstItem + recommender.info.itemCount
        recommendable = recommender.info.firstItem ..< rows
        vocabulary = recommender.vocabulary
        unavailable = [UInt64](repeating: 0, count: (rows + 63) / 64)
        attributed = unavailable
        itemCategories = [UInt64](repeating: 0, count: rows)
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
        let index = Int(item), word = index >> 6, bit: UInt64 = 1 << UInt64(index & 63)
        if attributed[word] & bit == 0 {
            attributed[word] |= bit
            attributedCount += 1
        }
        if attributes.available { unavailable[word] &= ~bit } else { unavailable[word] |= bit }
        if expiry[item] != attributes.expiresAt {
            expiry[item] = attributes.expiresAt
            expiryChanged = true
        }
        var old: [Int32] = []
        _ = CategoryCodes.forEach(itemCategories[index], overflow: overflow) { old.append($0); return true }
        guard old != numbers else { return }
        for number in old where !numbers.contains(number) { members[Int(number)]?.remove(item) }
        for number in numbers where !old.contains(number) {
            while members.count <= Int(number) { members.append(nil) }
            if members[Int(number)] == nil { members[Int(number)] = CategoryMembers(rows: rows) }
            members[Int(number)]!.insert(item)
        }
        if old.count > 2 { overflowGarbage += old.count + 1 }
        itemCategories[index] = CategoryCodes.encode(numbers, overflow: &overflow)
        if overflowGarbage > 1 << 16 && overflowGarbage * 2 > overflow.count { compactOverflow() }
    }

    /// An immutable snapshot of the current state, judged at `now` (already expired items are folded
    /// into the unavailable bits), with `categoryNumbers` the catalogue's interning of `categoryCount` names.
    func snapshot(now: Int64, categoryNumbers: [String: Int32], categoryCount: Int) -> CatalogueSnapshot {
        if expiryChanged {
            sortedExpiry = expiry.map { (time: $0.value, item: $0.key) }.sorted { ($0.time, $0.item) < ($1.time, $1.item) }
            expiryChanged = false
        }
        while members.count < categoryCount { members.append(nil) }
        var bits = unavailable
        var firstFuture = 0
        while firstFuture < sortedExpiry.count && sortedExpiry[firstFuture].time <= now {
            let item = Int(sortedExpiry[firstFuture].item)
            bits[item >> 6] |= 1 << UInt64(item & 63)
            firstFuture += 1
        }
        let expiring = firstFuture == 0 ? sortedExpiry : Array(sortedExpiry[firstFuture...])
        return CatalogueSnapshot(rows: rows, unavailable: bits, expiring: expiring, categoryNumbers: categoryNumbers,
                                 members: members.map { $0.flatMap { $0.count == 0 ? nil : $0 } },
                                 itemCategories: itemCategories, overflow: overflow, itemsWithAttributes: attributedCount)
    }

    /// Rewrites the overflow without the lists of items whose categories changed since.
    private func compactOverflow() {
        var compacted: [Int32] = []
        for index in 0..<rows where itemCategories[index] >> 32 == CategoryCodes.spilled {
            var list: [Int32] = []
            _ = CategoryCodes.forEach(itemCategories[index], overflow: overflow) { list.append($0); return true }
            itemCategories[index] = CategoryCodes.encode(list, overflow: &compacted)
        }
        overflow = compacted
        overflowGarbage = 0
    }
}

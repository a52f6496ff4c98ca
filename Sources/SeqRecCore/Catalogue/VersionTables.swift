// The attributes of one model version by internal id, as the catalogue's writer changes them
// (`VersionAttributes` holds one): the unavailable bits, the expiry of each item and their order, the
// per-item category codes and each category's members. Every change is O(1) or O(category size) in
// place, and a snapshot shares the arrays (copy on write): a publish after n changes costs the copies
// of what those changes touched (unavailable bits rows/8 bytes, the per-item category codes changed
// since their last fold (`OverlaidTable`), each changed category's members, the expiry order when an
// expiry changed), never a rebuild over all items.

struct VersionTables {
    let rows: Int
    private var unavailable: [UInt64]
    /// Expiry by internal id (`Int64.max` = never), allocated at the first expiry.
    private var expiry: [Int64] = []
    private var itemCategories: OverlaidTable
    private var overflow: [Int32] = []
    private var overflowGarbage = 0
    private var members: [CategoryMembers?] = []
    /// Every item with an expiry, by time then item, as of the last snapshot; `expiryChanged` lists
    /// the items whose expiry changed since (each once: `expiryDirty` bits).
    private var sortedExpiry: [(time: Int64, item: Int32)] = []
    private var expiryChanged: [Int32] = []
    private var expiryDirty: [UInt64] = []
    /// Scratch: the categories an item had before the update in hand.
    private var old: [Int32] = []

    init(rows: Int) {
        self.rows = rows
        unavailable = [UInt64](repeating: 0, count: (rows + 63) / 64)
        itemCategories = OverlaidTable(repeating: 0, count: rows)
    }

    /// Records the attributes of `item` that changed (nil: unchanged, so an update costs only what it
    /// sets): `expiry` in milliseconds since the epoch (`Int64.max`: never), `categories` the interned
    /// category numbers.
    mutating func set(_ item: Int32, available: Bool?, expiry: Int64?, categories: ArraySlice<Int32>?) {
        if let available {
            let index = Int(item), word = index >> 6, bit: UInt64 = 1 << UInt64(index & 63)
            if available {
                if unavailable[word] & bit != 0 { unavailable[word] &= ~bit }
            } else if unavailable[word] & bit == 0 {
                unavailable[word] |= bit
            }
        }
        if let expiry { setExpiry(item, expiry) }
        if let categories { setCategories(item, categories) }
    }

    private mutating func setExpiry(_ item: Int32, _ time: Int64) {
        if expiry.isEmpty {
            guard time != .max else { return }
            expiry = [Int64](hugePagesRepeating: .max, count: rows)
            expiryDirty = [UInt64](repeating: 0, count: (rows + 63) / 64)
        }
        let index = Int(item)
        guard expiry[index] != time else { return }
        expiry[index] = time
        let bit: UInt64 = 1 << UInt64(index & 63)
        if expiryDirty[index >> 6] & bit == 0 {
            expiryDirty[index >> 6] |= bit
            expiryChanged.append(item)
        }
    }

    private mutating func setCategories(_ item: Int32, _ numbers: ArraySlice<Int32>) {
        let index = Int(item), oldCode = itemCategories[index]
        let inlineCode = numbers.count <= 2 ? CategoryCodes.inline(numbers) : nil
        if let inlineCode, inlineCode == oldCode { return }   // the common case: no change, no allocation
        old.removeAll(keepingCapacity: true)
        _ = CategoryCodes.forEach(oldCode, overflow: overflow) { old.append($0); return true }
        guard !old.elementsEqual(numbers) else { return }
        for number in old where !numbers.contains(number) { members[Int(number)]?.remove(item) }
        for number in numbers where !old.contains(number) {
            while members.count <= Int(number) { members.append(nil) }
            if members[Int(number)] == nil { members[Int(number)] = CategoryMembers(rows: rows) }
            members[Int(number)]!.insert(item)
        }
        if old.count > 2 { overflowGarbage += old.count + 1 }
        itemCategories[index] = inlineCode ?? CategoryCodes.encode(numbers, overflow: &overflow)
        if overflowGarbage > 1 << 16 && overflowGarbage * 2 > overflow.count { compactOverflow() }
    }

    /// An immutable snapshot of the current state, judged at `now` (already expired items are folded
    /// into the unavailable bits), with `categoryNumbers` the catalogue's interning of `categoryCount` names.
    mutating func snapshot(now: Int64, categoryNumbers: [String: Int32], categoryCount: Int, itemsWithAttributes: Int) -> CatalogueSnapshot {
        if !expiryChanged.isEmpty { mergeExpiryChanges() }
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
                                 itemCategories: itemCategories, overflow: overflow, itemsWithAttributes: itemsWithAttributes)
    }

    /// Items marked unavailable, and items expired at `now` (as of the last snapshot's expiry order).
    func unavailableCounts(now: Int64) -> (unavailable: Int, expired: Int) {
        let unavailableCount = unavailable.reduce(0) { $0 + $1.nonzeroBitCount }
        var low = 0, high = sortedExpiry.count
        while low < high {
            let middle = (low + high) / 2
            if sortedExpiry[middle].time <= now { low = middle + 1 } else { high = middle }
        }
        return (unavailableCount, low)
    }

    /// Brings `sortedExpiry` up to date in O(entries + changes · log changes): the entries of unchanged
    /// items in their order, merged with the changed items' new entries, sorted.
    private mutating func mergeExpiryChanges() {
        var added: [(time: Int64, item: Int32)] = []
        for item in expiryChanged where expiry[Int(item)] != .max { added.append((expiry[Int(item)], item)) }
        added.sort { ($0.time, $0.item) < ($1.time, $1.item) }
        var merged: [(time: Int64, item: Int32)] = []
        merged.reserveCapacity(sortedExpiry.count + added.count)
        var next = 0
        for entry in sortedExpiry {
            let index = Int(entry.item)
            guard expiryDirty[index >> 6] & (1 << UInt64(index & 63)) == 0 else { continue }   // changed: re-added
            while next < added.count && (added[next].time, added[next].item) < (entry.time, entry.item) {
                merged.append(added[next])
                next += 1
            }
            merged.append(entry)
        }
        merged.append(contentsOf: added[next...])
        sortedExpiry = merged
        for item in expiryChanged { expiryDirty[Int(item) >> 6] &= ~(1 << UInt64(item & 63)) }
        expiryChanged.removeAll(keepingCapacity: true)
    }

    /// Rewrites the overflow without the lists of items whose categories changed since.
    private mutating func compactOverflow() {
        var compacted: [Int32] = []
        for index in 0..<rows where itemCategories[index] >> 32 == CategoryCodes.spilled {
            var list: [Int32] = []
            _ = CategoryCodes.forEach(itemCategories[index], overflow: overflow) { list.append($0); return true }
            itemCategories[index] = CategoryCodes.encode(list[...], overflow: &compacted)
        }
        overflow = compacted
        overflowGarbage = 0
    }
}

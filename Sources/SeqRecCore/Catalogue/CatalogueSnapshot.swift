// One model version's view of the item attributes, by internal id: immutable, built by `ItemCatalogue`
// and published through a `CatalogueSlot`, read by inference contexts without a lock. It turns a
// request's `ItemFilters` into exclusion bits for the catalog scan, and answers "which categories does
// item i have" for the per-category cap.

public final class CatalogueSnapshot: Sendable {
    /// Table rows (internal ids 0 ..< rows).
    let rows: Int
    let words: Int
    /// Items marked unavailable, or already expired when the snapshot was built.
    let unavailable: [UInt64]
    /// Items still to expire, by time then item (milliseconds since the epoch).
    let expiring: [(time: Int64, item: Int32)]
    /// Category name → number (the catalogue's interning, shared by every version).
    let categoryNumbers: [String: Int32]
    /// Members by category number; nil for a category no item of this version has.
    let members: [CategoryMembers?]
    /// Per item, its categories (`CategoryCodes`): up to two inline, more in `overflow`.
    let itemCategories: OverlaidTable
    let overflow: [Int32]
    /// Items the catalogue holds attributes for that this version resolves (for metrics and GET).
    public let itemsWithAttributes: Int

    init(rows: Int, unavailable: [UInt64], expiring: [(time: Int64, item: Int32)], categoryNumbers: [String: Int32],
         members: [CategoryMembers?], itemCategories: OverlaidTable, overflow: [Int32], itemsWithAttributes: Int) {
        self.rows = rows
        words = (rows + 63) / 64
        self.unavailable = unavailable
        self.expiring = expiring
        self.categoryNumbers = categoryNumbers
        self.members = members
        self.itemCategories = itemCategories
        self.overflow = overflow
        self.itemsWithAttributes = itemsWithAttributes
    }

    /// Number of category numbers this snapshot knows (the cap's counter array needs this many slots).
    var categoryCount: Int { members.count }

    /// True when the filters can exclude an item of this snapshot at all (so the scorer may skip
    /// writing a mask).
    func excludesAnything(_ filters: ItemFilters) -> Bool {
        (filters.availableOnly && (!expiring.isEmpty || unavailable.contains { $0 != 0 }))
            || !filters.categoriesInclude.isEmpty || !filters.categoriesExclude.isEmpty
    }

    /// Overwrites `bits` (`words` words, one bit per table row) with the items `filters` rule out at
    /// `now`: unavailable or expired (when `availableOnly`), outside every included category, inside an
    /// excluded one. Bits past the last row or below the first recommendable one may be set: the scan
    /// never offers those rows. Allocation-free.
    func writeExclusions(_ filters: ItemFilters, now: Int64, into bits: UnsafeMutablePointer<UInt64>, words count: Int) {
        precondition(count == words, "a snapshot is built for the table it filters")
        if filters.categoriesInclude.isEmpty {
            bits.update(repeating: 0, count: words)
        } else {
            // Start from the union of the included categories, then invert it.
            bits.update(repeating: 0, count: words)
            for name in filters.categoriesInclude {
                guard let number = categoryNumbers[name], let set = members[Int(number)] else { continue }
                set.write(into: bits, words: words)
            }
            for w in 0..<words { bits[w] = ~bits[w] }
        }
        if filters.availableOnly {
            unavailable.withUnsafeBufferPointer { source in for w in 0..<words { bits[w] |= source[w] } }
            // Items that expired since the snapshot was built: the prefix of `expiring` at or before now.
            for entry in expiring {
                guard entry.time <= now else { break }
                bits[Int(entry.item) >> 6] |= 1 << UInt64(entry.item & 63)
            }
        }
        for name in filters.categoriesExclude {
            guard let number = categoryNumbers[name], let set = members[Int(number)] else { continue }
            set.write(into: bits, words: words)
        }
    }

    /// Sets the bits of every member of category `number`.
    func excludeCategory(_ number: Int32, in bits: UnsafeMutablePointer<UInt64>) {
        members[Int(number)]?.write(into: bits, words: words)
    }

    /// Calls `body` with each category number of `item` until it returns false; false if it did.
    @inline(__always)
    func forEachCategory(of item: Int32, _ body: (Int32) -> Bool) -> Bool {
        guard Int(item) < itemCategories.count, item >= 0 else { return true }
        return CategoryCodes.forEach(itemCategories[Int(item)], overflow: overflow, body)
    }
}

/// One item's categories in a UInt64: 0 = none; else the low half holds the first category + 1 and the
/// high half the second + 1 (0 = none), or the high half is `spilled` and the low half an offset into
/// an overflow array holding the count and then the categories.
enum CategoryCodes {
    static let spilled: UInt64 = 0xFFFF_FFFF

    static func encode(_ categories: ArraySlice<Int32>, overflow: inout [Int32]) -> UInt64 {
        switch categories.count {
        case 0...2: return inline(categories)
        default:
            let offset = overflow.count
            overflow.append(Int32(categories.count))
            overflow.append(contentsOf: categories)
            return UInt64(offset) | spilled << 32
        }
    }

    /// The code of at most two categories (no overflow needed).
    static func inline(_ categories: ArraySlice<Int32>) -> UInt64 {
        switch categories.count {
        case 0: return 0
        case 1: return UInt64(categories.first! + 1)
        default:
            precondition(categories.count == 2, "at most two categories are kept inline")
            return UInt64(categories.first! + 1) | UInt64(categories.last! + 1) << 32
        }
    }

    @inline(__always)
    static func forEach(_ code: UInt64, overflow: [Int32], _ body: (Int32) -> Bool) -> Bool {
        guard code != 0 else { return true }
        let low = code & 0xFFFF_FFFF, high = code >> 32
        if high == spilled {
            let offset = Int(low), count = Int(overflow[offset])
            for index in offset + 1 ... offset + count where !body(overflow[index]) { return false }
            return true
        }
        if !body(Int32(low - 1)) { return false }
        return high == 0 || body(Int32(high - 1))
    }
}

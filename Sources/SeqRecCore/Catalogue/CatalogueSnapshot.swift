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
    /// Per item, its category numbers: categoryList[categoryStart[i] ..< categoryStart[i + 1]].
    let categoryStart: [Int32]
    let categoryList: [Int32]
    /// Items the catalogue holds attributes for that this version resolves (for metrics and GET).
    public let itemsWithAttributes: Int

    init(rows: Int, unavailable: [UInt64], expiring: [(time: Int64, item: Int32)], categoryNumbers: [String: Int32],
         members: [CategoryMembers?], categoryStart: [Int32], categoryList: [Int32], itemsWithAttributes: Int) {
        self.rows = rows
        words = (rows + 63) / 64
        self.unavailable = unavailable
        self.expiring = expiring
        self.categoryNumbers = categoryNumbers
        self.members = members
        self.categoryStart = categoryStart
        self.categoryList = categoryList
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
                set.write(into: bits, words: words, value: true)
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
            set.write(into: bits, words: words, value: true)
        }
    }

    /// Sets the bits of every member of category `number`.
    func excludeCategory(_ number: Int32, in bits: UnsafeMutablePointer<UInt64>) {
        members[Int(number)]?.write(into: bits, words: words, value: true)
    }

    /// The category numbers of `item` (valid while the snapshot is).
    @inline(__always)
    func categories(of item: Int32) -> Range<Int> {
        guard Int(item) < rows, Int(item) >= 0 else { return 0..<0 }
        return Int(categoryStart[Int(item)]) ..< Int(categoryStart[Int(item) + 1])
    }
}

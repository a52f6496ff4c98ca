// A fixed-length table of UInt64 (the per-item category codes of a model version) that the catalogue's
// writer changes in a few places between snapshots, kept as a base array plus a small open-addressing
// table of the changes made since the base was last folded. Both parts are plain words shared copy on
// write, so a snapshot costs two references and the next write after a publish copies the changes
// (at most `foldAt` entries), never the base. When the changes reach `foldAt`, they are folded into
// the base (one copy of it, amortized over that many changes).
//
// Why not pages of arrays: with 128-item pages over 1M items, every publish retained and every
// released snapshot released 7,800 page buffers, each a cache miss on the buffer's header, and a
// 10,000-item update paid ~1 ms for that bookkeeping alone (docs/OPERATIONS.md §12.4).

struct OverlaidTable: Sendable {
    let count: Int
    /// Most changes held beside the base; the next new one folds them in first.
    let foldAt: Int
    private var base: [UInt64]
    /// Two words per slot: index + 1 (0: empty) and the value. Linear probing, at most half full,
    /// power-of-two slot count.
    private var changes: [UInt64]
    private(set) var changeCount = 0

    /// `count` copies of `value`; `foldAt` defaults to count/32 (at least 1,024).
    init(repeating value: UInt64, count: Int, foldAt: Int? = nil) {
        precondition(count >= 0, "a table has a non-negative length")
        self.count = count
        self.foldAt = max(1, foldAt ?? max(1024, count / 32))
        base = [UInt64](hugePagesRepeating: value, count: count)
        changes = [UInt64](repeating: 0, count: 2 * Self.initialSlots)
    }

    private static var initialSlots: Int { 64 }

    /// The element at `index` (0 ..< count).
    @inline(__always)
    subscript(index: Int) -> UInt64 {
        get {
            precondition(index >= 0 && index < count, "an index within the table")
            if changeCount > 0, let slot = slot(of: index), changes[slot] != 0 { return changes[slot + 1] }
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "an index within the table")
            if let slot = slot(of: index), changes[slot] != 0 {
                changes[slot + 1] = newValue
                return
            }
            if changeCount == foldAt { fold() }
            if (changeCount + 1) * 4 > changes.count { grow() }   // more than half of the slots
            let slot = slot(of: index)!
            changes[slot] = UInt64(index) + 1
            changes[slot + 1] = newValue
            changeCount += 1
        }
    }

    /// The word offset of `index`'s slot: where it is, or the empty slot where it would go (nil only
    /// when the table is full, which `grow` prevents).
    @inline(__always)
    private func slot(of index: Int) -> Int? {
        let slots = changes.count / 2, key = UInt64(index) + 1
        var probe = Int(truncatingIfNeeded: (UInt64(index) &* 0x9E37_79B9_7F4A_7C15) >> 32) & (slots - 1)
        for _ in 0..<slots {
            let stored = changes[2 * probe]
            if stored == key || stored == 0 { return 2 * probe }
            probe = (probe + 1) & (slots - 1)
        }
        return nil
    }

    private mutating func grow() {
        let old = changes
        changes = [UInt64](repeating: 0, count: 2 * old.count)
        for slot in stride(from: 0, to: old.count, by: 2) where old[slot] != 0 {
            let target = self.slot(of: Int(old[slot] - 1))!
            changes[target] = old[slot]
            changes[target + 1] = old[slot + 1]
        }
    }

    private mutating func fold() {
        base = Array(hugePagesCopying: base, capacity: count)   // a snapshot shares the old base
        for slot in stride(from: 0, to: changes.count, by: 2) where changes[slot] != 0 {
            base[Int(changes[slot] - 1)] = changes[slot + 1]
        }
        changes = [UInt64](repeating: 0, count: 2 * Self.initialSlots)
        changeCount = 0
    }
}

// External id → catalogue record for up to millions of ids, built for batches: a flat open-addressing
// table of 8-byte slots (the id's 32-bit hash, record + 1; 0 = empty), at most half full, linear
// probing. A batch is looked up in passes (`ItemCatalogue.check`): every id's hash and first slot, then
// the comparisons, each pass without dependencies between ids, so the cache misses of several ids overlap; a
// `[String: Int32]` costs three dependent misses per id (bucket bitmap, key, value) and was the largest
// cost of a 10,000-item update over 1M items (docs/OPERATIONS.md §12.4). The hash is the standard
// library's per-process seeded SipHash (ids come from outside: no chosen collisions); the slot keeps
// 32 bits of it so growing never hashes an id again. `Dictionary` is the naive twin in the tests.

struct RecordIndex {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init() {
        slots = [UInt64](repeating: 0, count: 16)
        mask = 15
    }

    static func hash(_ token: String) -> UInt32 {
        var hasher = Hasher()
        hasher.combine(token)
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    /// The slot `hash` probes first. A batch loads every id's first slot before comparing any, so the
    /// loads (mostly cache misses) overlap instead of waiting on each other.
    @inline(__always)
    func firstSlot(_ hash: UInt32) -> UInt64 { slots[Int(hash) & mask] }

    /// The record of `token` (whose `hash` is given), or -1; `tokens` are the ids by record; `first`
    /// is `firstSlot(hash)` when the caller loaded it already.
    func find(_ token: String, hash: UInt32, first: UInt64? = nil, tokens: [String]) -> Int32 {
        var index = Int(hash) & mask
        var slot = first ?? slots[index]
        while true {
            if slot == 0 { return -1 }
            if UInt32(truncatingIfNeeded: slot >> 32) == hash {
                let record = Int32(truncatingIfNeeded: slot) - 1
                if tokens[Int(record)] == token { return record }
            }
            index = (index + 1) & mask
            slot = slots[index]
        }
    }

    func find(_ token: String, tokens: [String]) -> Int32 { find(token, hash: Self.hash(token), tokens: tokens) }

    /// Adds `token` → `record`; `token` must not be in the index yet.
    mutating func insert(_ token: String, record: Int32) {
        if (count + 1) * 2 > slots.count { grow() }
        place(UInt64(Self.hash(token)) << 32 | UInt64(UInt32(record) + 1))
        count += 1
    }

    private mutating func place(_ entry: UInt64) {
        var index = Int(entry >> 32) & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = entry
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for entry in old where entry != 0 { place(entry) }
    }
}

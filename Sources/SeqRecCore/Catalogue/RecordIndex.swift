// External id → catalogue record for up to millions of ids, built for batches: a flat open-addressing
// table of 8-byte slots (the id's 32-bit hash, record + 1; 0 = empty), at most half full, linear
// probing. A batch is looked up in passes (`find(batch:)`): every id's hash, first slot, then the
// comparisons, each pass without dependencies between ids and prefetching ahead, so the cache misses of
// several ids overlap; a `[String: Int32]` costs three dependent misses per id (bucket bitmap, key,
// value) and was the largest cost of a 10,000-item update over 1M items (docs/OPERATIONS.md §12.4). The hash is the standard
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

    /// The records of a batch of ids (`token(i)` for i in 0..<count; nil: not an id, -1), -1 for ids
    /// not in the index; `tokens` are the ids by record. Three passes without dependencies between ids
    /// — hashes; first slots; comparisons with the record's id — each prefetching what the entry
    /// `prefetchDistance` ahead will load, so the misses of several ids overlap.
    func find(batch count: Int, tokens: [String], token: (Int) -> String?) -> [Int32] {
        var hashes = [UInt32](repeating: 0, count: count), isID = [Bool](repeating: false, count: count)
        for index in 0..<count {
            guard let token = token(index) else { continue }
            hashes[index] = Self.hash(token)
            isID[index] = true
        }
        var firsts = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            let ahead = index + prefetchDistance
            if ahead < count { slots.prefetch(Int(hashes[ahead]) & mask) }
            if isID[index] { firsts[index] = slots[Int(hashes[index]) & mask] }
        }
        var records = [Int32](repeating: -1, count: count)
        for index in 0..<count {
            let ahead = index + prefetchDistance
            if ahead < count, let record = Self.candidate(firsts[ahead], hash: hashes[ahead]) { tokens.prefetch(Int(record)) }
            guard isID[index], let token = token(index) else { continue }
            records[index] = find(token, hash: hashes[index], first: firsts[index], tokens: tokens)
        }
        return records
    }

    /// The record `slot` holds when its hash is `hash` (a candidate: the ids still have to be compared).
    @inline(__always)
    private static func candidate(_ slot: UInt64, hash: UInt32) -> Int32? {
        guard slot != 0, UInt32(truncatingIfNeeded: slot >> 32) == hash else { return nil }
        return Int32(truncatingIfNeeded: slot) - 1
    }

    /// The record of `token` (whose `hash` is given), or -1; `tokens` are the ids by record; `first`
    /// is the slot `hash` probes first when the caller loaded it already.
    func find(_ token: String, hash: UInt32, first: UInt64? = nil, tokens: [String]) -> Int32 {
        var index = Int(hash) & mask
        var slot = first ?? slots[index]
        while true {
            if slot == 0 { return -1 }
            if let record = Self.candidate(slot, hash: hash), tokens[Int(record)] == token { return record }
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
        slots = [UInt64](hugePagesRepeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for entry in old where entry != 0 { place(entry) }
    }
}

// The items of one category in one model version, in whichever form is smaller: a sorted id list while
// the category holds fewer than rows/32 items, else a bitset (back to a list below rows/64). Writing a
// category into a request's exclusion bitset therefore costs at most rows/32 steps either way. The
// writer changes a copy item by item (`insert`, `remove`); snapshots share the storage until then.

struct CategoryMembers: Sendable {
    enum Storage: Sendable {
        case sorted([Int32])
        case bits([UInt64])
    }

    private(set) var storage: Storage = .sorted([])
    private(set) var count = 0
    let rows: Int

    init(rows: Int) { self.rows = rows }

    func contains(_ item: Int32) -> Bool {
        switch storage {
        case .sorted(let items):
            let index = Self.position(of: item, in: items)
            return index < items.count && items[index] == item
        case .bits(let words):
            return Int(item >> 6) < words.count && words[Int(item) >> 6] & (1 << UInt64(item & 63)) != 0
        }
    }

    /// Adds `item` (< rows); no change when it is a member already.
    mutating func insert(_ item: Int32) {
        switch storage {
        case .sorted(var items):
            let index = Self.position(of: item, in: items)
            guard index == items.count || items[index] != item else { return }
            storage = .sorted([])   // leaves `items` the only reference: no copy on insert
            items.insert(item, at: index)
            count += 1
            if count * 32 >= rows {
                var words = [UInt64](repeating: 0, count: (rows + 63) / 64)
                for member in items { words[Int(member) >> 6] |= 1 << UInt64(member & 63) }
                storage = .bits(words)
            } else {
                storage = .sorted(items)
            }
        case .bits(var words):
            let bit: UInt64 = 1 << UInt64(item & 63)
            guard words[Int(item) >> 6] & bit == 0 else { return }
            storage = .sorted([])
            words[Int(item) >> 6] |= bit
            count += 1
            storage = .bits(words)
        }
    }

    /// Removes `item`; no change when it is not a member.
    mutating func remove(_ item: Int32) {
        switch storage {
        case .sorted(var items):
            let index = Self.position(of: item, in: items)
            guard index < items.count, items[index] == item else { return }
            storage = .sorted([])
            items.remove(at: index)
            count -= 1
            storage = .sorted(items)
        case .bits(var words):
            let bit: UInt64 = 1 << UInt64(item & 63)
            guard words[Int(item) >> 6] & bit != 0 else { return }
            storage = .sorted([])
            words[Int(item) >> 6] &= ~bit
            count -= 1
            if count * 64 < rows {
                var items: [Int32] = []
                items.reserveCapacity(count)
                for (w, word) in words.enumerated() where word != 0 {
                    var bits = word
                    while bits != 0 {
                        items.append(Int32(w * 64 + bits.trailingZeroBitCount))
                        bits &= bits - 1
                    }
                }
                storage = .sorted(items)
            } else {
                storage = .bits(words)
            }
        }
    }

    /// Sets the members' bits in `bits` (`words` words covering the same rows).
    func write(into bits: UnsafeMutablePointer<UInt64>, words: Int) {
        switch storage {
        case .sorted(let items):
            // safe: members are < rows, and `words` covers rows.
            for item in items { bits[Int(item) >> 6] |= 1 << UInt64(item & 63) }
        case .bits(let member):
            member.withUnsafeBufferPointer { member in
                for w in 0..<Swift.min(words, member.count) { bits[w] |= member[w] }
            }
        }
    }

    private static func position(of item: Int32, in items: [Int32]) -> Int {
        var low = 0, high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle] < item { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

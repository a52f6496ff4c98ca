// The items of one category in one model version, in whichever form is smaller: a sorted id list while
// the category holds fewer than rows/32 items, else a bitset. Writing a category into a request's
// exclusion bitset therefore costs at most rows/32 steps either way.

struct CategoryMembers: Sendable {
    enum Storage: Sendable {
        case sorted([Int32])
        case bits([UInt64])
    }

    let storage: Storage
    let count: Int

    /// The members `items` (sorted, distinct, each < rows) of a table with `rows` rows.
    init(items: [Int32], rows: Int) {
        count = items.count
        if items.count * 32 < rows {
            storage = .sorted(items)
        } else {
            var words = [UInt64](repeating: 0, count: (rows + 63) / 64)
            for item in items { words[Int(item) >> 6] |= 1 << UInt64(item & 63) }
            storage = .bits(words)
        }
    }

    func contains(_ item: Int32) -> Bool {
        switch storage {
        case .sorted(let items):
            var low = 0, high = items.count
            while low < high {
                let middle = (low + high) / 2
                if items[middle] < item { low = middle + 1 } else { high = middle }
            }
            return low < items.count && items[low] == item
        case .bits(let words):
            return Int(item >> 6) < words.count && words[Int(item) >> 6] & (1 << UInt64(item & 63)) != 0
        }
    }

    /// Sets (`value` true) or clears the members' bits in `bits` (`words` words covering the same rows).
    func write(into bits: UnsafeMutablePointer<UInt64>, words: Int, value: Bool) {
        switch storage {
        case .sorted(let items):
            for item in items {
                // safe: members are < rows, and `words` covers rows.
                if value { bits[Int(item) >> 6] |= 1 << UInt64(item & 63) } else { bits[Int(item) >> 6] &= ~(1 << UInt64(item & 63)) }
            }
        case .bits(let member):
            member.withUnsafeBufferPointer { member in
                let n = Swift.min(words, member.count)
                if value { for w in 0..<n { bits[w] |= member[w] } } else { for w in 0..<n { bits[w] &= ~member[w] } }
            }
        }
    }
}

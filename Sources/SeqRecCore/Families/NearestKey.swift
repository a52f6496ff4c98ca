/// The candidate closest to `key` by edit distance (case-insensitive; insertions, deletions,
/// substitutions and swaps of neighbours each cost 1), if it is close enough to be a plausible misspelling:
/// at most `maxDistance` edits away (default: max(2, a third of the key's length)). Used to answer
/// "did you mean …?".
func nearestKey(to key: String, among candidates: some Sequence<String>, maxDistance: Int? = nil) -> String? {
    let typed = Array(key.lowercased())
    var best: (key: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(typed, Array(candidate.lowercased()))
        if let current = best, (current.distance, current.key) <= (distance, candidate) { continue }
        best = (candidate, distance)
    }
    guard let best, best.distance <= maxDistance ?? max(2, typed.count / 3) else { return nil }
    return best.key
}

/// Optimal-string-alignment distance between `a` and `b`.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    let width = b.count + 1
    var rows = [[Int]](repeating: [Int](repeating: 0, count: width), count: a.count + 1)
    for j in 0 ..< width { rows[0][j] = j }
    for i in 1 ... a.count {
        rows[i][0] = i
        for j in 1 ... b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var value = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, rows[i - 2][j - 2] + 1) }
            rows[i][j] = value
        }
    }
    return rows[a.count][b.count]
}

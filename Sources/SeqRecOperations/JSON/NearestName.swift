// "Did you mean": the closest known name to a misspelt key (config keys, JSON fields), by edit
// distance, offered only when it is close enough to be a plausible typo.

public enum NearestName {
    /// The candidate with the smallest Levenshtein distance, if that distance is at most a third of
    /// the longer name (always at least 1 edit, never more than 3).
    public static func find(_ name: String, among candidates: some Collection<String>) -> String? {
        let source = Array(name.utf8.prefix(64))
        var best: (String, Int)?
        for candidate in candidates.sorted() {
            let distance = editDistance(source, Array(candidate.utf8.prefix(64)))
            if best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        let allowed = max(1, min(3, max(source.count, candidate.utf8.count) / 3))
        return distance <= allowed ? candidate : nil
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

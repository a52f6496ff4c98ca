// The cold-start answer's ranking: items by training interactions (the file's optional
// `seqrec.popularity` tensor, FORMAT.md §6.1), most popular first, computed once at load.

/// Recommendable items ordered by popularity (descending, ties to the lower id). Immutable, shared.
final class PopularityRanking: Sendable {
    /// Popularity of every table row (`[n_items]`, as stored).
    let values: [Float]
    /// Recommendable ids, most popular first.
    let order: [Int32]

    /// Reads the optional tensor of `file`; nil when the file has none.
    /// - Parameter recommendable: the model's recommendable ids (special rows are never ranked).
    init?(_ file: ModelFile, recommendable: Range<Int>) throws {
        guard let tensor = file.tensor(OptionalTensors.popularity) else { return nil }
        let values = Array(tensor.data)
        // The reader checked the shape ([n_items]) and finiteness; negative counts are not popularity.
        if let index = values.firstIndex(where: { $0 < 0 }) {
            throw ModelLoadError("model load: tensor '\(OptionalTensors.popularity)' element \(index) is \(values[index]); "
                + "popularity counts interactions and is ≥ 0 (re-convert with --popularity)")
        }
        guard recommendable.upperBound <= values.count else {
            throw ModelLoadError("model load: tensor '\(OptionalTensors.popularity)' has \(values.count) rows, "
                + "the model recommends ids up to \(recommendable.upperBound - 1)")
        }
        self.values = values
        order = recommendable.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.map { Int32($0) }
    }
}

// Where a served model's scoring table lives, and the owning copy that the `resident` policy makes.
//
// Rule: a scoring table of at least 32 MB is copied at load (after the file's checksums were verified)
// into anonymous memory aligned to 2 MB and advised for transparent huge pages; smaller tables are read
// from the file mapping in place. SEQREC_TABLE_MEMORY=mapped|resident (or `Recommender(tableMemory:)`)
// overrides the rule. Why: the fused scan of a 1M×64 table (256 MB) is TLB-bound on 4 KB pages —
// measured in one process, 12.2 ms from the file mapping or a 4 KB-page copy, 9.3 ms from the huge-page
// copy (the streaming-read probe: 10.6 ms). The cost is the copy's memory (the table's size, while the
// file's page-cache pages become reclaimable) and one memcpy at load.
import Foundation

/// Where the scoring table is read from while the model is served.
public enum TableMemory: String, Sendable, CaseIterable {
    /// `resident` for tables of at least `residentMinimumBytes`, else `mapped`.
    case automatic = "auto"
    /// In place, from the model file's mapping (4 KB page-cache pages).
    case mapped
    /// From an owning copy in 2 MB-aligned memory advised for huge pages.
    case resident

    /// The environment variable SeqRec's executables read (`fromEnvironment()`); the library itself never
    /// reads it: `Recommender(tableMemory:)` takes the policy.
    public static let environmentVariable = "SEQREC_TABLE_MEMORY"
    /// Smallest table (bytes) that `.automatic` copies: below it, a table spans few enough 4 KB pages
    /// that the copy's memory is not worth it.
    public static let residentMinimumBytes = 32 << 20

    /// The policy named by SEQREC_TABLE_MEMORY, for applications that honour it (unset → `.automatic`).
    public static func fromEnvironment() throws(ModelLoadError) -> TableMemory {
        try fromEnvironmentValue(ProcessInfo.processInfo.environment[environmentVariable])
    }

    /// nil (unset) → `.automatic`; "auto" | "mapped" | "resident" → that policy; anything else throws.
    public static func fromEnvironmentValue(_ value: String?) throws(ModelLoadError) -> TableMemory {
        guard let value else { return .automatic }
        guard let policy = TableMemory(rawValue: value) else {
            throw ModelLoadError("\(environmentVariable)=\"\(value)\" is not a table memory policy; use one of: "
                                 + "auto, mapped, resident (or leave it unset for auto)")
        }
        return policy
    }

    /// Whether a table of `bytes` bytes is copied.
    func copies(bytes: Int) -> Bool {
        switch self {
        case .automatic: return bytes >= Self.residentMinimumBytes
        case .mapped: return false
        case .resident: return true
        }
    }
}

/// An owning copy of a scoring table's rows in a `HugePageRegion`. `scoring` views the copy (bias and
/// shape as in the source table) and is valid while `self` lives.
package final class ResidentTable: @unchecked Sendable {
    // @unchecked Sendable: the memory is written once in init and only read afterwards.
    private let region: HugePageRegion
    let scoring: ScoringTable

    /// Copies `source`'s rows. Returns nil when the region cannot be mapped (the caller keeps reading
    /// `source`).
    init?(copying source: ScoringTable) {
        let count = source.rows * source.width
        guard let region = HugePageRegion(bytes: count * MemoryLayout<Float>.stride) else { return nil }
        self.region = region
        let floats = region.start.bindMemory(to: Float.self, capacity: count)
        // safe: the source holds rows·width floats (the encoder bound it with that shape), the region as many.
        floats.update(from: source.table, count: count)
        scoring = ScoringTable(table: floats, bias: source.bias, rows: source.rows, width: source.width,
                               firstItem: source.firstItem)
    }
}

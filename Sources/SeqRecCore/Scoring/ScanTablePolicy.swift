// Which scan table a served model reads (FORMAT.md §12, docs/KERNELS.md): one of the reduced copies the
// file carries, with exact fp32 re-scoring, or the fp32 rows alone.
import Foundation

public enum ScanTablePolicy: String, Sendable, CaseIterable {
    /// The int8 table when the file has one, else the bf16 table when it has one, else fp32 (int8 reads
    /// the fewest bytes per row: 80 at width 64, bf16 136, fp32 256).
    case automatic = "auto"
    /// Always the fp32 scan (reduced tables, if any, are ignored).
    case fp32
    /// The int8 table; loading fails when the file has none.
    case int8
    /// The bf16 table; loading fails when the file has none.
    case bf16

    /// The variable `seqrec serve` and the benchmarks read (`fromEnvironment()`); the library never reads it.
    public static let environmentVariable = "SEQREC_SCAN_TABLE"

    /// nil (unset) → `.automatic`; "auto" | "fp32" | "int8" | "bf16" → that policy; anything else throws.
    public static func fromEnvironment() throws(ModelLoadError) -> ScanTablePolicy {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable] else { return .automatic }
        guard let policy = ScanTablePolicy(rawValue: value) else {
            throw ModelLoadError("\(environmentVariable)=\"\(value)\" is not a scan table policy; use auto, fp32, int8 or bf16")
        }
        return policy
    }

    /// The reduced table this policy scans for `file`, bound to its fp32 `table` (nil: the fp32 scan).
    func bind(_ file: ModelFile, fp32 table: ScoringTable, tableMemory: TableMemory) throws -> ReducedScanTable? {
        switch self {
        case .fp32: return nil
        case .automatic:
            if let int8 = try Int8ScanTable.bind(file, fp32: table, tableMemory: tableMemory) { return .int8(int8) }
            return try Bf16ScanTable.bind(file, fp32: table, tableMemory: tableMemory).map { .bf16($0) }
        case .int8:
            guard let int8 = try Int8ScanTable.bind(file, fp32: table, tableMemory: tableMemory) else { throw missing("int8") }
            return .int8(int8)
        case .bf16:
            guard let bf16 = try Bf16ScanTable.bind(file, fp32: table, tableMemory: tableMemory) else { throw missing("bf16") }
            return .bf16(bf16)
        }
    }

    private func missing(_ kind: String) -> ModelLoadError {
        ModelLoadError("model load: the scan table policy is \(kind) but the file has no '\(ScanTensors.prefix)\(kind)' "
            + "tensor; convert the model with --scan-table \(kind), or use \(Self.environmentVariable)=auto")
    }
}

/// Constants of the layout (FORMAT.md §2–§7), shared by the reader and the writer.
enum FileLayout {
    static let magic: [UInt8] = Array("SEQRECMF".utf8)
    /// What writers put in a file that uses nothing of version 2 (so older readers still open it).
    static let formatVersion: UInt32 = 1
    /// What writers put in a file with version-2 content (scan tables, FORMAT.md §12).
    static let scanTableVersion: UInt32 = 2
    static let supportedVersions: ClosedRange<UInt32> = 1 ... 2
    static let defaultAlignment: UInt64 = 64
    static let alignmentRange: ClosedRange<UInt64> = 64 ... 65536

    static let preambleSize = 128
    /// Bytes of the preamble covered by `preamble_checksum`.
    static let preambleChecksummed = 120
    static let sectionTableOffset = 24
    static let sectionEntrySize = 24
    static let sectionNames = ["metadata", "tensor table", "vocabulary", "tensor data"]

    static let maxHyperparameters: UInt64 = 256
    static let maxKeyLength = 256
    static let maxStringValueLength = 4096
    static let maxIntsCount: UInt64 = 1024
    static let maxTensors: UInt64 = 65536
    static let maxTensorNameLength = 256
    static let maxRank: UInt32 = 8
    static let maxTokenLength = 1024
    static let maxTitleLength = 4096
    static let maxVocabularyCount = UInt64(Int32.max)

    /// The smallest multiple of `alignment` that is ≥ `offset`, or nil on overflow.
    static func alignOffset(_ offset: UInt64, _ alignment: UInt64) -> UInt64? {
        let padding = (alignment - offset % alignment) % alignment
        let (aligned, overflow) = offset.addingReportingOverflow(padding)
        return overflow ? nil : aligned
    }
}

/// One section of a model file: where it is and its XXH64 checksum.
public struct SectionInfo: Sendable, Equatable {
    public let name: String
    public let offset: UInt64
    public let length: UInt64
    public let checksum: UInt64
}

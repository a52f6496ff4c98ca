// The version 2 extension block (docs/PROTOCOL.md §6.6): a u16 count, then typed, length-prefixed
// values in ascending type order. The reader checks every rule before reading what it guards and
// hands out known extensions as sub-readers over the body's own storage (no copy, no allocation);
// unknown IGNORABLE extensions are skipped, unknown critical ones fail with UNIMPLEMENTED.

/// Constants of the extension mechanism (docs/PROTOCOL.md §12).
public enum ExtensionLimits {
    /// At most this many extensions in one block.
    public static let maxExtensions = 16
    /// Bit 15 of an extension type: a receiver that does not know the type may skip it.
    public static let ignorableBit: UInt16 = 0x8000
    public static let maxSessionKeyBytes = 64
    public static let maxFilterCategories = 64
    public static let maxCategoryBytes = 128
    public static let maxPerCategory = 1000
    public static let maxDiversityPool = 1000
    public static let maxContributors = 3
}

/// Extension types of a RECOMMEND body (docs/PROTOCOL.md §6.7).
public enum RequestExtensionType: UInt16, Sendable, CaseIterable {
    case sessionKey = 1
    case filters = 2
    case diversity = 3
    case fallback = 4
    case explain = 5

    public var name: String {
        switch self {
        case .sessionKey: "SESSION_KEY"
        case .filters: "FILTERS"
        case .diversity: "DIVERSITY"
        case .fallback: "FALLBACK"
        case .explain: "EXPLAIN"
        }
    }
}

/// Extension types of a RECOMMEND_RESPONSE body (docs/PROTOCOL.md §6.8).
public enum ResponseExtensionType: UInt16, Sendable, CaseIterable {
    case fallback = 1
    case explanations = 2

    public var name: String {
        switch self {
        case .fallback: "FALLBACK"
        case .explanations: "EXPLANATIONS"
        }
    }
}

/// One known extension: its type and a reader bounded to its value.
struct ExtensionValue {
    let type: UInt16
    var reader: BodyReader
}

/// Walks an extension block, enforcing count, order and lengths.
struct ExtensionBlockReader {
    private let count: Int
    private var index = 0
    private var previousType = -1

    /// Reads `n_extensions` and checks it before any extension is read.
    init(from reader: inout BodyReader) throws(ProtocolError) {
        count = try reader.readCount16("n_extensions", limit: ExtensionLimits.maxExtensions, minimumElementSize: 6)
    }

    /// The next extension whose type `maximumLength` knows (it returns that type's largest value
    /// length), skipping unknown IGNORABLE ones; nil after the last. An unknown critical type throws
    /// `unsupportedExtension`.
    mutating func next(
        from reader: inout BodyReader, maximumLength: (UInt16) -> Int?
    ) throws(ProtocolError) -> ExtensionValue? {
        while index < count {
            let position = index
            index += 1
            let type = try reader.readU16("extensions[\(position)].type")
            guard Int(type) > previousType else {
                throw .extensionOutOfOrder(index: position, type: type, previous: UInt16(previousType))
            }
            previousType = Int(type)
            let length = Int(try reader.readU32("extensions[\(position)].length"))
            guard length <= reader.remaining else {
                throw .truncated(field: "extensions[\(position)].length", needed: length, remaining: reader.remaining)
            }
            guard let maximum = maximumLength(type) else {
                guard type & ExtensionLimits.ignorableBit != 0 else { throw .unsupportedExtension(type: type) }
                _ = try reader.readSlice(length, field: "extensions[\(position)]")
                continue
            }
            guard length <= maximum else {
                throw .countExceedsLimit(field: "extensions[\(position)].length", count: length, limit: maximum)
            }
            return ExtensionValue(type: type, reader: BodyReader(try reader.readSlice(length, field: "extensions[\(position)]")))
        }
        return nil
    }
}

extension BodyReader {
    /// Ends an extension value: it must be fully consumed.
    func finishExtension(_ name: String) throws(ProtocolError) {
        guard remaining == 0 else { throw .extensionTrailingBytes(name: name, count: remaining) }
    }
}

extension Array where Element == UInt8 {
    /// Writes one extension: its type, a length patched after `writeValue` ran, and the value.
    @inlinable
    mutating func appendExtension(type: UInt16, _ writeValue: (inout [UInt8]) -> Void) {
        appendU16(type)
        let lengthAt = count
        appendU32(0)
        writeValue(&self)
        let length = UInt32(count - lengthAt - 4)
        self[lengthAt] = UInt8(truncatingIfNeeded: length >> 24)
        self[lengthAt + 1] = UInt8(truncatingIfNeeded: length >> 16)
        self[lengthAt + 2] = UInt8(truncatingIfNeeded: length >> 8)
        self[lengthAt + 3] = UInt8(truncatingIfNeeded: length)
    }

    @inlinable
    mutating func appendF32LE(_ value: Float) {
        let bits = value.bitPattern
        append(UInt8(truncatingIfNeeded: bits))
        append(UInt8(truncatingIfNeeded: bits >> 8))
        append(UInt8(truncatingIfNeeded: bits >> 16))
        append(UInt8(truncatingIfNeeded: bits >> 24))
    }
}

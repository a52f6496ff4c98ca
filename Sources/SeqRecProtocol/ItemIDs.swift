// Item ids in either id space of docs/PROTOCOL.md §6.1, and their wire encoding.

/// A list of item ids: internal ids (`u32`, the model's item index) or external ids (vocabulary
/// tokens, `str16`, 1…max_string_bytes bytes each).
public enum ItemIDs: Sendable, Equatable {
    case `internal`([UInt32])
    case external([String])

    public var count: Int {
        switch self {
        case .internal(let ids): ids.count
        case .external(let ids): ids.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public var isExternal: Bool {
        if case .external = self { return true }
        return false
    }

    /// An empty list in the given id space.
    static func empty(external: Bool) -> ItemIDs {
        external ? .external([]) : .internal([])
    }

    /// Writes `u32 count` followed by the ids.
    func encodeCounted(into bytes: inout [UInt8]) {
        bytes.appendCount32(count)
        encodeElements(into: &bytes)
    }

    /// Writes the ids without a count.
    func encodeElements(into bytes: inout [UInt8]) {
        switch self {
        case .internal(let ids):
            bytes.reserveCapacity(bytes.count + 4 * ids.count)
            for id in ids { bytes.appendU32(id) }
        case .external(let ids):
            for id in ids { bytes.appendString16(id) }
        }
    }

    /// Reads `count` ids of the given space (the count was read and bounded by the caller).
    static func decodeElements(
        _ count: Int, external: Bool, field: String, limits: ProtocolLimits, from reader: inout BodyReader
    ) throws(ProtocolError) -> ItemIDs {
        if external {
            return .external(try reader.readStrings16(count, field: field, maxBytes: limits.maxStringBytes))
        }
        return .internal(try reader.readU32Array(count, field: field))
    }

    /// Reads `u32 count` bounded by `limit`, then the ids.
    static func decodeCounted(
        external: Bool, field: String, limit: Int, limits: ProtocolLimits, from reader: inout BodyReader
    ) throws(ProtocolError) -> ItemIDs {
        let count = try reader.readCount(field, limit: limit, minimumElementSize: external ? 3 : 4)
        return try decodeElements(count, external: external, field: field, limits: limits, from: &reader)
    }

    /// Checks the count and, for external ids, each id's length against the limits.
    func validate(field: String, limit: Int, limits: ProtocolLimits) throws(ProtocolError) {
        guard count <= limit else { throw .countExceedsLimit(field: field, count: count, limit: limit) }
        guard case .external(let ids) = self else { return }
        for (index, id) in ids.enumerated() {
            let length = id.utf8.count
            guard length > 0 else { throw .emptyString(field: "\(field)[\(index)]") }
            guard length <= limits.maxStringBytes else {
                throw .stringTooLong(field: "\(field)[\(index)]", length: length, limit: limits.maxStringBytes)
            }
        }
    }
}

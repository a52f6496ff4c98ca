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
            bytes.appendU32s(ids)
        case .external(let ids):
            for id in ids { bytes.appendString16(id) }
        }
    }

    /// Replaces the ids with `count` ids of the given space read from `reader` (the count was read
    /// and bounded by the caller). Reuses the current array's capacity when the space matches, so
    /// a request value decoded again and again allocates nothing for internal ids.
    mutating func decodeElements(
        _ count: Int, external: Bool, field: String, limits: ProtocolLimits, from reader: inout BodyReader
    ) throws(ProtocolError) {
        if external {
            var ids: [String] = []
            if case .external(let existing) = self { ids = existing }
            self = .internal([])  // drop the enum's reference so `ids` is uniquely owned
            try reader.readStrings16(count, field: field, maxBytes: limits.maxStringBytes, into: &ids)
            self = .external(ids)
        } else {
            var ids: [UInt32] = []
            if case .internal(let existing) = self { ids = existing }
            self = .external([])  // drop the enum's reference so `ids` is uniquely owned
            try reader.readU32Array(count, field: field, into: &ids)
            self = .internal(ids)
        }
    }

    /// Reads `u32 count` bounded by `limit`, then the ids, into `self`.
    mutating func decodeCounted(
        external: Bool, field: String, limit: Int, limits: ProtocolLimits, from reader: inout BodyReader
    ) throws(ProtocolError) {
        let count = try reader.readCount(field, limit: limit, minimumElementSize: external ? 3 : 4)
        try decodeElements(count, external: external, field: field, limits: limits, from: &reader)
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

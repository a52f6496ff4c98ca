// Checked reader over one frame body. Every read checks the bytes remaining; every count is
// checked against its limit and against the remaining bytes before anything is allocated, so a
// hostile count can never make us reserve memory the body does not back.

/// Reads the fields of one body in order; throws `ProtocolError` naming the field on any violation.
struct BodyReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }

    /// Claims `count` bytes and returns their index range.
    private mutating func take(_ count: Int, field: @autoclosure () -> String) throws(ProtocolError) -> Range<Int> {
        guard count <= remaining else {
            throw .truncated(field: field(), needed: count, remaining: remaining)
        }
        let start = position
        position += count  // safe: count ≤ remaining, so position stays ≤ endIndex
        return start..<position
    }

    mutating func readU8(_ field: @autoclosure () -> String) throws(ProtocolError) -> UInt8 {
        let range = try take(1, field: field())
        return bytes[range.lowerBound]
    }

    mutating func readU16(_ field: @autoclosure () -> String) throws(ProtocolError) -> UInt16 {
        let range = try take(2, field: field())
        let i = range.lowerBound
        return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
    }

    mutating func readU32(_ field: @autoclosure () -> String) throws(ProtocolError) -> UInt32 {
        let range = try take(4, field: field())
        return Self.u32(bytes, at: range.lowerBound)
    }

    /// Reads a `u32` count, checks it against `limit` and checks that `count × minimumElementSize`
    /// bytes remain, before the caller allocates anything for the elements.
    mutating func readCount(
        _ field: @autoclosure () -> String, limit: Int, minimumElementSize: Int
    ) throws(ProtocolError) -> Int {
        let count = Int(try readU32(field()))  // read first: the check below needs the advanced position
        return try checkedCount(count, field(), limit: limit, minimumElementSize: minimumElementSize)
    }

    /// The `u16` flavour of `readCount`.
    mutating func readCount16(
        _ field: @autoclosure () -> String, limit: Int, minimumElementSize: Int
    ) throws(ProtocolError) -> Int {
        let count = Int(try readU16(field()))  // read first: the check below needs the advanced position
        return try checkedCount(count, field(), limit: limit, minimumElementSize: minimumElementSize)
    }

    private func checkedCount(
        _ count: Int, _ field: @autoclosure () -> String, limit: Int, minimumElementSize: Int
    ) throws(ProtocolError) -> Int {
        guard count <= limit else { throw .countExceedsLimit(field: field(), count: count, limit: limit) }
        try requireElements(count, of: minimumElementSize, field: field())
        return count
    }

    private func requireElements(_ count: Int, of size: Int, field: @autoclosure () -> String) throws(ProtocolError) {
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, needed <= remaining else {
            throw .truncated(field: field(), needed: overflow ? Int.max : needed, remaining: remaining)
        }
    }

    /// Replaces the contents of `values` with `count` u32s, reusing its capacity.
    mutating func readU32Array(
        _ count: Int, field: @autoclosure () -> String, into values: inout [UInt32]
    ) throws(ProtocolError) {
        try requireElements(count, of: 4, field: field())
        values.removeAll(keepingCapacity: true)
        values.append(contentsOf: repeatElement(0, count: count))
        values.withUnsafeMutableBufferPointer { ids in
            for k in 0..<count {
                ids[k] = Self.u32(bytes, at: position)
                position += 4  // safe: requireElements checked count × 4 ≤ remaining
            }
        }
    }

    mutating func readFloatsLE(_ count: Int, field: @autoclosure () -> String) throws(ProtocolError) -> [Float] {
        try requireElements(count, of: 4, field: field())
        let first = position
        position += 4 * count  // safe: requireElements checked count × 4 ≤ remaining
        return (0..<count).map { [bytes] k in
            let i = first + 4 * k
            let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                | UInt32(bytes[i + 3]) << 24
            return Float(bitPattern: bits)
        }
    }

    /// Reads a `str16`, checking the length against `maxBytes` before reading and the bytes for
    /// valid UTF-8.
    mutating func readString16(
        _ field: @autoclosure () -> String, maxBytes: Int, allowEmpty: Bool = true
    ) throws(ProtocolError) -> String {
        let length = Int(try readU16(field()))
        guard length <= maxBytes else { throw .stringTooLong(field: field(), length: length, limit: maxBytes) }
        guard allowEmpty || length > 0 else { throw .emptyString(field: field()) }
        let range = try take(length, field: field())
        guard length > 0 else { return "" }
        // Decoding repairs invalid sequences with U+FFFD; a repair never shortens the bytes and never
        // reproduces them, so the input was valid UTF-8 exactly when the result's bytes equal it.
        // This avoids the unspecialized generic path of String(validating:as:).
        let utf8 = bytes[range]
        let string = String(decoding: utf8, as: UTF8.self)
        guard string.utf8.elementsEqual(utf8) else { throw .invalidUTF8(field: field()) }
        return string
    }

    /// Replaces the contents of `values` with `count` non-empty str16s, reusing its capacity.
    mutating func readStrings16(
        _ count: Int, field: String, maxBytes: Int, into values: inout [String]
    ) throws(ProtocolError) {
        try requireElements(count, of: 3, field: field)  // a non-empty str16 is at least 3 bytes
        values.removeAll(keepingCapacity: true)
        values.reserveCapacity(count)  // safe: at least count × 3 bytes are present
        for index in 0..<count {
            values.append(try readString16("\(field)[\(index)]", maxBytes: maxBytes, allowEmpty: false))
        }
    }

    /// Reads a `u16` length and that many opaque bytes.
    mutating func readBytes16(_ field: @autoclosure () -> String, maxBytes: Int) throws(ProtocolError) -> [UInt8] {
        let length = Int(try readU16(field()))
        guard length <= maxBytes else { throw .stringTooLong(field: field(), length: length, limit: maxBytes) }
        return Array(bytes[try take(length, field: field())])
    }

    /// Claims `count` bytes and returns them as a slice of the body (no copy).
    mutating func readSlice(_ count: Int, field: @autoclosure () -> String) throws(ProtocolError) -> ArraySlice<UInt8> {
        bytes[try take(count, field: field())]
    }

    /// One IEEE-754 binary32, little-endian like every float on the wire.
    mutating func readF32LE(_ field: @autoclosure () -> String) throws(ProtocolError) -> Float {
        let i = try take(4, field: field()).lowerBound
        let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        return Float(bitPattern: bits)
    }

    /// Ends decoding: the body must be fully consumed.
    func finish(_ type: FrameType) throws(ProtocolError) {
        guard remaining == 0 else { throw .trailingBytes(type, count: remaining) }
    }

    static func u32(_ bytes: ArraySlice<UInt8>, at i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }
}

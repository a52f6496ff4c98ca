// Primitive writers for docs/PROTOCOL.md §2: big-endian integers, little-endian f32 arrays, str16.
// Encoders trust their input's ranges (the sender built it); `validate` methods and the decoders
// are the checks for bytes from outside. Everything here is @inlinable so encoders called from
// other modules (the server's response path) are specialised for concrete types and allocate nothing.

extension Array where Element == UInt8 {
    @inlinable
    mutating func appendU8(_ value: UInt8) {
        append(value)
    }

    @inlinable
    mutating func appendU16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable
    mutating func appendU32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Writes a count or length field; a value beyond `u32` is a bug of the sender.
    @inlinable
    mutating func appendCount32(_ count: Int) {
        precondition(count >= 0 && count <= Int(UInt32.max), "count \(count) does not fit u32")
        appendU32(UInt32(count))
    }

    /// Appends `values` as big-endian u32s. Grows the array once and writes in place, so a large
    /// list costs one uniqueness check instead of one per byte.
    @inlinable
    mutating func appendU32s(_ values: some Collection<UInt32>) {
        writeWords(values.count) { buffer, start in
            var i = start
            for value in values {
                buffer[i] = UInt8(truncatingIfNeeded: value >> 24)
                buffer[i + 1] = UInt8(truncatingIfNeeded: value >> 16)
                buffer[i + 2] = UInt8(truncatingIfNeeded: value >> 8)
                buffer[i + 3] = UInt8(truncatingIfNeeded: value)
                i += 4
            }
        }
    }

    /// Appends `values` as little-endian IEEE-754 binary32, written in place like `appendU32s`.
    @inlinable
    mutating func appendFloatsLE(_ values: some Collection<Float>) {
        writeWords(values.count) { buffer, start in
            var i = start
            for value in values {
                let bits = value.bitPattern
                buffer[i] = UInt8(truncatingIfNeeded: bits)
                buffer[i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                buffer[i + 2] = UInt8(truncatingIfNeeded: bits >> 16)
                buffer[i + 3] = UInt8(truncatingIfNeeded: bits >> 24)
                i += 4
            }
        }
    }

    /// Appends `count` zeroed 4-byte words and lets `write` fill them; `write` gets the whole
    /// buffer and the index of the first new byte.
    @inlinable
    mutating func writeWords(_ count: Int, _ write: (inout UnsafeMutableBufferPointer<UInt8>, Int) -> Void) {
        let start = self.count
        append(contentsOf: repeatElement(0, count: 4 * count))
        // safe: the 4 × count bytes from `start` were appended just above; `write` stays inside them.
        withUnsafeMutableBufferPointer { write(&$0, start) }
    }

    /// `str16`: u16 byte length, then the UTF-8 bytes. Strings over 65,535 bytes cannot be
    /// represented; callers validate against `maxStringBytes` (≤ 65,535) first.
    @inlinable
    mutating func appendString16(_ string: String) {
        let length = string.utf8.count
        precondition(length <= Int(UInt16.max), "string of \(length) bytes does not fit str16")
        appendU16(UInt16(length))
        append(contentsOf: string.utf8)
    }

    @inlinable
    mutating func appendBytes16(_ bytes: [UInt8]) {
        precondition(bytes.count <= Int(UInt16.max), "\(bytes.count) bytes do not fit a u16 length")
        appendU16(UInt16(bytes.count))
        append(contentsOf: bytes)
    }

    /// Writes the length field of the frame that starts at `frameStart` and ends at the array's end.
    @inlinable
    mutating func patchFrameLength(frameStart start: Int) {
        let length = count - start - 4
        precondition(length >= FrameHeader.minimumLength && length <= Int(UInt32.max), "frame of \(length) bytes")
        let length32 = UInt32(length)
        self[start] = UInt8(truncatingIfNeeded: length32 >> 24)
        self[start + 1] = UInt8(truncatingIfNeeded: length32 >> 16)
        self[start + 2] = UInt8(truncatingIfNeeded: length32 >> 8)
        self[start + 3] = UInt8(truncatingIfNeeded: length32)
    }
}

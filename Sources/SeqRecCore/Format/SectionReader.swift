/// Bounds-checked little-endian reads from one section of an untrusted byte range.
///
/// Every read checks the remaining length first and throws a `FormatError` naming the field, so a corrupt
/// count or length can never read outside the section. Field names are autoclosures: they are built only
/// when an error is reported, so reading a large vocabulary costs no string formatting.
struct SectionReader {
    typealias Field = () -> String

    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    private let end: Int
    let file: String
    let section: String

    /// A reader over `bytes[start ..< start + length]`; the caller has already checked that range.
    init(bytes: UnsafeRawBufferPointer, start: Int, length: Int, file: String, section: String) {
        self.bytes = bytes
        self.position = start
        self.end = start + length
        self.file = file
        self.section = section
    }

    var remaining: Int { end - position }

    func error(_ field: String, _ problem: String, hint: String? = nil) -> FormatError {
        FormatError(file: file, field: "\(section): \(field)", problem: problem, hint: hint)
    }

    private mutating func take(_ size: Int, _ field: Field) throws(FormatError) -> Int {
        guard size <= remaining else {
            throw error(field(), "needs \(size) bytes but only \(remaining) remain in the section",
                        hint: "the file is truncated or corrupt")
        }
        let start = position
        position += size
        return start
    }

    mutating func u8(_ field: @autoclosure Field) throws(FormatError) -> UInt8 {
        bytes[try take(1, field)]
    }

    mutating func u32(_ field: @autoclosure Field) throws(FormatError) -> UInt32 {
        let offset = try take(4, field)
        // safe: take() checked 4 bytes at offset are inside the section.
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64(_ field: @autoclosure Field) throws(FormatError) -> UInt64 {
        let offset = try take(8, field)
        // safe: take() checked 8 bytes at offset are inside the section.
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    mutating func i64(_ field: @autoclosure Field) throws(FormatError) -> Int64 {
        Int64(bitPattern: try u64(field()))
    }

    mutating func f64(_ field: @autoclosure Field) throws(FormatError) -> Double {
        Double(bitPattern: try u64(field()))
    }

    /// A count that must not exceed `limit`, nor what the rest of the section could hold at
    /// `minimumItemSize` bytes per item (so absurd counts fail before any allocation).
    mutating func count(_ field: @autoclosure Field, limit: UInt64, minimumItemSize: Int) throws(FormatError) -> Int {
        let value = try u64(field())
        guard value <= limit else {
            throw error(field(), "\(value) exceeds the limit of \(limit)", hint: "the file is corrupt")
        }
        let fits = UInt64(remaining / max(minimumItemSize, 1))
        guard value <= fits else {
            throw error(field(), "\(value) items cannot fit in the \(remaining) bytes left in the section",
                        hint: "the file is truncated or corrupt")
        }
        return Int(value)
    }

    /// A `Str`: u64 length then that many bytes of valid UTF-8.
    mutating func string(_ field: @autoclosure Field, maxLength: Int, allowEmpty: Bool = false) throws(FormatError) -> String {
        let length = try u64(field() + ".length")
        guard length <= UInt64(maxLength) else {
            throw error(field() + ".length", "\(length) exceeds the limit of \(maxLength) bytes",
                        hint: "the file is corrupt")
        }
        guard allowEmpty || length > 0 else { throw error(field(), "is empty") }
        let start = try take(Int(length), field)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start ..< start + Int(length)])
        // safe: the bytes are plain UInt8 in a read-only buffer; the typed view lives only in this closure.
        let text = raw.withMemoryRebound(to: UInt8.self) { utf8 -> String? in
            // ASCII (every vocabulary token in practice) is valid UTF-8 as is; decoding it skips the slower
            // generic validation.
            utf8.allSatisfy { $0 < 0x80 } ? String(decoding: utf8, as: UTF8.self) : String(validating: utf8, as: UTF8.self)
        }
        guard let text else { throw error(field(), "is not valid UTF-8") }
        return text
    }

    func expectFullyConsumed() throws(FormatError) {
        guard remaining == 0 else {
            throw error("end", "\(remaining) unexpected trailing bytes", hint: "the file is corrupt")
        }
    }
}

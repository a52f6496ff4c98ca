// A strict JSON reader for the item-attribute inputs: attribute files (one object per line), journal
// lines and PATCH bodies. Hand-written because those are read by the million at start (Foundation's
// decoder costs tens of microseconds a line) and because every rejection must name the line and field.
// RFC 8259 only: no comments, no trailing commas, no NaN, duplicate keys rejected, nesting ≤ 8.

/// A parsed JSON value. Numbers keep their text: the fields that take them decide what they may be.
enum CatalogueJSON: Equatable {
    case null, bool(Bool), number(String), string(String)
    case array([CatalogueJSON])
    case object([(key: String, value: CatalogueJSON)])

    static func == (a: CatalogueJSON, b: CatalogueJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    static let maxDepth = 8

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses exactly one value from `bytes` (surrounding whitespace allowed). The error's text says what
    /// was wrong at which byte offset.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(CatalogueError) -> CatalogueJSON {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.position == bytes.count else { throw reader.failure("unexpected text after the value") }
        return value
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(CatalogueError) -> CatalogueJSON {
        try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CatalogueError) -> CatalogueJSON in try parse(buffer) }
        }.get()
    }

    static func parse(_ text: String) throws(CatalogueError) -> CatalogueJSON { try parse(Array(text.utf8)[...]) }

    /// The lexer and value reader; `UpdateBodyParser` drives it directly for the update body's shape.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        func failure(_ problem: String) -> CatalogueError {
            CatalogueError(field: "", "\(problem) at byte \(position)")
        }

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString) throws(CatalogueError) {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count,
                  (0..<count).allSatisfy({ bytes[position + $0] == literal.utf8Start[$0] }) else {
                throw failure("expected '\(literal)'")
            }
            position += count
        }

        mutating func value(depth: Int) throws(CatalogueError) -> CatalogueJSON {
            guard position < bytes.count else { throw failure("unexpected end of input") }
            switch bytes[position] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            case UInt8(ascii: "["):
                guard depth < maxDepth else { throw failure("nesting deeper than \(maxDepth)") }
                position += 1
                var elements: [CatalogueJSON] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                while true {
                    skipSpace()
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard position < bytes.count else { throw failure("unterminated array") }
                    let byte = bytes[position]
                    position += 1
                    if byte == UInt8(ascii: "]") { return .array(elements) }
                    guard byte == UInt8(ascii: ",") else { position -= 1; throw failure("expected ',' or ']'") }
                }
            case UInt8(ascii: "{"):
                guard depth < maxDepth else { throw failure("nesting deeper than \(maxDepth)") }
                position += 1
                var fields: [(key: String, value: CatalogueJSON)] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(fields) }
                while true {
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a quoted key") }
                    let key = try string()
                    guard !fields.contains(where: { $0.key == key }) else { throw failure("duplicate key '\(key.prefix(64))'") }
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    fields.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard position < bytes.count else { throw failure("unterminated object") }
                    let byte = bytes[position]
                    position += 1
                    if byte == UInt8(ascii: "}") { return .object(fields) }
                    guard byte == UInt8(ascii: ",") else { position -= 1; throw failure("expected ',' or '}'") }
                }
            default:
                throw failure("unexpected character")
            }
        }

        /// RFC 8259 number grammar; the text is returned as written.
        mutating func number() throws(CatalogueError) -> String {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("bad number") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard position < bytes.count, isDigit(bytes[position]) else { throw failure("bad number") }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard position < bytes.count, isDigit(bytes[position]) else { throw failure("bad number") }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            guard position - start <= 64 else { throw failure("number longer than 64 characters") }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        /// A quoted string with its escapes decoded; invalid UTF-8, control characters and lone
        /// surrogates are errors.
        mutating func string() throws(CatalogueError) -> String {
            position += 1  // the opening quote
            // The common case, no escape and no control character before the closing quote: validate
            // the bytes in place (no scratch array). Otherwise the loop below goes on from the first
            // such byte, with the same errors at the same offsets.
            var end = position, ascii = true
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                ascii = ascii && bytes[end] < 0x80
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                let span = UnsafeBufferPointer(rebasing: bytes[position..<end])
                position = end + 1
                // `String(decoding:)` is specialized for contiguous UTF-8 (`String(validating:)` is not);
                // it repairs invalid input, so anything but ASCII is compared back to be sure it was valid.
                let text = String(decoding: span, as: UTF8.self)
                guard ascii || text.utf8.elementsEqual(span) else { throw failure("string is not valid UTF-8") }
                return text
            }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[position..<end]))
            position = end
            while true {
                guard position < bytes.count else { throw failure("unterminated string") }
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else { throw failure("string is not valid UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw failure("unterminated escape") }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                  bytes[position + 1] == UInt8(ascii: "u") else { throw failure("lone surrogate") }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw failure("lone surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw failure("lone surrogate")
                        }
                        // safe: surrogates were handled above, so the value is a Unicode scalar.
                        out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                    default:
                        throw failure("bad escape")
                    }
                case 0..<0x20:
                    throw failure("control character in a string")
                default:
                    out.append(byte)
                }
            }
        }

        mutating func hex4() throws(CatalogueError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw failure("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - 87
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - 55
                default: throw failure("bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }
    }
}

/// What was wrong with attribute input (a file line, a journal line, a PATCH body, a lookup) or with the
/// state directory; `field` names the place ("line 7: updates[3].categories"), `description` the problem
/// and what to send instead.
public struct CatalogueError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The caller's input is malformed or out of range.
        case invalidInput
        /// No such model or item.
        case notFound
        /// The state directory could not be read or written; nothing was acknowledged.
        case storage
    }

    public let kind: Kind
    public let field: String
    public let problem: String

    public init(_ kind: Kind = .invalidInput, field: String, _ problem: String) {
        self.kind = kind
        self.field = field
        self.problem = problem
    }

    public var description: String { field.isEmpty ? problem : "\(field): \(problem)" }

    /// The same error with `prefix` in front of its field ("line 3", "updates[2]").
    func within(_ prefix: String) -> CatalogueError {
        CatalogueError(kind, field: field.isEmpty ? prefix : "\(prefix).\(field)", problem)
    }
}

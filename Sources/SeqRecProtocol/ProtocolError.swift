// Every way received bytes can violate docs/PROTOCOL.md. Framing cases are connection-fatal
// (GOAWAY, close); payload cases fail only the request they belong to (ERROR INVALID_ARGUMENT).

/// A violation of the wire protocol, naming the offending field and value.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: framing (connection-fatal)

    /// The first bytes of the connection are not `SRECv1\r\n`.
    case badPreface(offset: Int, byte: UInt8)
    /// The header `length` is below 12 or above the connection's maximum frame length.
    case frameLengthOutOfRange(length: UInt32, minimum: Int, maximum: Int)
    case unknownFrameType(UInt8)
    /// A known frame type sent in the wrong direction (e.g. a client sending RECOMMEND_RESPONSE).
    case unexpectedFrameType(FrameType)
    case compressionNotSupported(FrameType)
    /// Undefined flag bits, or NOT_PROCESSED on a frame other than ERROR.
    case invalidFlags(FrameType, flags: UInt8)
    case reservedFieldNotZero(FrameType, value: UInt16)
    case requestIDMustBeZero(FrameType, requestID: UInt32)
    case requestIDMissing(FrameType)
    case auxMustBeZero(FrameType, aux: UInt32)
    /// A frame other than HELLO or HEALTH before HELLO.
    case helloRequired(FrameType)
    case duplicateHello
    /// A request id equal to one still in flight (checked by the server's connection).
    case duplicateRequestID(UInt32)

    // MARK: payload (request-level for request frames; fatal for connection-level frames)

    /// The body ended inside `field`.
    case truncated(field: String, needed: Int, remaining: Int)
    /// Bytes left after the last field of the body.
    case trailingBytes(FrameType, count: Int)
    case countExceedsLimit(field: String, count: Int, limit: Int)
    case stringTooLong(field: String, length: Int, limit: Int)
    case emptyString(field: String)
    case invalidUTF8(field: String)
    case kOutOfRange(k: Int, maximum: Int)
    /// A field holding a value the specification does not allow (undefined bits, codes, ranges).
    case invalidValue(field: String, value: Int)
    /// The body decoded does not belong to this frame type.
    case bodyTypeMismatch(expected: FrameType, actual: FrameType)
    /// A fixed-size body (PING, PONG) of the wrong size.
    case wrongBodyLength(FrameType, length: Int, expected: Int)
    /// A numeric option outside its range (e.g. a diversity λ that is NaN or above 1).
    case outOfRange(field: String, value: String, allowed: String)
    /// Extension types not strictly ascending (an extension repeated or out of order).
    case extensionOutOfOrder(index: Int, type: UInt16, previous: UInt16)
    /// An extension value with bytes left after its last field.
    case extensionTrailingBytes(name: String, count: Int)
    /// A critical extension type this side does not know (ERROR UNIMPLEMENTED + NOT_PROCESSED).
    case unsupportedExtension(type: UInt16)
    /// An option that only a version 2 connection can carry, on a version 1 connection (sender side).
    case requiresVersion2(option: String)

    /// Whether the connection must be closed (GOAWAY first, except for a bad preface).
    public var isFramingViolation: Bool {
        switch self {
        case .badPreface, .frameLengthOutOfRange, .unknownFrameType, .unexpectedFrameType,
             .compressionNotSupported, .invalidFlags, .reservedFieldNotZero, .requestIDMustBeZero,
             .requestIDMissing, .auxMustBeZero, .helloRequired, .duplicateHello, .duplicateRequestID:
            true
        case .truncated, .trailingBytes, .countExceedsLimit, .stringTooLong, .emptyString,
             .invalidUTF8, .kOutOfRange, .invalidValue, .bodyTypeMismatch, .wrongBodyLength, .outOfRange,
             .extensionOutOfOrder, .extensionTrailingBytes, .unsupportedExtension, .requiresVersion2:
            false
        }
    }

    /// The status to put on the wire: GOAWAY status for framing violations, ERROR status otherwise.
    public var status: StatusCode {
        switch self {
        case .unknownFrameType, .compressionNotSupported, .unsupportedExtension: .unimplemented
        case _ where isFramingViolation: .internal
        default: .invalidArgument
        }
    }

    public var description: String {
        switch self {
        case .badPreface(let offset, let byte):
            "bad connection preface: byte \(offset) is 0x\(hex(byte)), expected \"SRECv1\\r\\n\""
        case .frameLengthOutOfRange(let length, let minimum, let maximum):
            "frame length \(length) outside \(minimum)...\(maximum)"
        case .unknownFrameType(let type):
            "unknown frame type \(type)"
        case .unexpectedFrameType(let type):
            "frame type \(type) is not allowed in this direction"
        case .compressionNotSupported(let type):
            "\(type) frame has the COMPRESSED flag, which version 1 does not support"
        case .invalidFlags(let type, let flags):
            "\(type) frame has invalid flags 0x\(hex(flags))"
        case .reservedFieldNotZero(let type, let value):
            "\(type) frame has reserved header field \(value), must be 0"
        case .requestIDMustBeZero(let type, let requestID):
            "\(type) frame is connection-level and must have request id 0, has \(requestID)"
        case .requestIDMissing(let type):
            "\(type) frame needs a non-zero request id"
        case .auxMustBeZero(let type, let aux):
            "\(type) frame has aux \(aux), must be 0"
        case .helloRequired(let type):
            "\(type) frame before HELLO (only HEALTH may precede HELLO)"
        case .duplicateHello:
            "second HELLO on the connection"
        case .duplicateRequestID(let id):
            "request id \(id) is already in flight"
        case .truncated(let field, let needed, let remaining):
            "body truncated in \(field): needs \(needed) bytes, \(remaining) left"
        case .trailingBytes(let type, let count):
            "\(type) body has \(count) unexpected trailing bytes"
        case .countExceedsLimit(let field, let count, let limit):
            "\(field) has \(count) entries, limit is \(limit)"
        case .stringTooLong(let field, let length, let limit):
            "\(field) is \(length) bytes, limit is \(limit)"
        case .emptyString(let field):
            "\(field) must not be empty"
        case .invalidUTF8(let field):
            "\(field) is not valid UTF-8"
        case .kOutOfRange(let k, let maximum):
            "k = \(k) is outside 1...\(maximum)"
        case .invalidValue(let field, let value):
            "\(field) has invalid value \(value)"
        case .bodyTypeMismatch(let expected, let actual):
            "expected a \(expected) body, the frame is \(actual)"
        case .wrongBodyLength(let type, let length, let expected):
            "\(type) body is \(length) bytes, must be exactly \(expected)"
        case .outOfRange(let field, let value, let allowed):
            "\(field) = \(value) is outside \(allowed)"
        case .extensionOutOfOrder(let index, let type, let previous):
            "extensions[\(index)].type \(type) does not follow type \(previous): types must be ascending, each at most once"
        case .extensionTrailingBytes(let name, let count):
            "extension \(name) has \(count) bytes after its last field"
        case .unsupportedExtension(let type):
            "critical extension type \(type) is not supported here; send it only to servers that support it, "
                + "or without it"
        case .requiresVersion2(let option):
            "\(option) needs protocol version 2, the connection negotiated version 1"
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
}

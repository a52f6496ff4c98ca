// The 16-byte frame header of docs/PROTOCOL.md §4, the connection preface, and whole-frame encoding.
//
//   offset 0  u32 length      bytes after this field = 12 + body length
//          4  u8  type
//          5  u8  flags
//          6  u16 reserved    0
//          8  u32 request_id
//         12  u32 aux

/// The connection preface every client sends first: ASCII `SRECv1\r\n`.
public enum ConnectionPreface {
    public static let bytes: [UInt8] = Array("SRECv1\r\n".utf8)
}

/// A decoded, validated frame header.
public struct FrameHeader: Sendable, Equatable {
    public static let size = 16
    /// Smallest valid `length` field: the header bytes after the length field, with an empty body.
    public static let minimumLength = 12

    public var type: FrameType
    public var flags: FrameFlags
    public var requestID: UInt32
    /// Per-type value: RECOMMEND timeout in µs, ERROR retry-after in ms, GOAWAY last request id.
    public var aux: UInt32

    public init(type: FrameType, flags: FrameFlags = [], requestID: UInt32, aux: UInt32 = 0) {
        self.type = type
        self.flags = flags
        self.requestID = requestID
        self.aux = aux
    }
}

/// One frame: its header and its body bytes.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    /// The body. When it comes from `FrameDecoder` it shares the decoder's buffer: decode it before
    /// the next `feed`, or the decoder copies its buffer once.
    public var body: ArraySlice<UInt8>

    public init(header: FrameHeader, body: ArraySlice<UInt8>) {
        self.header = header
        self.body = body
    }

    /// Decodes the body as `Body`, checking that the frame has that body's type. `version` is the
    /// connection's negotiated protocol version (it changes only RECOMMEND and RECOMMEND_RESPONSE).
    public func decode<Body: FrameBody>(
        _ bodyType: Body.Type, limits: ProtocolLimits = .default, version: UInt16 = 1
    ) throws(ProtocolError) -> Body {
        guard header.type == Body.frameType else {
            throw .bodyTypeMismatch(expected: Body.frameType, actual: header.type)
        }
        return try Body(decoding: body, limits: limits, version: version)
    }
}

/// A message body with a fixed frame type.
///
/// `encode(into:)` and `init(decoding:limits:)` are the version 1 layout; the `version:` variants
/// take the connection's negotiated version and default to them, since only RECOMMEND and
/// RECOMMEND_RESPONSE differ between versions (docs/PROTOCOL.md §3).
public protocol FrameBody: Sendable {
    static var frameType: FrameType { get }
    /// Appends the body bytes (not the header) in the version 1 layout.
    func encode(into bytes: inout [UInt8])
    /// Decodes a whole version 1 body, checking every field against `limits`.
    init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError)
    /// Appends the body bytes in the layout of protocol `version`.
    func encode(version: UInt16, into bytes: inout [UInt8])
    /// Decodes a whole body in the layout of protocol `version`.
    init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits, version: UInt16) throws(ProtocolError)
}

extension FrameBody {
    public func encode(version _: UInt16, into bytes: inout [UInt8]) {
        encode(into: &bytes)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits, version _: UInt16) throws(ProtocolError) {
        try self.init(decoding: body, limits: limits)
    }

    public init(decoding body: [UInt8], limits: ProtocolLimits = .default) throws(ProtocolError) {
        try self.init(decoding: body[...], limits: limits)
    }

    public init(decoding body: ArraySlice<UInt8>) throws(ProtocolError) {
        try self.init(decoding: body, limits: .default)
    }

    /// Appends a complete frame (header + body) carrying this message, in the layout of `version`.
    public func encodeFrame(
        requestID: UInt32, aux: UInt32 = 0, flags: FrameFlags = [], version: UInt16 = 1, into bytes: inout [UInt8]
    ) {
        let start = bytes.count
        FrameHeader(type: Self.frameType, flags: flags, requestID: requestID, aux: aux)
            .encode(bodyLength: 0, into: &bytes)
        encode(version: version, into: &bytes)
        bytes.patchFrameLength(frameStart: start)
    }

    /// A complete frame carrying this message, as a new array.
    public func frameBytes(requestID: UInt32, aux: UInt32 = 0, flags: FrameFlags = [], version: UInt16 = 1) -> [UInt8] {
        var bytes = [UInt8]()
        encodeFrame(requestID: requestID, aux: aux, flags: flags, version: version, into: &bytes)
        return bytes
    }
}

extension FrameHeader {
    /// Appends the 16 header bytes for a body of `bodyLength` bytes.
    @inlinable
    public func encode(bodyLength: Int, into bytes: inout [UInt8]) {
        let (length, overflow) = bodyLength.addingReportingOverflow(Self.minimumLength)
        precondition(!overflow && length <= Int(UInt32.max), "body of \(bodyLength) bytes too long")
        bytes.appendU32(UInt32(length))
        bytes.appendU8(type.rawValue)
        bytes.appendU8(flags.rawValue)
        bytes.appendU16(0)
        bytes.appendU32(requestID)
        bytes.appendU32(aux)
    }
}

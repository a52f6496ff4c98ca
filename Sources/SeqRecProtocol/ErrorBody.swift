// ERROR and GOAWAY bodies (docs/PROTOCOL.md §9, §10): a canonical status and a short message.
// The NOT_PROCESSED flag and retry-after (ERROR) / last request id (GOAWAY) live in the header.

/// ERROR (server → client): fails one request.
public struct ErrorBody: FrameBody, Equatable {
    public static let frameType = FrameType.error

    /// Never `.ok`.
    public var status: StatusCode
    /// Human-readable; no paths or stack traces.
    public var message: String

    public init(status: StatusCode, message: String) {
        self.status = status
        self.message = message
    }

    public func encode(into bytes: inout [UInt8]) {
        encodeStatusBody(status, message, into: &bytes)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        (status, message) = try decodeStatusBody(body, limits: limits, type: Self.frameType, allowOK: false)
    }
}

/// GOAWAY (either direction): no new requests on this connection. OK and UNAVAILABLE are graceful
/// (requests already received are answered); any other status is fatal (the sender closes now).
public struct GoAway: FrameBody, Equatable {
    public static let frameType = FrameType.goAway

    public var status: StatusCode
    public var message: String

    public init(status: StatusCode, message: String = "") {
        self.status = status
        self.message = message
    }

    public var isGraceful: Bool { status == .ok || status == .unavailable }

    public func encode(into bytes: inout [UInt8]) {
        encodeStatusBody(status, message, into: &bytes)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        (status, message) = try decodeStatusBody(body, limits: limits, type: Self.frameType, allowOK: true)
    }
}

/// The shared layout of ERROR and GOAWAY: `u16 status`, `str16 message`.
private func encodeStatusBody(_ status: StatusCode, _ message: String, into bytes: inout [UInt8]) {
    bytes.appendU16(status.rawValue)
    bytes.appendString16(message)
}

private func decodeStatusBody(
    _ body: ArraySlice<UInt8>, limits: ProtocolLimits, type: FrameType, allowOK: Bool
) throws(ProtocolError) -> (StatusCode, String) {
    var reader = BodyReader(body)
    let raw = try reader.readU16("status")
    guard let status = StatusCode(rawValue: raw), allowOK || status != .ok else {
        throw .invalidValue(field: "status", value: Int(raw))
    }
    let message = try reader.readString16("message", maxBytes: limits.maxMessageBytes)
    try reader.finish(type)
    return (status, message)
}

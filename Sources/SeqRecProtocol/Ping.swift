// PING / PONG (docs/PROTOCOL.md §5): connection-level liveness and round-trip time, and CANCEL.

/// PING (client → server, request id 0): 8 opaque bytes the server echoes in PONG.
public struct Ping: FrameBody, Equatable {
    public static let frameType = FrameType.ping

    public var payload: UInt64

    public init(payload: UInt64) {
        self.payload = payload
    }

    public func encode(into bytes: inout [UInt8]) {
        bytes.appendU32(UInt32(truncatingIfNeeded: payload >> 32))
        bytes.appendU32(UInt32(truncatingIfNeeded: payload))
    }

    public init(decoding body: ArraySlice<UInt8>, limits _: ProtocolLimits) throws(ProtocolError) {
        guard body.count == 8 else { throw .wrongBodyLength(Self.frameType, length: body.count, expected: 8) }
        var reader = BodyReader(body)
        payload = UInt64(try reader.readU32("payload")) << 32 | UInt64(try reader.readU32("payload"))
    }
}

/// PONG (server → client, request id 0): the payload of the PING it answers.
public struct Pong: FrameBody, Equatable {
    public static let frameType = FrameType.pong

    public var payload: UInt64

    public init(payload: UInt64) {
        self.payload = payload
    }

    public init(answering ping: Ping) {
        self.payload = ping.payload
    }

    public func encode(into bytes: inout [UInt8]) {
        Ping(payload: payload).encode(into: &bytes)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        do {
            payload = try Ping(decoding: body, limits: limits).payload
        } catch .wrongBodyLength(_, let length, let expected) {
            throw .wrongBodyLength(Self.frameType, length: length, expected: expected)
        }
    }
}

/// CANCEL (client → server): the header's request id names the request to cancel; empty body.
public struct Cancel: FrameBody, Equatable {
    public static let frameType = FrameType.cancel

    public init() {}

    public func encode(into _: inout [UInt8]) {}

    public init(decoding body: ArraySlice<UInt8>, limits _: ProtocolLimits) throws(ProtocolError) {
        try BodyReader(body).finish(Self.frameType)
    }
}

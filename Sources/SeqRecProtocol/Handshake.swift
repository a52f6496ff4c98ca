// HELLO and HELLO_ACK bodies (docs/PROTOCOL.md §7): version negotiation, auth token, and the
// server's limits announced to the client.

/// The protocol versions this codec implements (docs/PROTOCOL.md §3).
public enum ProtocolVersion {
    public static let minimum: UInt16 = 1
    /// Version 2 adds the extension block to RECOMMEND and RECOMMEND_RESPONSE.
    public static let maximum: UInt16 = 2
    public static let supported: ClosedRange<UInt16> = minimum...maximum
}

/// One HELLO capability; unknown keys are ignored by the server.
public struct Capability: Sendable, Equatable {
    public var key: UInt16
    public var value: UInt32

    public init(key: UInt16, value: UInt32) {
        self.key = key
        self.value = value
    }
}

/// HELLO (client → server, request id 0). The defaults make a version 1 HELLO (what every client
/// written for version 1 sends); a client that speaks version 2 passes
/// `maxVersion: ProtocolVersion.maximum`.
public struct Hello: FrameBody, Equatable {
    public static let frameType = FrameType.hello

    public var minVersion: UInt16
    public var maxVersion: UInt16
    public var capabilities: [Capability]
    /// Opaque bearer token; empty when auth is not used.
    public var authToken: [UInt8]

    public init(
        minVersion: UInt16 = ProtocolVersion.minimum, maxVersion: UInt16 = ProtocolVersion.minimum,
        capabilities: [Capability] = [], authToken: [UInt8] = []
    ) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.capabilities = capabilities
        self.authToken = authToken
    }

    public func encode(into bytes: inout [UInt8]) {
        precondition(capabilities.count <= Int(UInt16.max), "too many capabilities")
        bytes.appendU16(minVersion)
        bytes.appendU16(maxVersion)
        bytes.appendU16(UInt16(capabilities.count))
        for capability in capabilities {
            bytes.appendU16(capability.key)
            bytes.appendU32(capability.value)
        }
        bytes.appendBytes16(authToken)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        minVersion = try reader.readU16("min_version")
        maxVersion = try reader.readU16("max_version")
        guard minVersion >= 1 else { throw .invalidValue(field: "min_version", value: Int(minVersion)) }
        guard maxVersion >= minVersion else { throw .invalidValue(field: "max_version", value: Int(maxVersion)) }
        let count = try reader.readCount16(
            "capabilities", limit: ProtocolLimits.maxCapabilities, minimumElementSize: 6)
        var capabilities = [Capability]()
        capabilities.reserveCapacity(count)  // safe: count ≤ 64 and backed by body bytes
        for _ in 0..<count {
            capabilities.append(Capability(key: try reader.readU16("capability key"),
                                           value: try reader.readU32("capability value")))
        }
        self.capabilities = capabilities
        authToken = try reader.readBytes16("auth_token", maxBytes: ProtocolLimits.maxAuthTokenBytes)
        try reader.finish(Self.frameType)
    }

    /// The version the server should choose, or nil when the ranges do not overlap.
    public func negotiatedVersion(
        serverMin: UInt16 = ProtocolVersion.minimum, serverMax: UInt16 = ProtocolVersion.maximum
    ) -> UInt16? {
        let chosen = min(maxVersion, serverMax)
        return chosen >= max(minVersion, serverMin) ? chosen : nil
    }
}

/// HELLO_ACK (server → client, request id 0): the chosen version and every limit of the connection.
public struct HelloAck: FrameBody, Equatable {
    public static let frameType = FrameType.helloAck

    public var version: UInt16
    public var limits: ProtocolLimits
    public var serverID: String

    public init(version: UInt16 = ProtocolVersion.minimum, limits: ProtocolLimits = .default, serverID: String = "") {
        self.version = version
        self.limits = limits
        self.serverID = serverID
    }

    public func encode(into bytes: inout [UInt8]) {
        bytes.appendU16(version)
        for value in [
            limits.maxFrameLength, limits.maxInFlightPerConnection, limits.maxConnections,
            limits.maxSessionItems, limits.maxListItems, limits.maxK, limits.maxStringBytes,
            limits.maxMessageBytes, limits.maxEmbeddingWidth, limits.maxModels,
            limits.defaultTimeoutMicroseconds, limits.maxTimeoutMicroseconds,
        ] {
            bytes.appendU32(UInt32(clamping: value))
        }
        bytes.appendString16(serverID)
    }

    public init(decoding body: ArraySlice<UInt8>, limits _: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        version = try reader.readU16("version")
        guard version >= 1 else { throw .invalidValue(field: "version", value: 0) }
        var announced = ProtocolLimits()
        announced.maxFrameLength = Int(try reader.readU32("max_frame_length"))
        announced.maxInFlightPerConnection = Int(try reader.readU32("max_inflight_per_connection"))
        announced.maxConnections = Int(try reader.readU32("max_connections"))
        announced.maxSessionItems = Int(try reader.readU32("max_session_items"))
        announced.maxListItems = Int(try reader.readU32("max_list_items"))
        announced.maxK = Int(try reader.readU32("max_k"))
        announced.maxStringBytes = Int(try reader.readU32("max_string_bytes"))
        announced.maxMessageBytes = Int(try reader.readU32("max_message_bytes"))
        announced.maxEmbeddingWidth = Int(try reader.readU32("max_embedding_width"))
        announced.maxModels = Int(try reader.readU32("max_models"))
        announced.defaultTimeoutMicroseconds = Int(try reader.readU32("default_timeout_us"))
        announced.maxTimeoutMicroseconds = Int(try reader.readU32("max_timeout_us"))
        guard announced.maxFrameLength >= FrameHeader.minimumLength else {
            throw .invalidValue(field: "max_frame_length", value: announced.maxFrameLength)
        }
        guard announced.maxK >= 1 else { throw .invalidValue(field: "max_k", value: announced.maxK) }
        guard announced.maxStringBytes <= Int(UInt16.max) else {
            throw .invalidValue(field: "max_string_bytes", value: announced.maxStringBytes)
        }
        guard announced.maxMessageBytes <= Int(UInt16.max) else {
            throw .invalidValue(field: "max_message_bytes", value: announced.maxMessageBytes)
        }
        limits = announced
        serverID = try reader.readString16("server_id", maxBytes: ProtocolLimits.maxServerIDBytes)
        try reader.finish(Self.frameType)
    }
}

// HEALTH / HEALTH_RESPONSE (docs/PROTOCOL.md §8). Both fit constant bytes for a fixed request id
// and service, so an L4 load balancer can probe with a static byte string before any HELLO.

/// `grpc.health.v1` serving status.
public enum HealthStatus: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case serving = 1
    case notServing = 2
    case serviceUnknown = 3
}

/// HEALTH (client → server): the service is a model name, empty for the whole server.
public struct HealthRequest: FrameBody, Equatable {
    public static let frameType = FrameType.health

    public var service: String

    public init(service: String = "") {
        self.service = service
    }

    public func encode(into bytes: inout [UInt8]) {
        bytes.appendString16(service)
    }

    public init(decoding body: ArraySlice<UInt8>, limits: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        service = try reader.readString16("service", maxBytes: limits.maxStringBytes)
        try reader.finish(Self.frameType)
    }
}

/// HEALTH_RESPONSE (server → client).
public struct HealthResponse: FrameBody, Equatable {
    public static let frameType = FrameType.healthResponse

    public var status: HealthStatus

    public init(status: HealthStatus) {
        self.status = status
    }

    public func encode(into bytes: inout [UInt8]) {
        bytes.appendU8(status.rawValue)
    }

    public init(decoding body: ArraySlice<UInt8>, limits _: ProtocolLimits) throws(ProtocolError) {
        var reader = BodyReader(body)
        let raw = try reader.readU8("status")
        guard let status = HealthStatus(rawValue: raw) else { throw .invalidValue(field: "status", value: Int(raw)) }
        self.status = status
        try reader.finish(Self.frameType)
    }
}

/// The constant load-balancer probe of §8 and its answers.
public enum HealthProbe {
    /// The request id the constant probe uses.
    public static let requestID: UInt32 = 1

    /// Preface + HEALTH(id 1, service ""): what HAProxy's `tcp-check send-binary` sends.
    public static let request: [UInt8] =
        ConnectionPreface.bytes + HealthRequest().frameBytes(requestID: requestID)

    /// HEALTH_RESPONSE(id 1, SERVING): what `tcp-check expect binary` expects.
    public static let servingResponse: [UInt8] = HealthResponse(status: .serving).frameBytes(requestID: requestID)
}

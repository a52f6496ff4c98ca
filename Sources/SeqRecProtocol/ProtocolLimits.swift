// Limits of one connection (docs/PROTOCOL.md §12). The server announces all of them in HELLO_ACK;
// body decoders check every received count and length against them before allocating.

/// Configurable protocol limits; the defaults follow protocol-notes §7.
public struct ProtocolLimits: Sendable, Equatable {
    /// Largest accepted value of the header's `length` field (bytes after it).
    public var maxFrameLength: Int = 4 * 1024 * 1024
    public var maxInFlightPerConnection: Int = 128
    public var maxConnections: Int = 1024
    public var maxSessionItems: Int = 1000
    /// Bound on each of allow-list, deny-list and candidates.
    public var maxListItems: Int = 10_000
    public var maxK: Int = 1000
    /// Bound on model names, external ids, family names and health service names.
    public var maxStringBytes: Int = 256
    /// Bound on ERROR and GOAWAY messages.
    public var maxMessageBytes: Int = 1024
    public var maxEmbeddingWidth: Int = 16_384
    public var maxModels: Int = 1024
    public var defaultTimeoutMicroseconds: Int = 1_000_000
    public var maxTimeoutMicroseconds: Int = 10_000_000

    public init() {}

    public static let `default` = ProtocolLimits()

    /// Limits that are part of the wire format itself, not configurable.
    public static let maxCapabilities = 64
    public static let maxAuthTokenBytes = 256
    public static let maxServerIDBytes = 256
}

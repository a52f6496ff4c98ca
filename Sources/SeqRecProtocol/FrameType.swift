// Frame types and header flags of docs/PROTOCOL.md §4–§5, with the per-type rules the decoder
// enforces (direction, request-id kind, use of `aux`).

/// Which side may send a frame type.
public enum FrameDirection: Sendable {
    case clientToServer, serverToClient, both
}

/// The `type` byte of the frame header.
public enum FrameType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 1
    case helloAck = 2
    case recommend = 3
    case recommendResponse = 4
    case error = 5
    case ping = 6
    case pong = 7
    case goAway = 8
    case health = 9
    case healthResponse = 10
    case cancel = 11
    case modelInfo = 12
    case modelList = 13

    public var direction: FrameDirection {
        switch self {
        case .hello, .recommend, .ping, .health, .cancel, .modelInfo: .clientToServer
        case .helloAck, .recommendResponse, .error, .pong, .healthResponse, .modelList: .serverToClient
        case .goAway: .both
        }
    }

    /// Connection-level frames carry request id 0; request and response frames a non-zero id.
    public var isConnectionLevel: Bool {
        switch self {
        case .hello, .helloAck, .ping, .pong, .goAway: true
        default: false
        }
    }

    /// Frame types that open a request the server answers exactly once.
    public var opensRequest: Bool {
        switch self {
        case .recommend, .health, .modelInfo: true
        default: false
        }
    }

    /// Whether the header's `aux` field has a meaning for this type (else it must be 0).
    public var usesAux: Bool {
        switch self {
        case .recommend, .error, .goAway: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .helloAck: "HELLO_ACK"
        case .recommend: "RECOMMEND"
        case .recommendResponse: "RECOMMEND_RESPONSE"
        case .error: "ERROR"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        case .health: "HEALTH"
        case .healthResponse: "HEALTH_RESPONSE"
        case .cancel: "CANCEL"
        case .modelInfo: "MODEL_INFO"
        case .modelList: "MODEL_LIST"
        }
    }
}

/// The `flags` byte of the frame header.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Reserved for a future compressed body; must be 0 in version 1.
    public static let compressed = FrameFlags(rawValue: 1 << 0)
    /// ERROR only: the model did not run, the request may be retried elsewhere at once.
    public static let notProcessed = FrameFlags(rawValue: 1 << 1)

    /// Bits with a meaning in version 1; any other bit is a framing violation.
    public static let defined: FrameFlags = [.compressed, .notProcessed]
}

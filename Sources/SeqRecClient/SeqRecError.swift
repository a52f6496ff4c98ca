// Everything a SeqRec call can fail with, and whether retrying elsewhere is safe.
import SeqRecProtocol

public struct SeqRecError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The server answered ERROR with this status.
        case server(StatusCode)
        /// Connecting, reading or writing failed, or the connection closed with the request unanswered.
        case connection
        /// The server sent bytes that break docs/PROTOCOL.md.
        case protocolViolation
        /// The client-side deadline passed before an answer arrived.
        case deadlineExceeded
    }

    public let kind: Kind
    public let message: String
    /// The server guarantees the model did not run: retrying (here or elsewhere) is safe.
    public let notProcessed: Bool
    /// The server's advice on when to retry (0 = none).
    public let retryAfterMilliseconds: UInt32

    public init(_ kind: Kind, _ message: String, notProcessed: Bool = false, retryAfterMilliseconds: UInt32 = 0) {
        self.kind = kind
        self.message = message
        self.notProcessed = notProcessed
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// The gRPC status of a server error, nil for client-side failures.
    public var status: StatusCode? {
        if case .server(let status) = kind { return status }
        return nil
    }

    public var description: String {
        switch kind {
        case .server(let status): "\(status.name): \(message)\(notProcessed ? " (not processed)" : "")"
        case .connection: "connection error: \(message)"
        case .protocolViolation: "protocol violation: \(message)"
        case .deadlineExceeded: "deadline exceeded: \(message)"
        }
    }
}

// Everything a SeqRec call can fail with, and whether retrying elsewhere is safe. Task cancellation is
// not among them: a cancelled call throws `CancellationError`, as Swift code expects.
import SeqRecProtocol

public struct SeqRecError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The request broke a rule the client checks before sending (a limit the server announced,
        /// k out of range, mixed id spaces): nothing was sent. Fix the request; retrying cannot help.
        case invalidRequest
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
    /// The model certainly did not run for this request (the server said so, or the client never
    /// sent it): retrying, here or elsewhere, is safe.
    public let notProcessed: Bool
    /// The server's advice on when to retry (0 = none).
    public let retryAfterMilliseconds: UInt32

    public init(_ kind: Kind, _ message: String, notProcessed: Bool = false, retryAfterMilliseconds: UInt32 = 0) {
        self.kind = kind
        self.message = message
        self.notProcessed = notProcessed
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// The gRPC status of a server error, nil for failures found by the client.
    public var status: StatusCode? {
        if case .server(let status) = kind { return status }
        return nil
    }

    /// True for errors the server sent; false for the client's own (validation, connection, deadline).
    public var isServerError: Bool { status != nil }

    public var description: String {
        switch kind {
        case .invalidRequest: "invalid request (not sent): \(message)"
        case .server(let status): "\(status.name): \(message)\(notProcessed ? " (not processed)" : "")"
        case .connection: "connection error: \(message)"
        case .protocolViolation: "protocol violation: \(message)"
        case .deadlineExceeded: "deadline exceeded: \(message)"
        }
    }
}

// Why a request could not be parsed. Every parse error is answered with its status and then the
// connection is closed: after a framing error the next request's start is unknown.

public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPStatus
    /// Says what was wrong and what to do; never echoes the client's bytes beyond a short prefix.
    public var message: String

    public init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.rawValue) \(status.reasonPhrase): \(message)" }
}

// Limits of the admin listener's HTTP/1.1 codec (docs/OPERATIONS.md §3). Every length a client
// sends is checked against these before anything is allocated for it.

public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line (method, target, version) before 414.
    public var maxRequestLineBytes = 4_096
    /// Request line plus header section before 431.
    public var maxHeaderBytes = 16_384
    /// Header fields per request before 431.
    public var maxHeaderCount = 64
    /// Largest Content-Length accepted before 413.
    public var maxBodyBytes = 1 << 20
    /// Requests parsed ahead of their answers on one connection (pipelining); further bytes wait.
    public var maxPipelinedRequests = 16

    public init() {}

    public static let `default` = HTTPLimits()
}

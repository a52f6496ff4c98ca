// Counters the server keeps while running; read by tests, benchmarks and the shutdown log line.
// They live in the server core and change only under the server's lock, so counting costs no
// atomic operation; `Server.statistics` copies them.

/// A copy of the counters.
public struct ServerStatistics: Sendable, Equatable {
    /// RECOMMEND requests queued for a worker.
    public var acceptedRequests = 0
    /// RECOMMEND requests answered with a result.
    public var answeredRequests = 0
    /// RECOMMEND requests refused with RESOURCE_EXHAUSTED (queue or in-flight limit).
    public var rejectedOverload = 0
    /// Requests whose deadline passed in the queue (answered DEADLINE_EXCEEDED, model not run).
    public var expiredInQueue = 0
    /// Accepted requests still unanswered when the drain grace ran out (target: 0).
    public var abandonedAtStop = 0
    /// Model calls made, and the requests they carried.
    public var batches = 0
    public var batchedRequests = 0
    /// Connections closed because their unsent output passed the cap.
    public var slowReadersDisconnected = 0
    /// Sessions looked up in the workers' state caches (GRU and SASRec models), and those resumed from a
    /// stored window instead of computed in full.
    public var stateCacheLookups = 0
    public var stateCacheHits = 0

    public init() {}
}

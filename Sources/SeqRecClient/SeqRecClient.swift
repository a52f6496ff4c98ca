// A small pool of pipelined connections to one server, with retry of calls the server did not
// process (queue full, draining, GOAWAY): the usual entry point for applications.
import SeqRecProtocol
import Synchronization

public final class SeqRecClient: Sendable {
    public let host: String
    public let port: UInt16
    /// Attempts per call, the first included; only NOT_PROCESSED failures are retried.
    public let maxAttempts: Int
    private let connectTimeout: Duration
    private let authToken: [UInt8]
    private let slots: Mutex<[SeqRecConnection?]>

    /// Connections are opened on first use and replaced when they fail or receive GOAWAY.
    public init(host: String = "127.0.0.1", port: UInt16 = 7878, connections: Int = 2, maxAttempts: Int = 3,
                connectTimeout: Duration = .seconds(2), authToken: [UInt8] = []) {
        precondition(connections >= 1, "a client needs at least one connection")
        precondition(maxAttempts >= 1, "maxAttempts counts the first attempt and must be at least 1")
        self.host = host
        self.port = port
        self.maxAttempts = maxAttempts
        self.connectTimeout = connectTimeout
        self.authToken = authToken
        slots = Mutex(Array(repeating: nil, count: connections))
    }

    deinit { close() }

    /// Top-k recommendations; `timeout` applies to each attempt (nil = the server's default).
    public func recommend(_ request: RecommendRequest, timeout: Duration? = nil) async throws -> RecommendResponse {
        try await withRetries { try await $0.recommend(request, timeout: timeout) }
    }

    public func health(service: String = "") async throws -> HealthStatus {
        try await withRetries { try await $0.health(service: service) }
    }

    public func models(named name: String = "") async throws -> [ModelDescription] {
        try await withRetries { try await $0.models(named: name) }
    }

    /// Closes every connection; calls in flight fail.
    public func close() {
        let open = slots.withLock { slots in
            defer { slots = Array(repeating: nil, count: slots.count) }
            return slots.compactMap { $0 }
        }
        for connection in open { connection.close() }
    }

    private func withRetries<Answer>(_ call: (SeqRecConnection) async throws -> Answer) async throws -> Answer {
        var attempt = 1
        while true {
            do {
                return try await call(try connection())
            } catch let error as SeqRecError where error.notProcessed && attempt < maxAttempts {
                // Safe to repeat: the server guarantees the model did not run.
                let pause = max(UInt64(error.retryAfterMilliseconds), UInt64(attempt))
                try await Task.sleep(for: .milliseconds(pause))
                attempt += 1
            }
        }
    }

    /// The usable connection with the fewest requests in flight, opening or replacing one if needed.
    private func connection() throws(SeqRecError) -> SeqRecConnection {
        try slots.withLock { slots throws(SeqRecError) in
            for index in slots.indices where !(slots[index]?.isUsable ?? false) {
                // A connection that received GOAWAY finishes its own calls; it is only dropped here.
                slots[index] = try SeqRecConnection(host: host, port: port, connectTimeout: connectTimeout, authToken: authToken)
            }
            var best: SeqRecConnection?
            var fewest = Int.max
            for case let candidate? in slots {
                let load = candidate.inFlightCount
                if load < fewest {
                    best = candidate
                    fewest = load
                }
            }
            guard let best else { throw SeqRecError(.connection, "no connection available") }
            return best
        }
    }
}

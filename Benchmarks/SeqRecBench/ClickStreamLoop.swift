// The click-stream generator's event loop: one thread, epoll over every connection, one request in
// flight per connection; each answer sends that connection's next request at once.
import SeqRecPosix
import SeqRecProtocol

enum ClickStreamLoop {
    struct Result {
        var completed = 0
        var errors = 0
        var seconds = 0.0
        var latency = LatencyHistogram()
    }

    /// Runs `plan` to the end; `frame(session, click)` encodes a request.
    static func run(_ plan: ClickStreamPlan, host: String, port: UInt16,
                    frame: (_ session: Int, _ click: Int) throws -> [UInt8]) throws -> Result {
        let connections = try (0..<plan.connections).map { _ in try LoadConnection(host: host, port: port, maxInFlight: 1) }
        let poller = try Poller(capacity: plan.connections)
        for (token, connection) in connections.enumerated() {
            try poller.add(connection.descriptor, .readable, token: UInt64(token))
        }
        var next = [Int](repeating: 0, count: plan.connections)
        var result = Result()
        var running = 0
        func sendNext(_ lane: Int) throws {
            guard let (session, click) = plan.request(next[lane], of: lane) else { return }
            next[lane] += 1
            _ = try connections[lane].send(try frame(session, click), scheduled: monotonicNanoseconds())
            running += 1
        }
        let start = monotonicNanoseconds()
        for lane in connections.indices { try sendNext(lane) }
        var ready: [Int] = []
        while running > 0 {
            ready.removeAll(keepingCapacity: true)
            poller.wait(timeoutMilliseconds: 10_000) { ready.append(Int($0.token)) }
            if ready.isEmpty { throw LoadProtocolFailure("no answer within 10 s with \(running) requests in flight") }
            for lane in ready {
                var answered = 0
                try connections[lane].receive { completion in
                    result.latency.record(monotonicNanoseconds() &- completion.sent)
                    if !completion.succeeded { result.errors += 1 }
                    result.completed += 1
                    answered += 1
                }
                running -= answered
                for _ in 0..<answered { try sendNext(lane) }
            }
        }
        result.seconds = Double(monotonicNanoseconds() &- start) / 1e9
        return result
    }
}

/// The state-cache counters and model-call time of a server's /metrics (summed over models), read over
/// plain HTTP/1.1.
enum ServerMetrics {
    struct Counts {
        var lookups = 0
        var hits = 0
        var computeSeconds = 0.0
    }

    static func stateCache(host: String, port: UInt16) throws -> Counts {
        let socket = try Socket.connect(to: SocketAddress(host: host, port: port), timeoutMilliseconds: 5_000, nonBlocking: false)
        defer { socket.close() }
        try socket.writeAll(Array("GET /metrics HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        reading: while true {
            let read = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
            switch read {
            case .transferred(let count): bytes += buffer[0..<count]
            case .endOfFile: break reading
            case .wouldBlock: continue
            }
        }
        var counts = Counts()
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            if line.hasPrefix("seqrec_state_cache_lookups_total{") { counts.lookups += Int(value) }
            if line.hasPrefix("seqrec_state_cache_hits_total{") { counts.hits += Int(value) }
            if line.hasPrefix("seqrec_compute_seconds_sum{") { counts.computeSeconds += value }
        }
        return counts
    }
}

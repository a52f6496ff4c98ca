// The load generator's single event loop over all connections (one thread, epoll + timerfd).
//
// Open loop: request i is due at start + i / rate and goes to connection i mod N; its latency runs
// from that due time, so time spent waiting behind a slow server (or a full connection) is
// counted, never hidden. Closed loop: each connection keeps `depth` requests in flight and sends
// the next as soon as one is answered; latency runs from the actual send.
// Only requests due (open) or sent (closed) after the warm-up are recorded. The run is bounded:
// it stops sending at warm-up + duration and waits at most `drainSeconds` for the last answers.
import SeqRecPosix

public struct LoadPlan: Sendable {
    public enum Mode: Sendable, Equatable {
        case open(ratePerSecond: Double)
        case closed(depth: Int)
    }

    public var host: String
    public var port: UInt16
    public var connections: Int
    public var mode: Mode
    public var warmupSeconds: Double
    public var durationSeconds: Double
    public var drainSeconds: Double = 5
    /// Keep every measured request's due time, latency and success (`--latency-log`; the lifecycle
    /// benchmark splits them by reload windows).
    public var recordsSamples = false

    public init(host: String, port: UInt16, connections: Int, mode: Mode, warmupSeconds: Double,
                durationSeconds: Double) {
        self.host = host
        self.port = port
        self.connections = connections
        self.mode = mode
        self.warmupSeconds = warmupSeconds
        self.durationSeconds = durationSeconds
    }
}

public struct LoadResult: Sendable {
    public var plan: LoadPlan
    /// Latency from the due time (open) or the send (closed), successful answers only.
    public var latency: LatencyHistogram
    /// Latency from the actual send, successful answers only: the server's part.
    public var service: LatencyHistogram
    public var completed: Int
    public var errors: Int
    /// Requests still unanswered when the drain time ran out.
    public var unanswered: Int
    /// Answers (successful or not) that completed inside the measured window, per second.
    public var throughputPerSecond: Double
    /// Requests due in the measured window per second (open loop), else the throughput.
    public var offeredPerSecond: Double
    /// Every measured request when `plan.recordsSamples` (monotonic due time, latency in ns, success).
    public var samples: [LoadSample] = []
}

public struct LoadSample: Sendable {
    public var scheduled: UInt64
    public var latency: UInt64
    public var succeeded: Bool
}

public enum LoadGenerator {
    public static func run(_ plan: LoadPlan, frames: [[UInt8]]) throws -> LoadResult {
        precondition(plan.connections >= 1 && !frames.isEmpty, "a load run needs connections and requests")
        let depth: Int
        switch plan.mode {
        case .open: depth = 128
        case .closed(let wanted): depth = wanted
        }
        var connections: [LoadConnection] = []
        for _ in 0..<plan.connections {
            connections.append(try LoadConnection(host: plan.host, port: plan.port, maxInFlight: depth))
        }
        let poller = try Poller(capacity: plan.connections + 1)
        let timer = try DeadlineTimer()
        let timerToken = plan.connections
        for (token, connection) in connections.enumerated() {
            try poller.add(connection.descriptor, .readable, token: UInt64(token))
        }
        try poller.add(timer.descriptor, .readable, token: UInt64(timerToken))

        let start = monotonicNanoseconds() + 20_000_000
        let measureStart = start + UInt64(plan.warmupSeconds * 1e9)
        let measureEnd = measureStart + UInt64(plan.durationSeconds * 1e9)
        let giveUp = measureEnd + UInt64(plan.drainSeconds * 1e9)
        var latency = LatencyHistogram()
        var service = LatencyHistogram()
        var completed = 0, errors = 0, inWindow = 0, next = 0
        var sendFailure: (any Error)?
        var samples: [LoadSample] = []

        func record(_ completion: LoadConnection.Completion) {
            let now = monotonicNanoseconds()
            if now >= measureStart && now < measureEnd { inWindow += 1 }
            guard completion.scheduled >= measureStart && completion.scheduled < measureEnd else { return }
            if plan.recordsSamples {
                samples.append(LoadSample(scheduled: completion.scheduled, latency: now &- completion.scheduled,
                                          succeeded: completion.succeeded))
            }
            if completion.succeeded {
                completed += 1
                latency.record(now &- completion.scheduled)
                service.record(now &- completion.sent)
            } else {
                errors += 1
            }
        }

        switch plan.mode {
        case .open(let rate):
            let interval = 1e9 / rate
            let total = Int((plan.warmupSeconds + plan.durationSeconds) * rate)
            func due(_ index: Int) -> UInt64 { start + UInt64(Double(index) * interval) }
            try timer.arm(at: start)
            while monotonicNanoseconds() < giveUp {
                let now = monotonicNanoseconds()
                var stalled = false
                while next < total && due(next) <= now {
                    let connection = connections[next % plan.connections]
                    guard try connection.send(frames[next % frames.count], scheduled: due(next)) else {
                        stalled = true  // that connection is full: retry when it answers
                        break
                    }
                    next += 1
                }
                if next == total && connections.allSatisfy({ $0.inFlight == 0 }) { break }
                if next < total && !stalled { try timer.arm(at: due(next)) }
                try poller.wait(timeoutMilliseconds: 50) { event in
                    let token = Int(event.token)
                    if token == timerToken { timer.acknowledge() } else { try connections[token].receive(record) }
                }
            }
        case .closed:
            var sendTimes = 0
            func refill(_ connection: LoadConnection) throws {
                let now = monotonicNanoseconds()
                guard now < measureEnd else { return }
                while try connection.send(frames[sendTimes % frames.count], scheduled: now) { sendTimes += 1 }
            }
            for connection in connections { try refill(connection) }
            while monotonicNanoseconds() < giveUp {
                if monotonicNanoseconds() >= measureEnd && connections.allSatisfy({ $0.inFlight == 0 }) { break }
                try poller.wait(timeoutMilliseconds: 50) { event in
                    let token = Int(event.token)
                    guard token != timerToken else { return }
                    let connection = connections[token]
                    try connection.receive(record)
                    do { try refill(connection) } catch { sendFailure = error }
                }
                if let sendFailure { throw sendFailure }
            }
            next = sendTimes
        }
        let unanswered = connections.reduce(0) { $0 + $1.inFlight }
        let throughput = Double(inWindow) / plan.durationSeconds
        let offered: Double
        if case .open(let rate) = plan.mode { offered = rate } else { offered = throughput }
        return LoadResult(plan: plan, latency: latency, service: service, completed: completed,
                          errors: errors, unanswered: unanswered, throughputPerSecond: throughput,
                          offeredPerSecond: offered, samples: samples)
    }
}

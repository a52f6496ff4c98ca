// `seqrec-bench clickstream`: a shop's click streams against a running `seqrec serve`. S sessions grow
// one click at a time; each request carries the whole session (as gateways send it), round by round,
// so between two clicks of one session every other session clicks once. The sessions are spread
// over C connections, each with one request in flight (closed loop), on one epoll thread. With
// --admin-port, the server's /metrics is read before and after, and the report says how many of
// the resumable requests (every click after a session's first) the state cache resumed.
import SeqRecPosix
import SeqRecProtocol

public enum ClickStreamCommand {
    static let options: Set<String> = ["host", "port", "admin-port", "sessions", "clicks", "connections", "items",
                                       "first-item", "k", "model-name", "json", "first-session"]

    struct Report: Codable {
        var sessions: Int
        var clicks: Int
        var connections: Int
        var requests: Int
        var errors: Int
        var resumable: Int
        /// Requests whose window another session's earlier request already had: hits that are no resume.
        var repeatedWindows: Int
        /// Lookups and hits the server counted during the run (nil without --admin-port).
        var stateCacheLookups: Int?
        var stateCacheHits: Int?
        /// The server's model-call time per request (µs; nil without --admin-port).
        var computeMicrosecondsPerRequest: Double?
        var throughputRPS: Double
        var seconds: Double
        var latency: LatencySummary

        enum CodingKeys: String, CodingKey {
            case sessions, clicks, connections, requests, errors, resumable, seconds, latency
            case repeatedWindows = "repeated_windows"
            case stateCacheLookups = "state_cache_lookups", stateCacheHits = "state_cache_hits", throughputRPS = "throughput_rps"
            case computeMicrosecondsPerRequest = "compute_us_per_request"
        }
    }

    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: Self.options)
        let host = arguments.string("host", default: "127.0.0.1")
        let port = UInt16(try arguments.int("port", default: 7878, range: 1...65535))
        let adminPort = arguments.string("admin-port") == nil ? nil
            : UInt16(try arguments.int("admin-port", default: 1, range: 1...65535))
        let sessions = try arguments.int("sessions", default: 200, range: 1...1_000_000)
        let clicks = try arguments.int("clicks", default: 30, range: 1...1_000)
        let connections = try arguments.int("connections", default: 4, range: 1...1_000)
        let items = try arguments.int("items", default: 1682, range: 1...100_000_000)
        let first = try arguments.int("first-item", default: 1, range: 0...1)
        let k = try arguments.int("k", default: 10, range: 1...1_000)
        let model = arguments.string("model-name", default: "")
        // Other session numbers than an earlier run's (a warm-up) give other sessions.
        let firstSession = try arguments.int("first-session", default: 0, range: 0...1_000_000_000)

        let before = try adminPort.map { try ServerMetrics.stateCache(host: host, port: $0) }
        let plan = ClickStreamPlan(sessions: sessions, clicks: clicks, connections: min(connections, sessions))
        let run = try ClickStreamLoop.run(plan, host: host, port: port) { session, click in
            let ids = (0...click).map { ClickStreamPlan.item(session: firstSession + session, click: $0, itemCount: items, firstItem: first) }
            return RecommendRequest(session: .internal(ids), k: k, modelName: model).frameBytes(requestID: 1)
        }
        let after = try adminPort.map { try ServerMetrics.stateCache(host: host, port: $0) }
        let report = Report(
            sessions: sessions, clicks: clicks, connections: plan.connections, requests: run.completed, errors: run.errors,
            resumable: sessions * (clicks - 1),
            repeatedWindows: plan.repeatedWindows { session, click in
                ClickStreamPlan.item(session: firstSession + session, click: click, itemCount: items, firstItem: first)
            },
            stateCacheLookups: before.flatMap { b in after.map { $0.lookups - b.lookups } },
            stateCacheHits: before.flatMap { b in after.map { $0.hits - b.hits } },
            computeMicrosecondsPerRequest: before.flatMap { b in
                after.map { ($0.computeSeconds - b.computeSeconds) * 1e6 / Double(max(1, run.completed)) }
            },
            throughputRPS: Double(run.completed) / run.seconds, seconds: run.seconds, latency: run.latency.summary)
        if let path = arguments.string("json") { try ReportEncoding.write(try ReportEncoding.json([report]), to: path) }
        BenchCommandLine.printError(
            "clickstream sessions=\(sessions) clicks=\(clicks) connections=\(plan.connections): \(run.completed) requests, "
            + "throughput " + ReportEncoding.decimal(report.throughputRPS, 0) + "/s, p50 "
            + ReportEncoding.decimal(report.latency.p50) + " p99 " + ReportEncoding.decimal(report.latency.p99) + " µs"
            + (report.stateCacheHits.map { ", hits \($0) (\(report.repeatedWindows) repeated windows) of \(report.resumable) resumable" } ?? "")
            + (report.computeMicrosecondsPerRequest.map { ", server compute " + ReportEncoding.decimal($0) + " µs/request" } ?? "")
            + ", errors \(run.errors)")
        return try ReportEncoding.json([report])
    }
}

/// Which session and click each connection sends next: connection c owns sessions c, c + C, c + 2C, …
/// and sends, for each click in turn, that click of each of its sessions.
struct ClickStreamPlan {
    let sessions: Int
    let clicks: Int
    let connections: Int

    /// Session `session`'s click `click`: a SplitMix64 hash of both, so no two sessions are the same
    /// sequence (BenchSessions' linear formula repeats every itemCount sessions).
    static func item(session: Int, click: Int, itemCount: Int, firstItem: Int) -> UInt32 {
        var z = UInt64(session) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(click) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(firstItem + Int((z ^ (z >> 31)) % UInt64(itemCount)))
    }

    /// Requests whose window an earlier request of another session had.
    func repeatedWindows(_ item: (_ session: Int, _ click: Int) -> UInt32) -> Int {
        (0..<clicks).map { click in
            sessions - Set((0..<sessions).map { session in (0...click).map { item(session, $0) } }).count
        }.reduce(0, +)
    }

    func sessionCount(of connection: Int) -> Int { (sessions - connection + connections - 1) / connections }

    /// The `index`-th request of `connection` as (session, click), nil when it has sent them all.
    func request(_ index: Int, of connection: Int) -> (session: Int, click: Int)? {
        let count = sessionCount(of: connection)
        guard count > 0, index < count * clicks else { return nil }
        return (connection + (index % count) * connections, index / count)
    }
}

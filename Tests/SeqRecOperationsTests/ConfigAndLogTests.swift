// Config file merging (flags win, unknown keys named with the nearest valid key), the operations
// flags, structured log lines (JSON that parses, text), the log rate limiter, request-log
// sampling, and sd_notify over a real Unix datagram socket.
import Foundation
import Glibc
import SeqRecJSON
@testable import SeqRecOperations
import Synchronization
import Testing

@Suite struct ConfigAndLogTests {
    static let usage = """
        usage: seqrec serve [options]
          --model [NAME=]FILE      serve a model (repeatable)
          --port N                 TCP port (default 7878)
          --max-batch N            largest batch
          --kernels auto|blas      kernel path
          --verbose                a switch
          -h, --help               help
        """

    func prepare(_ arguments: [String], file: String? = nil) throws(ConfigError) -> ServeArguments.Prepared {
        try ServeArguments.prepare(arguments: arguments, serverUsage: Self.usage) { path in
            path == "c.json" ? file.map { Array($0.utf8) } : nil
        }
    }

    @Test func usageFlagsAreRead() {
        #expect(ServeArguments.flags(fromUsage: Self.usage) == ["model": true, "port": true, "max-batch": true, "kernels": true, "verbose": false])
    }

    @Test func fileSettingsComeFirstAndFlagsWin() throws {
        let file = #"{"port": 9000, "max-batch": 8, "model": ["a=x.seqrec", "b=y.seqrec"], "verbose": true, "admin-port": "off", "log-format": "json"}"#
        let prepared = try prepare(["--config", "c.json", "--port", "9100", "--log-requests", "sample:10"], file: file)
        #expect(prepared.serverArguments == ["--max-batch", "8", "--model", "a=x.seqrec", "--model", "b=y.seqrec", "--verbose", "--port", "9100"])
        #expect(prepared.operations.adminPort == nil)
        #expect(prepared.operations.logFormat == .json)
        #expect(prepared.operations.logRequests == .sample(10))
        #expect(prepared.serverSettings["port"] == .int(9100))
        #expect(prepared.serverSettings["model"] == .array([.string("a=x.seqrec"), .string("b=y.seqrec")]))
        // A --model on the command line replaces the file's list.
        let replaced = try prepare(["--config", "c.json", "--model", "z.seqrec"], file: file)
        #expect(replaced.serverArguments.filter { $0.hasSuffix(".seqrec") } == ["z.seqrec"])
        let text = ServeArguments.renderSettings(ServeArguments.effectiveSettings(prepared, server: ["workers": .int(1)]))
        let reparsed = try JSONValue.parse(Array(text.utf8))
        guard case .object(let fields) = reparsed else { Issue.record("not an object"); return }
        #expect(fields["workers"] == .int(1) && fields["admin-port"] == .string("off") && fields["log-requests"] == .string("sample:10"))
    }

    @Test func badConfigsNameTheKey() {
        let cases: [(String, String)] = [
            (#"{"max-bach": 3}"#, "unknown key 'max-bach'; did you mean 'max-batch'?"),
            (#"{"admin_port": 1}"#, "did you mean 'admin-port'?"),
            (#"{"zzzzzz": 1}"#, "unknown key 'zzzzzz'"),
            (#"{"port": true}"#, "'port' needs a string or an integer, got a boolean"),
            (#"{"verbose": 1}"#, "'verbose' is a switch"),
            (#"{"config": "x"}"#, "unknown key 'config'"),
            (#"[1]"#, "must be a JSON object"),
            (#"{"port": "#, "not valid JSON"),
            (#"{"admin-port": 70000}"#, "--admin-port must be 0...65535 or off"),
            (#"{"log-format": "xml"}"#, "--log-format must be json or text"),
        ]
        for (file, expected) in cases {
            do {
                _ = try prepare(["--config", "c.json"], file: file)
                Issue.record("\(file) was accepted")
            } catch {
                #expect(error.message.contains(expected), "\(file): \(error.message)")
            }
        }
        #expect(throws: ConfigError.self) { try prepare(["--config", "missing.json"]) }
        #expect(throws: ConfigError.self) { try prepare(["--config"]) }
        #expect(throws: ConfigError.self) { try prepare(["--log-requests", "sample:0"]) }
    }

    @Test func adminPortFollowsPortZeroUnlessGiven() throws {
        #expect(try prepare([]).operations.resolved(serverPort: 0).adminPort == 0)
        #expect(try prepare([]).operations.resolved(serverPort: 7878).adminPort == 7879)
        #expect(try prepare(["--admin-port", "7999"]).operations.resolved(serverPort: 0).adminPort == 7999)
        #expect(try prepare(["--admin-port", "off"]).operations.resolved(serverPort: 0).adminPort == nil)
    }

    @Test func exposureWarning() {
        var options = OperationsOptions()
        #expect(!options.isExposedWithoutToken(tokenConfigured: false))
        options.adminHost = "0.0.0.0"
        #expect(options.isExposedWithoutToken(tokenConfigured: false))
        #expect(!options.isExposedWithoutToken(tokenConfigured: true))
        options.adminPort = nil
        #expect(!options.isExposedWithoutToken(tokenConfigured: false))
    }

    @Test func logLinesParseAsJSONAndReadAsText() throws {
        let lines = Mutex<[String]>([])
        let log = OperationsLog(format: .json, sink: { line in lines.withLock { $0.append(line) } }, clock: { 1_764_655_238.5 })
        log.log(.info, "model_loaded", [("model", .string("sa\"s\nrec")), ("version", .int(2)), ("load_s", .double(0.25)), ("warm", .bool(true))])
        let line = try #require(lines.withLock { $0.first })
        #expect(line == #"{"ts":"2025-12-02T06:00:38.500Z","level":"info","event":"model_loaded","model":"sa\"s\nrec","version":2,"load_s":0.25,"warm":true}"# + "\n")
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(parsed?["model"] as? String == "sa\"s\nrec")
        #expect(OperationsLog.render(format: .text, time: 0, level: .warning, event: "drain", fields: [("reason", .string("signal 15")), ("delay_ms", .int(5))])
                == "1970-01-01T00:00:00.000Z warning drain reason=\"signal 15\" delay_ms=5\n")
    }

    @Test func rateLimiterAdmitsABurstThenCountsWhatItDrops() {
        let limiter = LogRateLimiter(burst: 2, intervalSeconds: 1)
        let second: UInt64 = 1_000_000_000
        #expect(limiter.admit(now: 10 * second) == 0)
        #expect(limiter.admit(now: 10 * second + 1) == 0)
        #expect(limiter.admit(now: 10 * second + 2) == nil)
        #expect(limiter.admit(now: 10 * second + 3) == nil)
        #expect(limiter.admit(now: 11 * second + 3) == 2)
        #expect(limiter.admit(now: 11 * second + 4) == 0)
    }

    @Test func requestLogPolicies() {
        #expect(RequestLogPolicy("sample:3") == .sample(3))
        #expect(RequestLogPolicy("sample:") == nil && RequestLogPolicy("some") == nil)
        let sample = RequestLogPolicy.sample(3)
        #expect((0..<9).filter { sample.shouldLog(ordinal: UInt64($0), failed: false) } == [0, 3, 6])
        #expect(sample.shouldLog(ordinal: 1, failed: true))
        #expect(!RequestLogPolicy.errors.shouldLog(ordinal: 0, failed: false))
        #expect(!RequestLogPolicy.off.shouldLog(ordinal: 0, failed: true))
    }

    @Test func notifierSendsDatagramsToNotifySocket() throws {
        let path = NSTemporaryDirectory() + "seqrec-notify-\(getpid()).sock"
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": path])
        try notifier.notify("READY=1")
        try notifier.notify("STOPPING=1")
        var buffer = [UInt8](repeating: 0, count: 64)
        let first = recv(fd, &buffer, 64, Int32(MSG_DONTWAIT))
        #expect(String(decoding: buffer[0..<max(0, first)], as: UTF8.self) == "READY=1")
        let second = recv(fd, &buffer, 64, Int32(MSG_DONTWAIT))
        #expect(String(decoding: buffer[0..<max(0, second)], as: UTF8.self) == "STOPPING=1")
        // Not under systemd: nothing to do, no error.
        try ServiceNotifier(environment: [:]).notify("READY=1")
        #expect(throws: ServiceNotifier.NotifyError.self) { try ServiceNotifier(environment: ["NOTIFY_SOCKET": "relative"]).notify("READY=1") }
    }
}

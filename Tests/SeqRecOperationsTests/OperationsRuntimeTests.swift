// The runtime as the server drives it: admin port up on request (off when configured so), the
// exposure warning, life-event lines that parse as JSON, request lines by policy with no session
// data, and rate-limited bad-input lines.
import Foundation
import Synchronization
import Testing
@testable import SeqRecOperations

@Suite(.serialized) struct OperationsRuntimeTests {
    final class Lines: Sendable {
        let value = Mutex<[String]>([])
        func append(_ line: String) { value.withLock { $0.append(line) } }
    }

    static func runtime(_ configure: (inout OperationsOptions) -> Void) -> (OperationsRuntime, Lines) {
        let lines = Lines()
        var options = OperationsOptions()
        options.logFormat = .json
        options.adminPort = 0
        configure(&options)
        let log = OperationsLog(format: .json, sink: { line in lines.append(line) })
        return (OperationsRuntime(options: options, environment: [:], build: BuildInfo(version: "t", kernels: "auto"), log: log), lines)
    }

    static func events(_ lines: Lines) throws -> [[String: Any]] {
        try lines.value.withLock { $0 }.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func adminPortLifeEventsAndWarnings() throws {
        let (runtime, lines) = Self.runtime { $0.adminHost = "0.0.0.0" }
        let port = try #require(try runtime.startAdmin(services: FakeServices(), token: nil))
        defer { runtime.stopAdmin() }
        let client = try RawClient(port: port)
        try client.send("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.responses(1).first?.hasSuffix("ready\n") == true)
        runtime.ready(port: 7878, adminPort: port, models: ["a", "b"])
        runtime.draining(signal: 15, delayMilliseconds: 5, graceMilliseconds: 20)
        let events = try Self.events(lines)
        #expect(events.map { $0["event"] as? String } == ["config_warning", "ready", "drain"])
        #expect(events[1]["models"] as? String == "a,b")
        #expect(events[2]["level"] as? String == "warning")
    }

    @Test func adminPortOffStartsNothing() throws {
        let (runtime, _) = Self.runtime { $0.adminPort = nil }
        #expect(try runtime.startAdmin(services: FakeServices(), token: nil) == nil)
    }

    @Test func requestLinesFollowThePolicy() throws {
        let (runtime, lines) = Self.runtime { $0.logRequests = .sample(2) }
        for id in 0..<4 {
            runtime.requestFinished(requestID: UInt64(id), transport: "binary", model: "m", version: 1,
                                    status: id == 3 ? .notFound : .ok, durationNanoseconds: 1_500_000)
        }
        let events = try Self.events(lines)
        #expect(events.map { $0["request_id"] as? Int } == [0, 2, 3])
        #expect(events[2]["status"] as? String == "NOT_FOUND" && events[0]["duration_s"] as? Double == 0.0015)
        #expect(Set(events[0].keys) == ["ts", "level", "event", "request_id", "transport", "model", "version", "status", "duration_s"])
    }

    @Test func badInputLinesAreRateLimited() throws {
        let (runtime, lines) = Self.runtime { _ in }
        for _ in 0..<100 { runtime.badHTTP(status: .badRequest, message: "x") }
        for _ in 0..<100 { runtime.badFrame(message: "y") }
        let events = try Self.events(lines)
        #expect(events.count == 10)
    }
}

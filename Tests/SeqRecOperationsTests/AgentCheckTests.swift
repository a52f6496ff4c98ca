// HAProxy agent-check (`--agent-port`, docs/DEPLOY.md): one line per connection, "ready" or "drain"
// as the readiness is at that moment, then close; the flag and its config key.
import Foundation
import SeqRecPosix
import Synchronization
import Testing
@testable import SeqRecOperations

@Suite struct AgentCheckTests {
    /// Everything the agent port sends on one connection, up to its close.
    private func agentLine(port: UInt16) throws -> String {
        let socket = try Socket.connect(to: try SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 2_000,
                                        nonBlocking: false)
        defer { socket.close() }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while try socket.poll(.readable, timeoutMilliseconds: 5_000) {
            let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
            guard case .transferred(let count) = result, count > 0 else { break }
            received += buffer[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func linesFollowReadiness() {
        #expect(AgentCheckListener.line(for: Readiness(ready: true)) == "ready\n")
        #expect(AgentCheckListener.line(for: Readiness(ready: false, reason: "draining")) == "drain\n")
        #expect(AgentCheckListener.line(for: Readiness(ready: false, reason: "loading model m")) == "drain\n")
    }

    @Test func answersEachConnectionWithTheCurrentStateThenCloses() throws {
        let services = FakeServices()
        let listener = try AgentCheckListener(host: "127.0.0.1", port: 0) { services.readiness() }
        listener.start()
        defer { listener.stop() }
        #expect(listener.port != 0)
        #expect(try agentLine(port: listener.port) == "ready\n")
        #expect(try agentLine(port: listener.port) == "ready\n")
        services.ready.withLock { $0 = Readiness(ready: false, reason: "draining") }
        #expect(try agentLine(port: listener.port) == "drain\n")
    }

    @Test func stopClosesThePort() throws {
        let listener = try AgentCheckListener(host: "127.0.0.1", port: 0) { Readiness(ready: true) }
        listener.start()
        let port = listener.port
        listener.stop()
        #expect(throws: SystemError.self) {
            _ = try Socket.connect(to: try SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 1_000,
                                   nonBlocking: false)
        }
    }

    @Test func flagAndConfigKey() throws {
        let usage = "  --port N                 port\n"
        func prepare(_ arguments: [String]) throws(ConfigError) -> ServeArguments.Prepared {
            try ServeArguments.prepare(arguments: arguments, serverUsage: usage) { _ in nil }
        }
        #expect(try prepare([]).operations.agentPort == nil)
        #expect(try prepare(["--agent-port", "7880"]).operations.agentPort == 7880)
        #expect(try prepare(["--agent-port", "off"]).operations.agentPort == nil)
        #expect(throws: ConfigError.self) { try prepare(["--agent-port", "70000"]) }
        #expect(try prepare(["--agent-port", "0"]).operations.settings["agent-port"] == .int(0))
    }
}

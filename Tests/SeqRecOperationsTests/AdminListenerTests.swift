// The admin listener over loopback: keep-alive, pipelining, slowloris (408 at the receive
// deadline while other clients are served), garbage, the connection cap, and answers that finish
// on another thread.
import Foundation
import SeqRecPosix
import Testing
@testable import SeqRecOperations

/// A blocking test client that reads whole responses by their Content-Length.
final class RawClient {
    let socket: Socket
    var received: [UInt8] = []

    init(port: UInt16) throws {
        socket = try Socket.connect(to: try SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 2_000, nonBlocking: false)
    }

    func send(_ text: String) throws { try socket.writeAll(Array(text.utf8)) }

    /// Reads until `count` complete responses arrived (or EOF/timeout); returns their texts.
    func responses(_ count: Int, timeoutMilliseconds: Int32 = 5_000) throws -> [String] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let parsed = Self.split(received)
            if parsed.count >= count { return parsed }
            guard try socket.poll(.readable, timeoutMilliseconds: timeoutMilliseconds) else { return parsed }
            let result = try buffer.withUnsafeMutableBytes { raw throws(SystemError) in try socket.read(into: raw) }
            guard case .transferred(let n) = result else { return parsed }
            received += buffer[0..<n]
        }
    }

    /// True when the server closed the connection within the timeout.
    func closedByServer(timeoutMilliseconds: Int32 = 5_000) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while try socket.poll(.readable, timeoutMilliseconds: timeoutMilliseconds) {
            let result = try buffer.withUnsafeMutableBytes { raw throws(SystemError) in try socket.read(into: raw) }
            switch result {
            case .endOfFile: return true
            case .transferred(let n): received += buffer[0..<n]
            case .wouldBlock: continue
            }
        }
        return false
    }

    static func split(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var rest = bytes[...]
        while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingSpaces) } ?? 0
            let bodyEnd = end.upperBound + length  // the tests send no HEAD requests
            guard rest.endIndex >= bodyEnd else { break }
            out.append(String(decoding: rest[rest.startIndex..<bodyEnd], as: UTF8.self))
            rest = rest[bodyEnd...]
        }
        return out
    }
}

@Suite(.serialized) struct AdminListenerTests {
    static func listener(_ services: FakeServices, configure: (inout AdminListenerConfiguration) -> Void = { _ in },
                         registry: MetricsRegistry = MetricsRegistry()) throws -> AdminListener {
        var configuration = AdminListenerConfiguration()
        configuration.port = 0
        configure(&configuration)
        let router = AdminRouter(services: services, registry: registry, build: BuildInfo(version: "t", kernels: "auto"),
                                 authorization: AdminAuthorization(token: nil))
        let listener = try AdminListener(configuration: configuration, router: router, metrics: registry.makeWriter(name: "admin"))
        listener.start()
        return listener
    }

    @Test func keepAliveAndPipeliningAnswerInOrder() throws {
        let registry = MetricsRegistry()
        let listener = try Self.listener(FakeServices(), registry: registry)
        defer { listener.stop() }
        let client = try RawClient(port: listener.port)
        try client.send("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.responses(1).first?.hasPrefix("HTTP/1.1 200 OK\r\n") == true)
        // Pipelined: a slow (asynchronous) recommend between two probes keeps its place.
        let body = #"{"session":[3,4],"k":1}"#
        try client.send("POST /v1/models/sasrec/recommend HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            + "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/nothing HTTP/1.1\r\nHost: a\r\n\r\n")
        let answers = try client.responses(4)
        #expect(answers.count == 4)
        #expect(answers[1].hasSuffix(#"{"model":"sasrec","version":2,"fallback":false,"items":[{"id":4,"score":1.1}]}"# + "\n"))
        #expect(answers[2].hasSuffix("\r\n\r\nready\n"))
        #expect(answers[3].hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(registry.snapshot().adminResponses(.ok) == 3)
        #expect(registry.snapshot().adminResponses(.notFound) == 1)
    }

    @Test func slowlorisGets408WhileOthersAreServed() throws {
        let listener = try Self.listener(FakeServices()) { $0.receiveTimeoutMilliseconds = 300 }
        defer { listener.stop() }
        let slow = try RawClient(port: listener.port)
        try slow.send("GET /livez HTTP/1.1\r\nHost")
        let started = MonotonicClock.now()
        for _ in 0..<3 {
            let other = try RawClient(port: listener.port)
            try other.send("GET /livez HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            #expect(try other.responses(1).first?.hasPrefix("HTTP/1.1 200 OK") == true)
        }
        #expect(try slow.closedByServer())
        let elapsed = Double(MonotonicClock.now() - started) / 1e9
        #expect(elapsed >= 0.25 && elapsed < 3, "closed after \(elapsed) s")
        #expect(String(decoding: slow.received, as: UTF8.self).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
    }

    @Test func garbageIsAnsweredAndClosed() throws {
        let reports = Counter()
        var configuration = AdminListenerConfiguration()
        configuration.port = 0
        let registry = MetricsRegistry()
        let router = AdminRouter(services: FakeServices(), registry: registry, build: BuildInfo(version: "t", kernels: "a"),
                                 authorization: AdminAuthorization(token: nil))
        let listener = try AdminListener(configuration: configuration, router: router, metrics: registry.makeWriter(name: "a"),
                                         onBadRequest: { _, _ in reports.increment() })
        listener.start()
        defer { listener.stop() }
        for wire in ["\u{16}\u{03}\u{01}\u{00}garbage", "POST /v1/models/sasrec/recommend HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"] {
            let client = try RawClient(port: listener.port)
            try client.send(wire)
            #expect(try client.closedByServer())
            let text = String(decoding: client.received, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400 ") || text.hasPrefix("HTTP/1.1 501 "), "\(text)")
        }
        #expect(reports.value == 2)
        #expect(registry.snapshot().adminResponses(.badRequest) == 1)
        #expect(registry.snapshot().adminResponses(.notImplemented) == 1)
    }

    @Test func connectionsBeyondTheCapAreClosed() throws {
        let listener = try Self.listener(FakeServices()) { $0.maxConnections = 2 }
        defer { listener.stop() }
        let first = try RawClient(port: listener.port), second = try RawClient(port: listener.port)
        try first.send("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n")
        try second.send("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try first.responses(1).count == 1 && second.responses(1).count == 1)
        let third = try RawClient(port: listener.port)
        #expect(try third.closedByServer())
        #expect(listener.openConnections == 2)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

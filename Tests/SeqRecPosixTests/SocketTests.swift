// The system layer over loopback: addresses, listen/connect/accept, non-blocking reads and writes,
// the poller's tokens, the wakeup event, the deadline timer and the clock.
import Glibc
import Testing
@testable import SeqRecPosix

@Suite struct SocketTests {
    @Test func addressesAcceptLiteralsOnly() throws {
        #expect(try SocketAddress(host: "127.0.0.1", port: 80).description == "127.0.0.1:80")
        #expect(try SocketAddress(host: "::1", port: 9).description == "[::1]:9")
        #expect(try SocketAddress(host: "localhost", port: 1).family == AF_INET)
        for host in ["", "example.com", "1.2.3", "300.1.1.1", "::g"] {
            #expect(throws: SystemError.self) { try SocketAddress(host: host, port: 1) }
            do { _ = try SocketAddress(host: host, port: 1) } catch {
                #expect(error.code == EINVAL)
                #expect(error.description.contains("'\(host)'"))
            }
        }
    }

    @Test func loopbackRoundTripWithPollerTokens() throws {
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), backlog: 8)
        let port = try listener.localPort()
        #expect(port != 0)
        #expect(try listener.accept() == nil)  // nothing pending: non-blocking

        let client = try Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 2_000,
                                        nonBlocking: true)
        let poller = try Poller(capacity: 4)
        try poller.add(listener.descriptor, .readable, token: 7)
        var seen: [ReadyEvent] = []
        poller.wait(timeoutMilliseconds: 2_000) { seen.append($0) }
        #expect(seen.map(\.token) == [7])
        let server = try #require(try listener.accept())

        try poller.add(server.descriptor, .readable, token: 42)
        try client.writeAll(Array("hello".utf8))
        seen.removeAll()
        poller.wait(timeoutMilliseconds: 2_000) { seen.append($0) }
        let event = try #require(seen.first { $0.token == 42 })
        #expect(event.readable && !event.failed)

        var buffer = [UInt8](repeating: 0, count: 16)
        let result = try buffer.withUnsafeMutableBytes { try server.read(into: $0) }
        #expect(result == .transferred(5))
        #expect(Array(buffer[0..<5]) == Array("hello".utf8))
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .wouldBlock)

        client.shutdown(.write)
        #expect(try server.poll(.readable, timeoutMilliseconds: 2_000))
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .endOfFile)
        poller.remove(server.descriptor)
        server.close()
        #expect(server.descriptor == -1)
        server.close()  // idempotent
    }

    @Test func connectingToAClosedPortNamesTheAddress() throws {
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), backlog: 1)
        let port = try listener.localPort()
        listener.close()
        do {
            _ = try Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 2_000,
                                   nonBlocking: false)
            Issue.record("connect to a closed port succeeded")
        } catch {
            #expect(error.code == ECONNREFUSED)
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
    }

    @Test func bindingAPortInUseFails() throws {
        let first = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), backlog: 1)
        let port = try first.localPort()
        #expect(throws: SystemError.self) { try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: port), backlog: 1) }
    }

    @Test func wakeupEventIsReadableUntilReset() throws {
        let wakeup = try WakeupEvent()
        let poller = try Poller()
        try poller.add(wakeup.descriptor, .readable, token: 1)
        #expect(poller.wait(timeoutMilliseconds: 0) { _ in } == 0)
        wakeup.signal()
        wakeup.signal()
        #expect(poller.wait(timeoutMilliseconds: 0) { _ in } == 1)
        wakeup.reset()
        #expect(poller.wait(timeoutMilliseconds: 0) { _ in } == 0)
    }

    @Test func deadlineTimerFiresAtTheArmedTime() throws {
        let timer = try DeadlineTimer()
        let poller = try Poller()
        try poller.add(timer.descriptor, .readable, token: 3)
        let start = MonotonicClock.now()
        try timer.arm(at: start + 2_000_000)
        #expect(poller.wait(timeoutMilliseconds: 2_000) { _ in } == 1)
        #expect(MonotonicClock.now() >= start + 2_000_000)
        timer.acknowledge()
        #expect(poller.wait(timeoutMilliseconds: 0) { _ in } == 0)
    }

    @Test func clockIsMonotonicAndSleepReachesTheDeadline() {
        let start = MonotonicClock.now()
        MonotonicClock.sleep(until: start + 1_000_000)
        #expect(MonotonicClock.now() >= start + 1_000_000)
        MonotonicClock.sleep(until: 0)  // in the past: returns at once
    }
}

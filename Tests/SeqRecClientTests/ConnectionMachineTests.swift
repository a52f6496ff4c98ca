// The connection state machine byte by byte: handshake, limits, GOAWAY, failure, deadlines.
import SeqRecProtocol
import Testing
@testable import SeqRecClient

@Suite struct ConnectionMachineTests {
    typealias Machine = ConnectionMachine<Int>

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    func openMachine(maxInFlight: Int = 128) -> Machine {
        var machine = Machine(hello: Hello(maxVersion: ProtocolVersion.maximum), handshakeDeadline: 1_000, waiter: 0)
        _ = machine.connected()
        _ = machine.receive(limits(maxInFlight: maxInFlight).frameBytes(requestID: 0), now: 0)
        return machine
    }

    func request(timeoutNanoseconds: UInt64? = 5_000_000, localDeadline: UInt64 = 1_000_000_000) -> Machine.Request {
        Machine.Request(frame: RecommendRequest(session: .internal([1]), k: 1).frameBytes(requestID: 0),
                        serverBudget: timeoutNanoseconds, localDeadline: localDeadline)
    }

    @Test func handshakeSendsThePrefaceAndHelloAndAdoptsTheAnnouncedLimits() throws {
        var machine = Machine(hello: Hello(maxVersion: ProtocolVersion.maximum), handshakeDeadline: 1_000, waiter: 42)
        #expect(machine.phase == .connecting)
        let opening = machine.connected()
        // docs/PROTOCOL.md appendix A: the preface, then HELLO 1…2 without capabilities or token.
        #expect(opening.output == ConnectionPreface.bytes + Self.hex("000000140100000000000000000000000001000200000000"))
        let ack = limits(maxInFlight: 7).frameBytes(requestID: 0)
        for byte in ack.dropLast() {
            let step = machine.receive([byte], now: 1)
            #expect(step.completions.isEmpty && step.output.isEmpty)
        }
        let done = machine.receive([ack.last!], now: 1)
        #expect(done.completions.map(\.waiter) == [42])
        #expect(machine.phase == .open)
        #expect(machine.limits.maxInFlightPerConnection == 7)
        #expect(machine.serverID == "in-memory")
    }

    @Test func aHandshakeRefusedWithGoAwayFailsWithTheServerStatus() {
        var machine = Machine(hello: Hello(authToken: [1]), handshakeDeadline: 1_000, waiter: 1)
        _ = machine.connected()
        let step = machine.receive(GoAway(status: .unauthenticated, message: "bad token").frameBytes(requestID: 0), now: 1)
        #expect(step.closeTransport)
        guard case .failure(let error) = step.completions.first?.outcome else {
            Issue.record("handshake not failed")
            return
        }
        #expect(error.status == .unauthenticated)
        #expect(error.message.contains("bad token"))
    }

    @Test func aHandshakeWithoutAnswerTimesOut() {
        var machine = Machine(hello: Hello(maxVersion: ProtocolVersion.maximum), handshakeDeadline: 1_000, waiter: 1)
        _ = machine.connected()
        #expect(machine.nextDeadline == 1_000)
        #expect(machine.expire(now: 999).completions.isEmpty)
        let step = machine.expire(now: 1_000)
        #expect(step.closeTransport)
        guard case .failure(let error) = step.completions.first?.outcome else {
            Issue.record("handshake did not time out")
            return
        }
        #expect(error.kind == .connection)
    }

    @Test func requestsGetDistinctIDsAndTheRemainingBudgetInAux() throws {
        var machine = openMachine(maxInFlight: 1)
        let (first, sent) = machine.register(request(timeoutNanoseconds: 500_000_000), now: 0, waiter: 1)
        let sentFrame = try #require(try FrameDecoderHelper.frames(sent.output).first)
        #expect(sentFrame.header.requestID == (try first.get()))
        #expect(sentFrame.header.aux == 500_000)
        // The second waits for the slot; 100 ms later it leaves with 400 ms of its budget.
        let (second, queued) = machine.register(request(timeoutNanoseconds: 500_000_000), now: 0, waiter: 2)
        #expect(queued.output.isEmpty)
        #expect(try second.get() != (try first.get()))
        let answered = machine.receive(responseFrame(id: try first.get(), items: [2]), now: 100_000_000)
        #expect(answered.completions.map(\.waiter) == [1])
        let next = try #require(try FrameDecoderHelper.frames(answered.output).first)
        #expect(next.header.requestID == (try second.get()))
        #expect(next.header.aux == 400_000)
    }

    @Test func aQueuedRequestWhoseDeadlinePassesIsNeverSent() throws {
        var machine = openMachine(maxInFlight: 1)
        let (first, _) = machine.register(request(localDeadline: 10_000_000_000), now: 0, waiter: 1)
        _ = machine.register(request(localDeadline: 50_000_000), now: 0, waiter: 2)
        #expect(machine.nextDeadline == 50_000_000)
        let expired = machine.expire(now: 50_000_000)
        #expect(expired.output.isEmpty)
        guard case .failure(let error) = expired.completions.first?.outcome, expired.completions.first?.waiter == 2 else {
            Issue.record("queued request not expired")
            return
        }
        #expect(error.kind == .deadlineExceeded && error.notProcessed)
        let answered = machine.receive(responseFrame(id: try first.get(), items: [2]), now: 60_000_000)
        #expect(answered.output.isEmpty, "the expired request was sent after all")
        #expect(machine.inFlightCount == 0)
    }

    @Test func anAnswerForARequestNotInFlightIsAProtocolViolation() {
        var machine = openMachine()
        _ = machine.register(request(), now: 0, waiter: 1)
        let step = machine.receive(responseFrame(id: 999, items: [1]), now: 1)
        #expect(step.closeTransport)
        guard case .failure(let error) = step.completions.first?.outcome else {
            Issue.record("waiter not failed")
            return
        }
        #expect(error.kind == .protocolViolation)
        #expect(!machine.isUsable)
    }

    @Test func aBrokenFrameFromTheServerClosesTheConnection() {
        var machine = openMachine()
        _ = machine.register(request(), now: 0, waiter: 1)
        // A RECOMMEND (client → server type) arriving at the client is a framing violation.
        let step = machine.receive(RecommendRequest(session: .internal([1])).frameBytes(requestID: 1), now: 1)
        #expect(step.closeTransport)
        guard case .failure(let error) = step.completions.first?.outcome else {
            Issue.record("waiter not failed")
            return
        }
        #expect(error.kind == .protocolViolation)
    }
}

/// Splits bytes the client wrote after its handshake into frames, as the server's decoder sees them.
enum FrameDecoderHelper {
    static func frames(_ bytes: [UInt8]) throws -> [Frame] {
        var server = FrameDecoder(role: .server)
        server.feed(ConnectionPreface.bytes + Hello().frameBytes(requestID: 0) + bytes)
        var frames: [Frame] = []
        while let frame = try server.next() {
            frames.append(Frame(header: frame.header, body: ArraySlice(Array(frame.body))))
        }
        return Array(frames.dropFirst())  // the HELLO added above
    }
}

// One load-generator connection to `seqrec serve`: handshake, pre-encoded RECOMMEND frames sent
// with a reusable buffer, and a table of in-flight requests (slot = request id − 1) holding the
// time each request was due and the time it was sent.
import SeqRecPosix
import SeqRecProtocol

final class LoadConnection {
    struct Completion {
        var scheduled: UInt64
        var sent: UInt64
        var succeeded: Bool
    }

    /// Non-blocking: receives never wait; `writeAll` waits for room, so sends block.
    private let socket: Socket
    private var decoder = FrameDecoder(role: .client)
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)
    private var sendBuffer: [UInt8] = []
    private var freeSlots: [Int]
    private var scheduledAt: [UInt64]
    private var sentAt: [UInt64]
    private var busy: [Bool]
    let maxInFlight: Int
    var descriptor: Int32 { socket.descriptor }
    var inFlight: Int { maxInFlight - freeSlots.count }

    /// Connects and completes the HELLO / HELLO_ACK handshake (waiting at most 5 s).
    init(host: String, port: UInt16, maxInFlight wanted: Int) throws {
        socket = try Socket.connect(to: SocketAddress(host: host, port: port), timeoutMilliseconds: 5_000, nonBlocking: true)
        var opening = ConnectionPreface.bytes
        Hello().encodeFrame(requestID: 0, into: &opening)
        try socket.writeAll(opening)
        let deadline = monotonicNanoseconds() + 5_000_000_000
        var acknowledgement: HelloAck?
        while acknowledgement == nil {
            let count = try Self.receiveAvailable(socket, into: &readBuffer)
            if count > 0 {
                decoder.feed(readBuffer[0..<count])
                if let frame = try decoder.next() {
                    guard frame.header.type == .helloAck else {
                        throw LoadProtocolFailure("expected HELLO_ACK, got \(frame.header.type)")
                    }
                    acknowledgement = try frame.decode(HelloAck.self)
                }
            } else if monotonicNanoseconds() > deadline {
                throw LoadProtocolFailure("no HELLO_ACK within 5 s")
            } else {
                sleepUntil(nanoseconds: monotonicNanoseconds() + 200_000)
            }
        }
        maxInFlight = max(1, min(wanted, acknowledgement!.limits.maxInFlightPerConnection))
        freeSlots = Array((0..<maxInFlight).reversed())
        scheduledAt = [UInt64](repeating: 0, count: maxInFlight)
        sentAt = [UInt64](repeating: 0, count: maxInFlight)
        busy = [Bool](repeating: false, count: maxInFlight)
    }

    /// Sends `frame` (a complete RECOMMEND frame; its request id is overwritten) now. Returns
    /// false, sending nothing, when the connection already has `maxInFlight` requests out.
    func send(_ frame: [UInt8], scheduled: UInt64) throws -> Bool {
        guard let slot = freeSlots.popLast() else { return false }
        sendBuffer.removeAll(keepingCapacity: true)
        sendBuffer.append(contentsOf: frame)
        let id = UInt32(slot + 1)
        // Header bytes 8..<12 are the big-endian request id (docs/PROTOCOL.md §4).
        sendBuffer[8] = UInt8(truncatingIfNeeded: id >> 24)
        sendBuffer[9] = UInt8(truncatingIfNeeded: id >> 16)
        sendBuffer[10] = UInt8(truncatingIfNeeded: id >> 8)
        sendBuffer[11] = UInt8(truncatingIfNeeded: id)
        busy[slot] = true
        scheduledAt[slot] = scheduled
        sentAt[slot] = monotonicNanoseconds()
        try socket.writeAll(sendBuffer)
        return true
    }

    /// Reads what is available into `readBuffer` without waiting: the byte count, 0 if nothing is
    /// ready. A closed peer is an error (the generator never closes first while requests run).
    private static func receiveAvailable(_ socket: Socket, into readBuffer: inout [UInt8]) throws -> Int {
        let result = try readBuffer.withUnsafeMutableBytes { buffer in try socket.read(into: buffer) }
        switch result {
        case .transferred(let count): return count
        case .wouldBlock: return 0
        case .endOfFile: throw LoadProtocolFailure("the server closed the connection")
        }
    }

    /// Reads whatever has arrived and reports each answered request.
    func receive(_ completed: (Completion) -> Void) throws {
        while true {
            let count = try Self.receiveAvailable(socket, into: &readBuffer)
            if count == 0 { return }
            decoder.feed(readBuffer[0..<count])
            while let frame = try decoder.next() {
                switch frame.header.type {
                case .recommendResponse, .error:
                    let slot = Int(frame.header.requestID) - 1
                    guard slot >= 0, slot < maxInFlight, busy[slot] else {
                        throw LoadProtocolFailure("answer for request id \(frame.header.requestID), which is not in flight")
                    }
                    busy[slot] = false
                    freeSlots.append(slot)
                    completed(Completion(scheduled: scheduledAt[slot], sent: sentAt[slot],
                                         succeeded: frame.header.type == .recommendResponse))
                case .goAway:
                    let goAway = try frame.decode(GoAway.self)
                    throw LoadProtocolFailure("server sent GOAWAY \(goAway.status): \(goAway.message)")
                default:
                    continue
                }
            }
        }
    }
}

public struct LoadProtocolFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

// Starts a real server on an ephemeral loopback port in this process, and a raw frame-level client
// for tests that must send exactly chosen (or broken) bytes.
import Foundation
import SeqRecClient
import SeqRecPosix
import SeqRecProtocol
@testable import SeqRecServer

final class TestServer: @unchecked Sendable {
    let server: Server
    private let finished = DispatchSemaphore(value: 0)

    init(backends: [any InferenceBackend], _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.workers = 2
        configuration.drainDelayMilliseconds = 0
        configuration.drainGraceMilliseconds = 5_000
        // Generous deadlines: a loaded CI machine must not turn answers into DEADLINE_EXCEEDED.
        configuration.maxTimeoutMicroseconds = 60_000_000
        configuration.defaultTimeoutMicroseconds = 30_000_000
        configure(&configuration)
        server = try Server(configuration: configuration, backends: backends)
        let thread = Thread { [server, finished] in
            do {
                try server.run()
            } catch {
                print("test server stopped with \(error)")
            }
            finished.signal()
        }
        thread.start()
    }

    var port: UInt16 { server.port }

    /// Drains and waits for the server to stop (it must within `seconds`).
    @discardableResult
    func stop(within seconds: Double = 10) -> Bool {
        server.drain()
        return finished.wait(timeout: .now() + seconds) == .success
    }

    /// Waits for `run()` to return without asking for it.
    func waitForExit(within seconds: Double) -> Bool {
        finished.wait(timeout: .now() + seconds) == .success
    }
}

/// A blocking frame-level client: sends raw bytes, reads whole frames.
final class RawClient: @unchecked Sendable {
    let socket: Socket
    private var decoder: FrameDecoder
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1_024, alignment: 1)

    init(port: UInt16) throws {
        socket = try Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), timeoutMilliseconds: 2_000,
                                    nonBlocking: false)
        var limits = ProtocolLimits()
        limits.maxFrameLength = 64 * 1_024 * 1_024
        decoder = FrameDecoder(role: .client, limits: limits)
    }

    deinit { buffer.deallocate() }

    func send(_ bytes: [UInt8]) throws { try socket.writeAll(bytes) }

    /// Preface + HELLO, then the HELLO_ACK.
    @discardableResult
    func handshake() throws -> HelloAck {
        var bytes = ConnectionPreface.bytes
        Hello().encodeFrame(requestID: 0, into: &bytes)
        try send(bytes)
        guard let frame = try nextFrame() else { throw SeqRecError(.connection, "closed during handshake") }
        return try frame.decode(HelloAck.self)
    }

    /// The next frame (its body copied), or nil when the server closed the connection.
    func nextFrame(timeoutMilliseconds: Int32 = 5_000) throws -> Frame? {
        while true {
            if let frame = try decoder.next() {
                return Frame(header: frame.header, body: ArraySlice(Array(frame.body)))
            }
            guard try socket.poll(.readable, timeoutMilliseconds: timeoutMilliseconds) else {
                throw SeqRecError(.deadlineExceeded, "no frame within \(timeoutMilliseconds) ms")
            }
            // A reset counts as closed.
            guard case .transferred(let count) = try? socket.read(into: buffer), count > 0 else { return nil }
            decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Reads raw bytes until the server closes (for answers that must be exact bytes).
    func readAllBytes(timeoutMilliseconds: Int32 = 5_000) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while try socket.poll(.readable, timeoutMilliseconds: timeoutMilliseconds) {
            guard case .transferred(let count) = try? socket.read(into: buffer), count > 0 else { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
        }
        throw SeqRecError(.deadlineExceeded, "server did not close within \(timeoutMilliseconds) ms")
    }

    /// Reads exactly `count` raw bytes.
    func readBytes(_ count: Int, timeoutMilliseconds: Int32 = 5_000) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            guard try socket.poll(.readable, timeoutMilliseconds: timeoutMilliseconds) else {
                throw SeqRecError(.deadlineExceeded, "only \(bytes.count) of \(count) bytes arrived")
            }
            let wanted = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, count - bytes.count)])
            guard case .transferred(let got) = try socket.read(into: wanted), got > 0 else { break }
            bytes.append(contentsOf: buffer[0..<got])
        }
        return bytes
    }
}

func recommendFrame(_ session: [UInt32], k: Int = 5, id: UInt32, model: String = "", timeoutMicroseconds: UInt32 = 0,
                    includeEmbedding: Bool = false) -> [UInt8] {
    RecommendRequest(session: .internal(session), k: k, modelName: model, includeEmbedding: includeEmbedding)
        .frameBytes(requestID: id, aux: timeoutMicroseconds)
}

// The socket under a client connection: one I/O thread per connection connects, reads, flushes what a
// caller could not write at once, and fires deadlines; it ends when the connection ends. Callers'
// writes never block: they send what the kernel takes now and leave the rest to the I/O thread.
import Foundation
import SeqRecPosix
import Synchronization

final class SocketTransport: ClientTransport, @unchecked Sendable {
    // @unchecked: `poller` is waited on by the I/O thread only; other threads only call `modify` on
    // it (epoll_ctl is thread-safe). Everything else shared sits in `output` or is immutable.
    private let address: SocketAddress
    private let connectTimeoutMilliseconds: Int32
    private let poller: Poller
    private let wakeup: WakeupEvent
    private let output = Mutex(Output())
    /// The I/O thread's name, unique in the process (mod 100,000), and its kernel thread id (0 until it
    /// runs), for tests that watch it end.
    let threadName: String
    let threadID = Atomic<Int32>(0)
    private static let threadCounter = Atomic<Int>(0)

    private struct Output {
        /// Set once the I/O thread connected; cleared (and the descriptor closed) when it stops.
        var socket: Socket?
        /// Bytes the kernel did not take yet, from `offset` on.
        var pending: [UInt8] = []
        var offset = 0
        var watchingWritable = false
        var closed = false
    }

    private static let socketToken: UInt64 = 0
    private static let wakeupToken: UInt64 = 1
    private static let readBufferBytes = 64 * 1_024

    /// Checks the address; connecting happens on the I/O thread after `start`.
    init(host: String, port: UInt16, connectTimeout: Duration) throws(SeqRecError) {
        address = try Self.address(host: host, port: port)
        do {
            poller = try Poller(capacity: 2)
            wakeup = try WakeupEvent()
        } catch {
            throw SeqRecError(.connection, error.description, notProcessed: true)
        }
        let milliseconds = SeqRecConnection.nanoseconds(connectTimeout) / 1_000_000
        connectTimeoutMilliseconds = Int32(clamping: max(1, milliseconds))
        // Linux keeps 15 bytes of a thread name.
        threadName = "seqrec-io-\(Self.threadCounter.add(1, ordering: .relaxed).newValue % 100_000)"
    }

    static func monotonicNanoseconds() -> UInt64 { MonotonicClock.now() }

    /// The socket address of an endpoint; a host that is not an address literal, or port 0, is the
    /// caller's mistake (`.invalidRequest`).
    static func address(host: String, port: UInt16) throws(SeqRecError) -> SocketAddress {
        guard port != 0 else { throw SeqRecError(.invalidRequest, "port 0 is not a server port (endpoint \(host):0)") }
        do {
            return try SocketAddress(host: host, port: port)
        } catch {
            throw SeqRecError(.invalidRequest, "host '\(host)' is not an IPv4 or IPv6 address literal (or \"localhost\"); resolve names before calling")
        }
    }

    func start(_ core: ConnectionCore) {
        // The thread holds the core (not the public connection) until it stops, so dropping the last
        // reference to the connection closes it and ends the thread.
        let thread = Thread { [self] in
            Self.nameCurrentThread(threadName)
            threadID.store(Self.currentThreadID(), ordering: .releasing)
            let error = run(core)
            output.withLock { output in
                output.closed = true
                output.socket?.close()
                output.socket = nil
            }
            core.transportClosed(error)
        }
        thread.start()
    }

    func write(_ bytes: [UInt8]) {
        output.withLock { output in
            guard !output.closed, let socket = output.socket else { return }
            var sent = 0
            if output.pending.count == output.offset {
                do {
                    sent = try Self.send(bytes[...], on: socket)
                } catch {
                    socket.shutdown(.both)  // the I/O thread reads the failure and ends the connection
                    return
                }
                if sent == bytes.count { return }
            }
            output.pending.append(contentsOf: bytes[sent...])
            if !output.watchingWritable {
                output.watchingWritable = true
                try? poller.modify(socket.descriptor, [.readable, .writable], token: Self.socketToken)
            }
        }
    }

    func wake() { wakeup.signal() }

    func close() {
        output.withLock { output in
            output.closed = true
            output.socket?.shutdown(.both)
        }
        wakeup.signal()
    }

    // MARK: I/O thread

    /// Connects and serves the socket until the connection ends; returns why it ended.
    private func run(_ core: ConnectionCore) -> SeqRecError {
        let socket: Socket
        do {
            socket = try Socket.connect(to: address, timeoutMilliseconds: connectTimeoutMilliseconds, nonBlocking: true)
            try poller.add(socket.descriptor, .readable, token: Self.socketToken)
            try poller.add(wakeup.descriptor, .readable, token: Self.wakeupToken)
        } catch {
            return SeqRecError(.connection, error.description, notProcessed: true)
        }
        let closedEarly = output.withLock { output in
            if !output.closed { output.socket = socket }
            return output.closed
        }
        if closedEarly {
            socket.close()
            return SeqRecError(.connection, "connection closed by the client", notProcessed: true)
        }
        core.transportConnected()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferBytes, alignment: 1)
        defer { buffer.deallocate() }
        do {
            while !output.withLock({ $0.closed }) {
                let timeout = Self.milliseconds(until: core.nextDeadline)
                try poller.wait(timeoutMilliseconds: timeout) { event in
                    if event.token == Self.wakeupToken {
                        wakeup.reset()
                        return
                    }
                    if event.writable { try flush() }
                    if event.readable || event.failed { try read(socket, into: buffer, core) }
                }
                if let deadline = core.nextDeadline, deadline <= MonotonicClock.now() { core.tick() }
            }
            return SeqRecError(.connection, "connection closed by the client")
        } catch let error as SeqRecError {
            return error
        } catch {
            return SeqRecError(.connection, "\(error)")
        }
    }

    private func read(_ socket: Socket, into buffer: UnsafeMutableRawBufferPointer, _ core: ConnectionCore) throws {
        switch try socket.read(into: buffer) {
        case .transferred(let count):
            core.transportReceived(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        case .wouldBlock:
            break
        case .endOfFile:
            throw SeqRecError(.connection, "server closed the connection")
        }
    }

    /// Sends pending bytes (the socket reported room); stops watching for room once all are out.
    private func flush() throws {
        try output.withLock { output throws in
            guard let socket = output.socket else { return }
            output.offset += try Self.send(output.pending[output.offset...], on: socket)
            if output.offset == output.pending.count {
                output.pending.removeAll(keepingCapacity: true)
                output.offset = 0
                output.watchingWritable = false
                try poller.modify(socket.descriptor, .readable, token: Self.socketToken)
            }
        }
    }

    /// Writes what the kernel takes now; returns how many bytes that was.
    private static func send(_ bytes: ArraySlice<UInt8>, on socket: Socket) throws -> Int {
        var sent = 0
        while sent < bytes.count {
            let result = try bytes.withUnsafeBytes { buffer in
                // safe: sent < buffer.count.
                try socket.write(from: UnsafeRawBufferPointer(rebasing: buffer[sent...]))
            }
            switch result {
            case .transferred(let count): sent += count
            case .wouldBlock: return sent
            case .endOfFile: throw SystemError("send", code: EPIPE)
            }
        }
        return sent
    }

    /// Names the calling thread (what `top -H` and /proc show). Foundation's `Thread.name` reaches the
    /// kernel only sometimes on Linux (it races with the thread's start), and pthread_setname_np is not
    /// in the Glibc module, so the name is written where the kernel keeps it.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        _ = Glibc.close(fd)
    }

    /// The calling thread's kernel id, from the /proc/thread-self link ("<pid>/task/<tid>"); 0 if unreadable.
    private static func currentThreadID() -> Int32 {
        var link = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &link, link.count - 1)
        guard length > 0 else { return 0 }
        let text = String(decoding: link.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "/").last.flatMap { Int32($0) } ?? 0
    }

    /// The poll timeout for a deadline: -1 = none, else whole milliseconds rounded up.
    private static func milliseconds(until deadline: UInt64?) -> Int32 {
        guard let deadline else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        return Int32(clamping: (deadline - now + 999_999) / 1_000_000)
    }
}

// The load generator's system calls, all in this file: a TCP client socket, an epoll set and a
// timerfd. Each type owns its file descriptor and closes it in deinit; errno is read right after
// the failing call.
import CBenchSupport
#if canImport(Glibc)
import Glibc
#endif

public struct LoadSystemError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32
    public var description: String { "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))" }

    init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }
}

/// A connected TCP socket (IPv4), TCP_NODELAY on. Sends block; receives never do.
final class LoadSocket {
    let descriptor: Int32

    init(host: String, port: UInt16) throws(LoadSystemError) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw LoadSystemError("parsing IPv4 address '\(host)'", code: EINVAL)
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw LoadSystemError("socket") }
        self.descriptor = descriptor
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw LoadSystemError("connect to \(host):\(port)") }
    }

    deinit { close(descriptor) }

    /// Writes every byte (retrying short writes and EINTR).
    func sendAll(_ bytes: [UInt8]) throws(LoadSystemError) {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                // safe: sent < count, so the range [sent, count) lies inside the buffer.
                send(descriptor, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw LoadSystemError("send")
            }
            sent += result
        }
    }

    /// Reads what is available into `buffer` without blocking: the byte count, 0 if nothing is
    /// ready. A closed peer is an error (the generator never closes first while requests run).
    func receiveAvailable(into buffer: inout [UInt8]) throws(LoadSystemError) -> Int {
        while true {
            let result = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if result > 0 { return result }
            if result == 0 { throw LoadSystemError("recv (server closed the connection)", code: ECONNRESET) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            throw LoadSystemError("recv")
        }
    }
}

/// An epoll set whose event data are small integer tokens.
final class LoadPoller {
    private let descriptor: Int32
    private var events: [epoll_event]

    init(capacity: Int) throws(LoadSystemError) {
        descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard descriptor >= 0 else { throw LoadSystemError("epoll_create1") }
        events = [epoll_event](repeating: epoll_event(), count: max(capacity, 1))
    }

    deinit { close(descriptor) }

    func watchReadable(_ fileDescriptor: Int32, token: Int) throws(LoadSystemError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(token)
        guard epoll_ctl(descriptor, EPOLL_CTL_ADD, fileDescriptor, &event) == 0 else {
            throw LoadSystemError("epoll_ctl add")
        }
    }

    /// Waits up to `timeoutMilliseconds` (−1 = no limit) and calls `ready` with each token.
    func wait(timeoutMilliseconds: Int32, _ ready: (Int) throws -> Void) throws {
        let count = events.withUnsafeMutableBufferPointer { buffer in
            epoll_wait(descriptor, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        if count < 0 {
            if errno == EINTR { return }
            throw LoadSystemError("epoll_wait")
        }
        for index in 0..<Int(count) { try ready(Int(events[index].data.u64)) }
    }
}

/// A CLOCK_MONOTONIC timerfd armed at absolute times: the open loop's send clock, with
/// nanosecond resolution where epoll's own timeout has only milliseconds.
final class LoadTimer {
    let descriptor: Int32

    init() throws(LoadSystemError) {
        descriptor = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC) | Int32(TFD_NONBLOCK))
        guard descriptor >= 0 else { throw LoadSystemError("timerfd_create") }
    }

    deinit { close(descriptor) }

    /// Fires once at `nanoseconds` on the monotonic clock (at once if that has passed).
    func arm(at nanoseconds: UInt64) throws(LoadSystemError) {
        var specification = itimerspec()
        specification.it_value.tv_sec = Int(nanoseconds / 1_000_000_000)
        specification.it_value.tv_nsec = max(Int(nanoseconds % 1_000_000_000), 1)
        guard timerfd_settime(descriptor, Int32(TFD_TIMER_ABSTIME), &specification, nil) == 0 else {
            throw LoadSystemError("timerfd_settime")
        }
    }

    /// Consumes the expiry count so the descriptor stops being readable.
    func acknowledge() {
        var expirations: UInt64 = 0
        _ = read(descriptor, &expirations, MemoryLayout<UInt64>.size)
    }
}

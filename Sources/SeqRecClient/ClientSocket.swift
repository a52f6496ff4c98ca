// The client's only file with errno code: a blocking TCP socket with a connect timeout, EINTR
// retried, and errno turned into `SeqRecError` at once.
import Glibc
import SeqRecProtocol

/// One connected TCP socket. Reading and writing may happen on different threads; `shutdown`
/// wakes a blocked reader, and only the reader's owner closes the descriptor.
package final class ClientSocket: @unchecked Sendable {
    package let fd: Int32

    /// Connects to an IPv4 or IPv6 literal (or "localhost") within `timeoutMilliseconds`.
    package init(host: String, port: UInt16, timeoutMilliseconds: Int32) throws(SeqRecError) {
        var storage = sockaddr_storage()
        let length = try Self.address(host: host, port: port, into: &storage)
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket", errno) }
        self.fd = fd
        do {
            try connect(storage: &storage, length: length, timeoutMilliseconds: timeoutMilliseconds, host: host, port: port)
            var one: Int32 = 1
            // Small request frames must not wait for delayed ACKs.
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    private func connect(storage: inout sockaddr_storage, length: socklen_t, timeoutMilliseconds: Int32,
                         host: String, port: UInt16) throws(SeqRecError) {
        // Non-blocking connect + poll gives the timeout; the socket is blocking again afterwards.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let result = withUnsafePointer(to: &storage) { pointer in
            // safe: sockaddr_storage is large enough for every family; `length` says how much is used.
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result < 0 {
            let code = errno
            guard code == EINPROGRESS || code == EINTR else { throw Self.failure("connect to \(host):\(port)", code) }
            guard try waitFor(Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds) else {
                throw SeqRecError(.connection, "connect to \(host):\(port) timed out after \(timeoutMilliseconds) ms")
            }
            var socketError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size)
            if socketError != 0 { throw Self.failure("connect to \(host):\(port)", socketError) }
        }
        _ = fcntl(fd, F_SETFL, flags)
    }

    private static func address(host: String, port: UInt16, into storage: inout sockaddr_storage)
        throws(SeqRecError) -> socklen_t
    {
        guard let length = SocketAddress.fill(host: host, port: port, into: &storage) else {
            throw SeqRecError(.connection, "host '\(host)' is not an IPv4 or IPv6 address literal")
        }
        return length
    }

    /// Waits until `events` are ready; false on timeout (-1 = no limit).
    package func waitFor(_ events: Int16, timeoutMilliseconds: Int32) throws(SeqRecError) -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, timeoutMilliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            let code = errno
            if code != EINTR { throw Self.failure("poll", code) }
        }
    }

    /// Writes all of `bytes` (blocking).
    package func writeAll(_ bytes: [UInt8]) throws(SeqRecError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                // safe: offset < bytes.count.
                send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written >= 0 {
                offset += written
                continue
            }
            let code = errno
            if code != EINTR { throw Self.failure("send", code) }
        }
    }

    /// Reads what is available into `buffer`; 0 means the peer closed.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(SeqRecError) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            let code = errno
            if code != EINTR { throw Self.failure("read", code) }
        }
    }

    /// Stops both directions; a reader blocked in `read` or `poll` returns.
    package func shutdown() {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    private static func failure(_ operation: String, _ code: Int32) -> SeqRecError {
        SeqRecError(.connection, "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    /// Monotonic clock in nanoseconds, the base of client deadlines.
    package static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}

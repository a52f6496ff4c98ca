// A TCP socket that owns its descriptor: closed exactly once, by `close()` or at deinit. Listening,
// accepting, connecting (with a timeout), non-blocking reads and writes, and blocking writes.
import CLinux
import Glibc

package final class Socket: @unchecked Sendable {
    /// The descriptor, for registering with a `Poller`; -1 once closed.
    // safe to share: the descriptor is written only by `close()`, which the owner calls after every
    // other user has stopped (a reader blocked in `read` or `poll` is woken by `shutdown` first).
    package private(set) var descriptor: Int32

    /// Takes ownership of an open descriptor.
    package init(adopting descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Closes the descriptor now; later calls do nothing. Errors are ignored because Linux releases
    /// the descriptor either way.
    package func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    // MARK: making sockets

    /// A non-blocking, close-on-exec listener bound to `address`, with SO_REUSEADDR.
    package static func listen(on address: SocketAddress, backlog: Int32) throws(SystemError) -> Socket {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socket = Socket(adopting: try Retry.call("socket") { Glibc.socket(address.family, flags, 0) })
        try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
        let fd = socket.descriptor
        _ = try address.withSockaddr { pointer, length throws(SystemError) in
            try Retry.call("bind \(address.description)") { bind(fd, pointer, length) }
        }
        _ = try Retry.call("listen") { Glibc.listen(fd, backlog) }
        return socket
    }

    /// A close-on-exec socket connected to `address` within `timeoutMilliseconds` (nil: the kernel's
    /// own limit), TCP_NODELAY on, left non-blocking when `nonBlocking` says so.
    package static func connect(to address: SocketAddress, timeoutMilliseconds: Int32?, nonBlocking: Bool)
        throws(SystemError) -> Socket
    {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socket = Socket(adopting: try Retry.call("socket") { Glibc.socket(address.family, flags, 0) })
        let fd = socket.descriptor
        let result = try address.withSockaddr { pointer, length throws(SystemError) in Glibc.connect(fd, pointer, length) }
        if result < 0 {
            let code = errno
            guard code == EINPROGRESS || code == EINTR else { throw SystemError("connect to \(address.description)", code: code) }
            guard try socket.poll(.writable, timeoutMilliseconds: timeoutMilliseconds ?? -1) else {
                throw SystemError("connect to \(address.description) (no answer in \(timeoutMilliseconds ?? 0) ms)",
                                  code: ETIMEDOUT)
            }
            var failure: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size)
            if failure != 0 { throw SystemError("connect to \(address.description)", code: failure) }
        }
        try socket.setNoDelay()
        if !nonBlocking { try socket.setNonBlocking(false) }
        return socket
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket; nil when none is
    /// pending (or the peer reset before we got to it). Throws for listener-level failures such as
    /// running out of descriptors.
    package func accept() throws(SystemError) -> Socket? {
        while true {
            let fd = accept4(descriptor, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 { return Socket(adopting: fd) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO, EPERM: return nil
            default: throw SystemError("accept4", code: code)
            }
        }
    }

    // MARK: options

    /// The local port (the kernel's choice after binding port 0).
    package func localPort() throws(SystemError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = descriptor
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try Retry.call("getsockname") { getsockname(fd, address, &length) }
            }
        }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { raw in
            // safe: the family field says which layout the kernel wrote.
            if family == AF_INET6 {
                return UInt16(bigEndian: UnsafeRawPointer(raw).assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port)
            }
            return UInt16(bigEndian: UnsafeRawPointer(raw).assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)
        }
    }

    /// Turns off Nagle's algorithm: small frames must not wait for delayed ACKs.
    package func setNoDelay() throws(SystemError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
    }

    package func setNonBlocking(_ nonBlocking: Bool) throws(SystemError) {
        let fd = descriptor
        let flags = try Retry.call("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        let wanted = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try Retry.call("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, wanted) } }
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ operation: String) throws(SystemError) {
        var value = value
        let fd = descriptor
        _ = try Retry.call(operation) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    // MARK: reading and writing

    /// Reads what is available. On a blocking socket this waits for at least one byte.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count > 0 { return .transferred(count) }
            if count == 0 { return buffer.isEmpty ? .transferred(0) : .endOfFile }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemError("read", code: code)
            }
        }
    }

    /// Writes what the kernel takes now, without raising SIGPIPE when the peer has gone.
    package func write(from buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let count = send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return .transferred(count) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemError("send", code: code)
            }
        }
    }

    /// Writes every byte, waiting for room when the socket is non-blocking and its buffer is full.
    package func writeAll(_ buffer: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < buffer.count {
            // safe: offset < buffer.count, so the slice lies inside the buffer.
            switch try write(from: UnsafeRawBufferPointer(rebasing: buffer[offset...])) {
            case .transferred(let count): offset += count
            case .wouldBlock: _ = try poll(.writable, timeoutMilliseconds: -1)
            case .endOfFile: throw SystemError("send", code: EPIPE)
            }
        }
    }

    /// Writes every byte of `bytes` (see `writeAll(_:)` for buffers).
    package func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        // Array.withUnsafeBytes rethrows untyped errors, so the typed one is carried out by hand.
        var failure: SystemError?
        bytes.withUnsafeBytes { buffer in
            do throws(SystemError) { try writeAll(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package enum Readiness {
        case readable
        case writable
    }

    /// Waits until the socket is readable or writable; false on timeout (-1: no limit). An error or
    /// hang-up counts as ready: the next read or write reports it.
    package func poll(_ readiness: Readiness, timeoutMilliseconds: Int32) throws(SystemError) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(readiness == .readable ? POLLIN : POLLOUT), revents: 0)
        while true {
            let ready = Glibc.poll(&entry, 1, timeoutMilliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            let code = errno
            if code != EINTR { throw SystemError("poll", code: code) }
        }
    }

    package enum Direction {
        /// Our sending side: the peer reads what was written, then EOF (no reset that could
        /// discard a final frame).
        case write
        /// Both sides: a thread blocked in `read` or `poll` on this socket returns.
        case both
    }

    package func shutdown(_ direction: Direction) {
        _ = Glibc.shutdown(descriptor, Int32(direction == .write ? SHUT_WR : SHUT_RDWR))
    }
}

// The only file of the server that talks to the kernel through errno-returning calls.
// Every wrapper captures errno right after the call, retries EINTR, and reports failures as
// `SystemError`, so the rest of the server never sees errno or a negative return value.
import CLinux
import Glibc
import SeqRecProtocol

/// A failed system call: which operation, and the errno it left behind.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Outcome of a non-blocking read or write.
package enum IOResult: Equatable {
    case transferred(Int)
    case wouldBlock
    case endOfFile
}

package enum System {
    /// Calls `body` until it does not fail with EINTR; returns its result or throws with errno.
    private static func retrying<T: BinaryInteger>(_ operation: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation: operation, code: code)
        }
    }

    // MARK: sockets

    /// A non-blocking, close-on-exec TCP listener bound to `host:port`, with SO_REUSEADDR.
    package static func listen(host: String, port: UInt16, backlog: Int32) throws(SystemError) -> Int32 {
        var storage = sockaddr_storage()
        let length = try makeAddress(host: host, port: port, into: &storage)
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = try retrying("socket") { socket(Int32(storage.ss_family), flags, 0) }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            _ = try withUnsafePointer(to: &storage) { pointer throws(SystemError) in
                // safe: sockaddr_storage is large enough for every address family and `length` says how much is used.
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                    try retrying("bind \(host):\(port)") { bind(fd, address, length) }
                }
            }
            _ = try retrying("listen") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Fills `storage` with an IPv4 or IPv6 literal address ("localhost" means 127.0.0.1).
    private static func makeAddress(host: String, port: UInt16, into storage: inout sockaddr_storage)
        throws(SystemError) -> socklen_t
    {
        guard let length = SocketAddress.fill(host: host, port: port, into: &storage) else {
            throw SystemError(operation: "parse host '\(host)' (expected an IPv4 or IPv6 literal)", code: EINVAL)
        }
        return length
    }

    /// The port the kernel bound `fd` to (useful after binding port 0).
    package static func boundPort(_ fd: Int32) throws(SystemError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try retrying("getsockname") { getsockname(fd, address, &length) }
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

    /// Accepts one pending connection as a non-blocking, close-on-exec socket; nil when none is pending.
    package static func accept(_ listener: Int32) throws(SystemError) -> Int32? {
        while true {
            let fd = accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 { return fd }
            let code = errno
            switch code {
            case EINTR: continue
            // A peer that reset before accept, or a transient lack of descriptors, is not the listener's fault.
            case EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO, EPERM: return nil
            default: throw SystemError(operation: "accept4", code: code)
            }
        }
    }

    /// Turns off Nagle's algorithm: small response frames must not wait for delayed ACKs.
    package static func setNoDelay(_ fd: Int32) throws(SystemError) {
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ operation: String)
        throws(SystemError)
    {
        var value = value
        _ = try retrying(operation) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    // MARK: reading and writing

    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return .transferred(count) }
            if count == 0 { return .endOfFile }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemError(operation: "read", code: code)
            }
        }
    }

    /// Writes without raising SIGPIPE when the peer has gone.
    package static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let count = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return .transferred(count) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SystemError(operation: "send", code: code)
            }
        }
    }

    /// Ends our sending direction so the peer reads everything written so far and then EOF,
    /// instead of a reset that could discard a final GOAWAY.
    package static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes `fd`; errors are ignored because the descriptor is released either way on Linux.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    // MARK: epoll and eventfd

    package static func epollCreate() throws(SystemError) -> Int32 {
        try retrying("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    package static func epollControl(_ epoll: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, token: UInt64)
        throws(SystemError)
    {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = try retrying("epoll_ctl") { epoll_ctl(epoll, operation, fd, &event) }
    }

    /// Waits for readiness; returns how many entries of `events` were filled (0 on timeout).
    package static func epollWait(_ epoll: Int32, _ events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32)
        throws(SystemError) -> Int
    {
        let count = epoll_wait(epoll, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        if count >= 0 { return Int(count) }
        let code = errno
        // An interrupted wait is simply an empty round; the caller loops anyway.
        if code == EINTR { return 0 }
        throw SystemError(operation: "epoll_wait", code: code)
    }

    package static func eventCreate() throws(SystemError) -> Int32 {
        try retrying("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }

    /// Adds one to the eventfd counter; a full counter already guarantees a wakeup, so EAGAIN is fine.
    package static func eventSignal(_ fd: Int32) {
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the eventfd counter to zero.
    package static func eventDrain(_ fd: Int32) {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 && errno == EINTR {}
    }

    // MARK: time and machine

    /// Raises the soft limit on open descriptors to the hard limit (every connection needs one);
    /// returns the soft limit now in force.
    @discardableResult
    package static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }

    /// Online processors, at least 1.
    package static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Monotonic clock in nanoseconds: the base of every deadline and timeout in the server.
    package static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}

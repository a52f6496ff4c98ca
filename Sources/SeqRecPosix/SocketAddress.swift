// A TCP endpoint as a socket address: an IPv4 or IPv6 literal ("localhost" means 127.0.0.1) and a
// port. Parsing only, no name resolution and no I/O.
import Glibc

package struct SocketAddress: Sendable {
    package let host: String
    package let port: UInt16
    private var storage = sockaddr_storage()
    private var length: socklen_t = 0

    /// Throws EINVAL naming the host when it is not an address literal.
    package init(host: String, port: UInt16) throws(SystemError) {
        self.host = host
        self.port = port
        let literal = host == "localhost" ? "127.0.0.1" : host
        let filled = withUnsafeMutablePointer(to: &storage) { raw -> socklen_t in
            // safe: sockaddr_storage is at least as large and as aligned as sockaddr_in and sockaddr_in6.
            let v4 = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: sockaddr_in.self)
            if inet_pton(AF_INET, literal, &v4.pointee.sin_addr) == 1 {
                v4.pointee.sin_family = sa_family_t(AF_INET)
                v4.pointee.sin_port = port.bigEndian
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            }
            let v6 = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: sockaddr_in6.self)
            if inet_pton(AF_INET6, literal, &v6.pointee.sin6_addr) == 1 {
                v6.pointee.sin6_family = sa_family_t(AF_INET6)
                v6.pointee.sin6_port = port.bigEndian
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
            return 0
        }
        guard filled > 0 else {
            throw SystemError("parse host '\(host)' (expected an IPv4 or IPv6 literal)", code: EINVAL)
        }
        length = filled
    }

    /// "host:port", with brackets around IPv6 hosts.
    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var family: Int32 { Int32(storage.ss_family) }

    /// Calls `body` with the address as the kernel expects it.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> T) throws(SystemError) -> T {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer throws(SystemError) in
            // safe: sockaddr_storage starts with the sockaddr header; `length` says how much is used.
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try body(address, length)
            }
        }
    }
}

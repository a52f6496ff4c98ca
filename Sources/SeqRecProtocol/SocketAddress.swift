// The TCP endpoint of docs/PROTOCOL.md as a socket address: shared by the server (bind), the Swift
// client and the load generator (connect). Parsing only, no I/O.
import Glibc

package enum SocketAddress {
    /// Fills `storage` with `host` (an IPv4 or IPv6 literal; "localhost" means 127.0.0.1) and `port`,
    /// and returns the length in use; nil when `host` is not such a literal (callers name their error).
    package static func fill(host: String, port: UInt16, into storage: inout sockaddr_storage) -> socklen_t? {
        let literal = host == "localhost" ? "127.0.0.1" : host
        return withUnsafeMutablePointer(to: &storage) { raw -> socklen_t? in
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
            return nil
        }
    }
}

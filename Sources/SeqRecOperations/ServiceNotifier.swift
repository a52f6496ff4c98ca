// systemd's readiness protocol (sd_notify(3), docs/OPERATIONS.md §10): when $NOTIFY_SOCKET names a
// Unix datagram socket, send "READY=1" once serving and "STOPPING=1" when the drain begins. A few
// lines of the protocol, no libsystemd.
import Glibc

public struct ServiceNotifier: Sendable {
    /// The socket path (a leading '@' means the abstract namespace); nil when not under systemd.
    public let path: String?

    public init(environment: [String: String]) {
        let value = environment["NOTIFY_SOCKET"] ?? ""
        path = value.isEmpty ? nil : value
    }

    public enum NotifyError: Error, Equatable, CustomStringConvertible {
        case pathTooLong(Int)
        case unsupportedPath(String)
        case system(operation: String, code: Int32)

        public var description: String {
            switch self {
            case .pathTooLong(let length): "NOTIFY_SOCKET is \(length) bytes; a Unix socket path has at most 107"
            case .unsupportedPath(let path): "NOTIFY_SOCKET '\(path.prefix(60))' is neither an absolute path nor '@abstract'"
            case .system(let operation, let code): "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
            }
        }
    }

    /// Sends `state` (e.g. "READY=1"); does nothing when not under systemd.
    public func notify(_ state: String) throws(NotifyError) {
        guard let path else { return }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") {
            bytes[0] = 0
        } else if bytes.first != UInt8(ascii: "/") {
            throw .unsupportedPath(path)
        }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw .pathTooLong(bytes.count) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket(AF_UNIX)", code: errno) }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            // safe: sockaddr_un starts with the sockaddr header and `length` covers only its filled part.
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), address, length)
            }
        }
        guard sent == message.count else { throw .system(operation: "sendto NOTIFY_SOCKET", code: errno) }
    }
}

// Bearer-token check of the admin API (docs/OPERATIONS.md §7). The token is compared in constant
// time, so the time of a refusal says nothing about how much of a guess was right.

public struct AdminAuthorization: Sendable {
    private let token: [UInt8]?

    /// nil: no token configured, every endpoint is open (the listener warns off loopback).
    public init(token: [UInt8]?) {
        self.token = token
    }

    public var isEnabled: Bool { token != nil }

    /// True when no token is configured or `header` is `Bearer <token>` exactly.
    public func permits(authorizationHeader header: String?) -> Bool {
        guard let token else { return true }
        guard let header else { return false }
        let bytes = Array(header.utf8)
        let prefix = Array("Bearer ".utf8)
        guard bytes.count > prefix.count else { return false }
        var schemeMatches = true
        for index in 0..<prefix.count where lowercased(bytes[index]) != lowercased(prefix[index]) {
            schemeMatches = false
        }
        return Self.constantTimeEqual(Array(bytes[prefix.count...]), token) && schemeMatches
    }

    private func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte + 32 : byte
    }

    /// Compares every byte of the longer input whatever the contents; the length difference is
    /// folded into the result instead of returning early.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt64(a.count ^ b.count)
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0
    }
}

// Rendezvous (highest-random-weight) hashing: each endpoint's weight for a key is a hash of the pair;
// the key goes to the heaviest endpoint, then the next. Adding or removing an endpoint moves only the
// keys it wins or won. The hash is fixed (FNV-1a + a 64-bit finaliser), not Swift's per-process
// seeded `Hasher`, so every gateway process sends a session to the same replica.

enum Rendezvous {
    /// `endpoints` indices, best first for `key`.
    static func order(key: some StringProtocol, endpoints: [String]) -> [Int] {
        let keyHash = fnv1a(key.utf8, seed: 0xcbf2_9ce4_8422_2325)
        let weights = endpoints.map { mix(fnv1a($0.utf8, seed: keyHash)) }
        // Ties (vanishingly rare) go to the lower index, so the order is total and stable.
        return endpoints.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
    }

    static func fnv1a(_ bytes: some Sequence<UInt8>, seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The splitmix64 finaliser: spreads FNV's weak low bits over the whole word.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

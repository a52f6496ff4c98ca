// Which version answers a request that names no version (docs/OPERATIONS.md §11.4): a pinned
// default, or the newest loaded version; with a traffic split, the share a stable hash of the
// request's session key falls in, so one shopper sees one variant for the whole test.
import SeqRecOperations

/// One version's share of a split.
package typealias TrafficShare = VersionShare

package struct TrafficRouting: Equatable, Sendable {
    /// The version of requests without a key (and of all requests without a split); nil = the newest
    /// loaded version.
    package var pinnedDefault: UInt32?
    /// Shares in ascending version order; empty = no split.
    package var split: [TrafficShare]

    package init(pinnedDefault: UInt32? = nil, split: [TrafficShare] = []) {
        self.pinnedDefault = pinnedDefault
        self.split = split.sorted { $0.version < $1.version }
    }

    /// Every version the routing names.
    package var versions: [UInt32] { (pinnedDefault.map { [$0] } ?? []) + split.map(\.version) }

    /// The split's version for `key` (nil: no split or an empty key). Allocation-free.
    package func splitVersion(forKey key: [UInt8], salt: UInt64) -> UInt32? {
        guard !split.isEmpty, !key.isEmpty else { return nil }
        var total: UInt64 = 0
        for share in split { total += UInt64(share.weight) }
        guard total > 0 else { return nil }
        let point = Self.hash(key, salt: salt).multipliedFullWidth(by: total).high
        var upper: UInt64 = 0
        for share in split {
            upper += UInt64(share.weight)
            if point < upper { return share.version }
        }
        return split[split.count - 1].version  // unreachable: point < total
    }

    /// FNV-1a over the salt's and the key's bytes, then the splitmix64 finaliser so that every bit of
    /// the result depends on every byte (FNV alone leaves the high bits weak for short keys). Stable
    /// across processes and versions of SeqRec: a shopper keeps their variant across restarts.
    package static func hash(_ key: [UInt8], salt: UInt64) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for shift in stride(from: 0, to: 64, by: 8) {
            value = (value ^ (salt >> UInt64(shift) & 0xff)) &* 0x0000_0100_0000_01b3
        }
        for byte in key { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
        value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
        return value ^ (value >> 31)
    }

    /// A model name's salt: the same key may land in different shares of different models' tests.
    package static func salt(forModel name: String) -> UInt64 { hash(Array(name.utf8), salt: 0) }
}

// What the state caches (GRUStateCache, TransformerStateCache, NARM's) share: the identity of an item
// window and the per-context hit counters.

/// Windows looked up in a state cache and windows served from it, in two Ints of the context's workspace.
struct CacheCounters {
    private let region: Int

    init(_ layout: inout WorkspaceLayout) { region = layout.reserveInts(2) }

    func statistics(_ workspace: Workspace) -> (lookups: Int, hits: Int) {
        let counts = workspace.intRegion(region)
        return (counts[0], counts[1])
    }

    func count(hit: Bool, in workspace: Workspace) {
        let counts = workspace.intRegion(region)
        counts[0] += 1
        if hit { counts[1] += 1 }
    }
}

/// 128 bits identifying an item sequence: two independent 64-bit folds, so a false match needs both to
/// collide (≈ 2⁻¹²⁸ per pair of sequences).
struct WindowKey: Equatable {
    private(set) var a: UInt64 = 0x243F_6A88_85A3_08D3
    private(set) var b: UInt64 = 0x1319_8A2E_0370_7344

    /// The key of the empty sequence.
    init() {}

    /// A key saved by `save(to:)`.
    init(loading ints: UnsafePointer<Int>) {
        a = UInt64(bitPattern: Int64(ints[0]))
        b = UInt64(bitPattern: Int64(ints[1]))
    }

    /// Writes the key into two Ints (how the caches and their per-batch scratch hold keys in a workspace).
    func save(to ints: UnsafeMutablePointer<Int>) {
        ints[0] = Int(Int64(bitPattern: a))
        ints[1] = Int(Int64(bitPattern: b))
    }

    mutating func append(_ item: Int) {
        let x = UInt64(bitPattern: Int64(item))
        a = Self.mix(a ^ (x &* 0x9E37_79B9_7F4A_7C15))
        b = Self.mix(b &+ (x ^ 0xC2B2_AE3D_27D4_EB4F) &* 0x1656_67B1_9E37_79F9)
    }

    /// SplitMix64's finaliser: every input bit affects every output bit.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

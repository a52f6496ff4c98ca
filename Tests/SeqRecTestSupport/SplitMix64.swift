// The seeded generator every test target draws its random data from, so a failing case replays from
// its seed.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, deterministic, good enough for test data.
public struct SplitMix64: RandomNumberGenerator {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }

    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in nextFloat() * scale }
    }
}

/// A deterministic seed derived from the shape, so every case has its own reproducible data.
public func testSeed(_ parts: Int...) -> UInt64 {
    parts.reduce(0x5EED_5EED) { ($0 &* 1_000_003) ^ UInt64(truncatingIfNeeded: $1) }
}

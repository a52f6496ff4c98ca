// Memory-bandwidth probe for the 1M-item target: how fast can one core stream an item table?
//
// Shapes: R rows (items) × D (model width) f32 table, v [D], scores [R].
// Two passes over the same table, each timed separately, best of several repeats:
//   - read:  sum of every element (pure streaming read, 4 independent SIMD8 accumulators);
//   - score: scores[r] = table[r] · v (the scoring GEMV itself, written the plain SIMD way).
// The bound is table bytes / the faster pass's bandwidth: no scorer can read the table faster on
// this core, so SeqRec's full-catalog scoring time is compared against it.
// The table lives in the same kind of memory SeqRec scores large tables from (`HugePageRegion`, see
// Sources/SeqRecCore/Memory/HugePageRegion.swift): with 4 KB pages the probe would be slower and the
// bound looser.
import SeqRecCore

/// A float buffer in a `HugePageRegion`, owned by this probe.
private final class AlignedFloats {
    let count: Int
    let base: UnsafeMutablePointer<Float>
    private let region: HugePageRegion

    init(count: Int) {
        self.count = count
        guard let region = HugePageRegion(bytes: count * MemoryLayout<Float>.stride) else {
            preconditionFailure("bandwidth probe: cannot map \(count) floats")
        }
        self.region = region
        base = region.start.bindMemory(to: Float.self, capacity: count)
        // Fill (and so fault in) every page before timing.
        for index in 0..<count { base[index] = Float(index % 97) * 0.01 - 0.48 }
    }
}

public struct BandwidthResult: Sendable, Codable {
    public var rows: Int
    public var dim: Int
    public var bytes: Int
    public var repeats: Int
    /// Best bandwidth over both passes and all repeats (GB/s, 1e9 bytes per second).
    public var gbPerS: Double
    public var medianGBPerS: Double
    public var readBestGBPerS: Double
    public var scoreBestGBPerS: Double
    /// Table bytes / best bandwidth, µs: the memory-bandwidth bound for one full-catalog score.
    public var boundUs: Double
    /// Guards against the compiler discarding the passes; printed so the work is observable.
    public var checksum: Double

    enum CodingKeys: String, CodingKey {
        case rows, dim, bytes, repeats, checksum
        case gbPerS = "gb_per_s", medianGBPerS = "median_gb_per_s"
        case readBestGBPerS = "read_best_gb_per_s", scoreBestGBPerS = "score_best_gb_per_s"
        case boundUs = "bound_us"
    }
}

public enum BandwidthProbe {
    public static func run(rows: Int, dim: Int, repeats: Int) -> BandwidthResult {
        precondition(rows > 0 && dim > 0 && dim % 8 == 0, "probe needs rows > 0 and dim a multiple of 8")
        precondition(repeats > 0, "probe needs at least one repeat")
        let table = AlignedFloats(count: rows * dim)
        let vector = AlignedFloats(count: dim)
        let scores = AlignedFloats(count: rows)
        let bytes = rows * dim * MemoryLayout<Float>.stride
        var readRates: [Double] = []
        var scoreRates: [Double] = []
        var checksum = 0.0
        for _ in 0..<repeats {
            let readStart = monotonicNanoseconds()
            checksum += Double(streamSum(table))
            readRates.append(Double(bytes) / Double(monotonicNanoseconds() - readStart))
            let scoreStart = monotonicNanoseconds()
            scoreRows(table, dim: dim, vector: vector, into: scores)
            scoreRates.append(Double(bytes) / Double(monotonicNanoseconds() - scoreStart))
            checksum += Double(scores.base[rows / 2])
        }
        let best = max(readRates.max()!, scoreRates.max()!)
        return BandwidthResult(rows: rows, dim: dim, bytes: bytes, repeats: repeats, gbPerS: best,
                               medianGBPerS: Spread(readRates + scoreRates).median,
                               readBestGBPerS: readRates.max()!, scoreBestGBPerS: scoreRates.max()!,
                               boundUs: Double(bytes) / best / 1000, checksum: checksum)
    }

    // SIMD8 through typed pointers, and `acc += a * b` rather than `addProduct`: this target is built
    // for baseline x86-64 (no FMA), where `addProduct` becomes one `fmaf` call per lane.
    private static func streamSum(_ table: AlignedFloats) -> Float {
        let vectors = UnsafeRawPointer(table.base).assumingMemoryBound(to: SIMD8<Float>.self)
        var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
        let blocks = table.count / 32
        for block in 0..<blocks {
            // safe: block < count/32, so vectors 4·block … 4·block+3 lie inside the table.
            let base = vectors + 4 * block
            a += base[0]
            b += base[1]
            c += base[2]
            d += base[3]
        }
        var total = (a + b + c + d).sum()
        for index in (blocks * 32)..<table.count { total += table.base[index] }
        return total
    }

    private static func scoreRows(_ table: AlignedFloats, dim: Int, vector: AlignedFloats,
                                  into scores: AlignedFloats) {
        let lanes = dim / 8
        let rows = UnsafeRawPointer(table.base).assumingMemoryBound(to: SIMD8<Float>.self)
        let v = UnsafeRawPointer(vector.base).assumingMemoryBound(to: SIMD8<Float>.self)
        for row in 0..<scores.count {
            // safe: row < rows and lane < dim/8, so every load stays inside row `row`.
            let values = rows + row * lanes
            var even = SIMD8<Float>(), odd = SIMD8<Float>()
            var lane = 0
            while lane + 1 < lanes {
                even += values[lane] * v[lane]
                odd += values[lane + 1] * v[lane + 1]
                lane += 2
            }
            if lane < lanes { even += values[lane] * v[lane] }
            scores.base[row] = (even + odd).sum()
        }
    }
}

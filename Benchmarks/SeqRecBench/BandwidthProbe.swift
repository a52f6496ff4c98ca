// Memory-bandwidth probe for the 1M-item target: how fast can one core stream an item table?
//
// Shapes: R rows (items) × D (model width) f32 table, v [D], scores [R].
// Two passes over the same table, each timed separately, best of several repeats:
//   - read:  sum of every element (pure streaming read, 4 independent SIMD accumulators);
//   - score: scores[r] = table[r] · v (the scoring GEMV itself, written the plain SIMD way).
// The bound is table bytes / the faster pass's bandwidth: no scorer can read the table faster on
// this core, so SeqRec's full-catalog scoring time is compared against it.

/// A page-aligned float buffer owned by this probe; the only unsafe memory here.
private final class AlignedFloats {
    let count: Int
    let base: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride,
                                                   alignment: 4096)
        base = raw.bindMemory(to: Float.self, capacity: count)
        // Fill (and so fault in) every page before timing.
        for index in 0..<count { base[index] = Float(index % 97) * 0.01 - 0.48 }
    }

    deinit {
        UnsafeMutableRawPointer(base).deallocate()
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
        precondition(rows > 0 && dim > 0 && dim % 16 == 0, "probe needs rows > 0 and dim a multiple of 16")
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

    private static func streamSum(_ table: AlignedFloats) -> Float {
        var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
        let raw = UnsafeRawPointer(table.base)
        let stride = 16 * MemoryLayout<Float>.stride
        let blocks = table.count / 64
        for block in 0..<blocks {
            let offset = block * 4 * stride
            // safe: block < count/64, so offset + 4·stride ≤ count·4 bytes; 64-byte aligned.
            a += raw.load(fromByteOffset: offset, as: SIMD16<Float>.self)
            b += raw.load(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
            c += raw.load(fromByteOffset: offset + 2 * stride, as: SIMD16<Float>.self)
            d += raw.load(fromByteOffset: offset + 3 * stride, as: SIMD16<Float>.self)
        }
        var total = (a + b + c + d).sum()
        for index in (blocks * 64)..<table.count { total += table.base[index] }
        return total
    }

    private static func scoreRows(_ table: AlignedFloats, dim: Int, vector: AlignedFloats,
                                  into scores: AlignedFloats) {
        let rows = scores.count
        let lanes = dim / 16
        let raw = UnsafeRawPointer(table.base)
        let vectorRaw = UnsafeRawPointer(vector.base)
        let rowBytes = dim * MemoryLayout<Float>.stride
        for row in 0..<rows {
            var accumulator = SIMD16<Float>()
            for lane in 0..<lanes {
                let offset = lane * 16 * MemoryLayout<Float>.stride
                // safe: row < rows and lane < dim/16, so the load stays inside row `row`.
                let values = raw.load(fromByteOffset: row * rowBytes + offset, as: SIMD16<Float>.self)
                accumulator.addProduct(values, vectorRaw.load(fromByteOffset: offset, as: SIMD16<Float>.self))
            }
            scores.base[row] = accumulator.sum()
        }
    }
}

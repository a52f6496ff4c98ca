// The bf16 copy of a scoring table (FORMAT.md §12.2) and the per-row numbers the exact scan's error bound
// needs (docs/KERNELS.md, "Exact top-k from the bf16 scan"):
//   t_i fp32 row, b_i its bf16 row (t_i ≈ b_i), b̂_i = b_i with subnormal elements zeroed (what vdpbf16ps
//   reads: it treats subnormal inputs as zero)
//   residuals[i] ≥ ρ_i = ‖t_i − b_i‖₂ + ‖b_i − b̂_i‖₂ (≥ ‖t_i − b_i‖ and ≥ ‖t_i − b̂_i‖: one bound for every path)
//   norms[i] ≥ ‖t_i‖₂ + ρ_i (≥ ‖b_i‖ and ≥ ‖b̂_i‖)                           (both rounded up)
// As for int8, the bounds come from the fp32 rows and the file's bf16 rows at load, never from the file:
// a wrong bf16 table makes the scan slower, never inexact. A non-finite bf16 value is a load error.
import Foundation

package final class Bf16ScanTable: @unchecked Sendable {
    // @unchecked Sendable: everything is written in init and only read afterwards.
    let rows: UnsafePointer<UInt16>        // [count, width]: the file's mapping or the resident copy
    let norms: UnsafeMutablePointer<Float>
    let residuals: UnsafeMutablePointer<Float>
    let count: Int
    let width: Int
    /// max_i norms[i] and max_i |bias_i|: the request-time guard against Float overflow in the fp32 scores.
    let maxNorm: Float
    let maxAbsBias: Float
    /// Keeps the memory `rows` points into alive (a `HugePageRegion`), nil when it is the file's mapping.
    private let storage: AnyObject?

    /// Binds `rows` to the fp32 table they copy. Throws when the width is outside 1 … ScanTensors.maxWidth, the
    /// shapes disagree or a value is not finite.
    init(fp32 table: ScoringTable, rows source: UnsafePointer<UInt16>, rowsShape: [Int], storage: AnyObject?)
        throws(ModelLoadError) {
        // The AVX-512 BF16 kernel stages the query in fixed stack arrays of maxWidth elements.
        guard (1 ... ScanTensors.maxWidth).contains(table.width) else {
            throw ModelLoadError("model load: the scoring table has width \(table.width), outside 1 … \(ScanTensors.maxWidth) "
                + "that the bf16 scan supports; load it with SEQREC_SCAN_TABLE=fp32 or convert without --scan-table bf16")
        }
        guard rowsShape == [table.rows, table.width] else {
            throw ModelLoadError("model load: tensor '\(ScanTensors.bf16Rows)' has shape \(rowsShape) but the scoring "
                + "table is [\(table.rows), \(table.width)]; convert the model again with --scan-table bf16")
        }
        count = table.rows
        width = table.width
        rows = source
        self.storage = storage
        norms = .allocate(capacity: count)
        residuals = .allocate(capacity: count)
        var maxNorm: Float = 0, maxAbsBias: Float = 0
        for i in 0..<count {
            // safe: i < count rows of `width` values in both tables.
            let t = table.table + i * width, b = source + i * width
            var squares = 0.0, errors = 0.0, flushed = 0.0
            for j in 0..<width {
                guard Self.isFinite(b[j]) else {
                    norms.deallocate(); residuals.deallocate()
                    throw ModelLoadError("model load: tensor '\(ScanTensors.bf16Rows)' element [\(i), \(j)] is not finite; "
                        + "convert the model again with --scan-table bf16")
                }
                let value = Double(t[j]), stored = Double(Self.widen(b[j]))
                squares += value * value
                errors += (value - stored) * (value - stored)
                if Self.isSubnormal(b[j]) { flushed += stored * stored }
            }
            // Double rounding of these sums is below (width + 3)·2⁻⁵³ relative; the margin 2⁻⁴⁰ covers it.
            let rho = (errors.squareRoot() + flushed.squareRoot()) * (1 + 0x1p-40)
            let norm = squares.squareRoot() * (1 + 0x1p-40) + rho
            residuals[i] = Int8ScanTable.roundedUp(rho)
            norms[i] = Int8ScanTable.roundedUp(norm)
            maxNorm = Swift.max(maxNorm, norms[i])
            if let bias = table.bias { maxAbsBias = Swift.max(maxAbsBias, abs(bias[i])) }
        }
        self.maxNorm = maxNorm
        self.maxAbsBias = maxAbsBias
    }

    deinit {
        norms.deallocate()
        residuals.deallocate()
    }

    /// The float a bf16 value stands for (exact: bf16 is the upper half of a float).
    @inline(__always)
    static func widen(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// `x` rounded to bf16, to nearest with ties to even. Finite x may round to ±∞ (|x| ≥ 2¹²⁸·(1 − 2⁻⁹));
    /// callers check `isFinite` on the result. NaN stays NaN.
    static func rounded(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        guard !x.isNaN else { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        // Adding 0x7FFF plus the lowest kept bit rounds the discarded half to nearest, ties to even.
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    static func isFinite(_ bits: UInt16) -> Bool { bits & 0x7F80 != 0x7F80 }

    /// Non-zero with a zero exponent: below 2⁻¹²⁶ in magnitude.
    static func isSubnormal(_ bits: UInt16) -> Bool { bits & 0x7F80 == 0 && bits & 0x007F != 0 }

    /// Splits u into bf16 parts hi + lo for the split kernels: hi = bf16(u_j), lo = bf16(u_j − hi_j) (the
    /// difference is exact in Float), subnormal parts set to zero (vdpbf16ps would read them as zero).
    /// Returns δ ≥ ‖u − hi − lo‖₂ and N ≥ ‖(|hi_j| + |lo_j|)_j‖₂ (KERNELS.md), or nil when a part is not
    /// finite (|u_j| near Float's largest value).
    static func split(_ u: UnsafePointer<Float>, width: Int, hi: UnsafeMutablePointer<UInt16>,
                      lo: UnsafeMutablePointer<UInt16>) -> (delta: Double, norm: Double)? {
        var residual = 0.0, magnitude = 0.0
        for j in 0..<width {
            var high = rounded(u[j])
            guard isFinite(high) else { return nil }
            if isSubnormal(high) { high = 0 }
            var low = rounded(u[j] - widen(high))
            if isSubnormal(low) { low = 0 }
            hi[j] = high
            lo[j] = low
            let h = Double(widen(high)), l = Double(widen(low))
            let error = Double(u[j]) - h - l   // exact in Double: three floats within 2⁻¹⁶ relative of each other
            residual += error * error
            magnitude += (abs(h) + abs(l)) * (abs(h) + abs(l))
        }
        return (residual.squareRoot() * (1 + 0x1p-40), magnitude.squareRoot() * (1 + 0x1p-40))
    }

    /// The file's bf16 scan table bound to `table`, copied into huge-page memory when `tableMemory` copies
    /// tables of its size; nil when the file has none.
    static func bind(_ file: ModelFile, fp32 table: ScoringTable, tableMemory: TableMemory) throws -> Bf16ScanTable? {
        guard let rows = file.bf16Tensor(ScanTensors.bf16Rows), let base = rows.data.baseAddress else { return nil }
        let bytes = rows.data.count * MemoryLayout<UInt16>.stride
        if tableMemory.copies(bytes: bytes), let region = HugePageRegion(bytes: bytes) {
            let copy = region.start.bindMemory(to: UInt16.self, capacity: rows.data.count)
            // safe: the region holds `bytes` bytes, the size of the source.
            copy.update(from: base, count: rows.data.count)
            return try Bf16ScanTable(fp32: table, rows: copy, rowsShape: rows.shape, storage: region)
        }
        return try Bf16ScanTable(fp32: table, rows: base, rowsShape: rows.shape, storage: nil)
    }
}

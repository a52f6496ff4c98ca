// The int8 copy of a scoring table (FORMAT.md §12.1) and the per-row numbers the exact scan's error bound
// needs (docs/KERNELS.md, "Exact top-k from the int8 scan"):
//   t_i fp32 row, q_i int8 row, s_i ≥ 0 its scale (t_i ≈ s_i·q_i)
//   rowSums[i] = Σ_j q_ij (the VNNI kernels' offset correction)
//   residuals[i] ≥ ρ_i = ‖t_i − s_i·q_i‖₂,  norms[i] ≥ ‖t_i‖₂ + ρ_i   (both rounded up)
// The bounds are computed here, at load, from the fp32 rows the file holds, never read from the file:
// a file cannot make the scan inexact, only slow (wrong int8 rows widen the candidate set or force the
// fp32 fallback).
import Foundation

package final class Int8ScanTable: @unchecked Sendable {
    // @unchecked Sendable: everything is written in init and only read afterwards.
    let rows: UnsafePointer<Int8>          // [count, width]: the file's mapping or the resident copy
    let scales: UnsafePointer<Float>       // [count]
    let rowSums: UnsafeMutablePointer<Int32>
    let norms: UnsafeMutablePointer<Float>
    let residuals: UnsafeMutablePointer<Float>
    let count: Int
    let width: Int
    /// max_i norms[i] and max_i |bias_i|: the request-time guard against Float overflow in the fp32 scores.
    let maxNorm: Float
    let maxAbsBias: Float
    /// Keeps the memory `rows` points into alive (a `HugePageRegion`), nil when it is the file's mapping.
    private let storage: AnyObject?

    /// Binds `rows`/`scales` to the fp32 table they copy. Throws when the shapes disagree.
    init(fp32 table: ScoringTable, rows source: UnsafePointer<Int8>, rowsShape: [Int], scales: UnsafePointer<Float>,
         storage: AnyObject?) throws(ModelLoadError) {
        guard rowsShape == [table.rows, table.width] else {
            throw ModelLoadError("model load: tensor '\(ScanTensors.int8Rows)' has shape \(rowsShape) but the scoring "
                + "table is [\(table.rows), \(table.width)]; convert the model again with --scan-table int8")
        }
        count = table.rows
        width = table.width
        rows = source
        self.scales = scales
        self.storage = storage
        rowSums = .allocate(capacity: count)
        norms = .allocate(capacity: count)
        residuals = .allocate(capacity: count)
        var maxNorm: Float = 0, maxAbsBias: Float = 0
        for i in 0..<count {
            // safe: i < count rows of `width` values in both tables.
            let t = table.table + i * width, q = source + i * width, s = Double(scales[i])
            var sum: Int32 = 0, squares = 0.0, errors = 0.0
            for j in 0..<width {
                let value = Double(t[j]), stored = s * Double(q[j])   // s·q is exact in Double (24 × 8 bits)
                sum += Int32(q[j])
                squares += value * value
                errors += (value - stored) * (value - stored)
            }
            // Double rounding of these sums is below (width + 3)·2⁻⁵³ relative; the margin 2⁻⁴⁰ covers it.
            let rho = errors.squareRoot() * (1 + 0x1p-40), norm = squares.squareRoot() * (1 + 0x1p-40) + rho
            rowSums[i] = sum
            residuals[i] = Self.roundedUp(rho)
            norms[i] = Self.roundedUp(norm)
            maxNorm = Swift.max(maxNorm, norms[i])
            if let bias = table.bias { maxAbsBias = Swift.max(maxAbsBias, abs(bias[i])) }
        }
        self.maxNorm = maxNorm
        self.maxAbsBias = maxAbsBias
    }

    deinit {
        rowSums.deallocate()
        norms.deallocate()
        residuals.deallocate()
    }

    /// The smallest Float ≥ x (+∞ above Float's range).
    static func roundedUp(_ x: Double) -> Float {
        let f = Float(x)
        return Double(f) >= x ? f : f.nextUp
    }

    /// Quantizes one row: s = max|t|/127, q_j = round(t_j/s) clamped to ±127 (all zero when the row is).
    /// Any (q, s) is correct for the scan (the bounds come from the actual values); this choice keeps ρ small.
    static func quantize(_ row: UnsafePointer<Float>, width: Int, into q: UnsafeMutablePointer<Int8>) -> Float {
        var largest: Float = 0
        for j in 0..<width { largest = Swift.max(largest, abs(row[j])) }
        let scale = largest / 127
        guard scale > 0, scale.isFinite else {
            q.update(repeating: 0, count: width)
            return 0
        }
        for j in 0..<width {
            q[j] = Int8(Swift.max(-127, Swift.min(127, (row[j] / scale).rounded())))
        }
        return scale
    }
}

extension Int8ScanTable {
    /// The file's int8 scan table bound to `table`, copied into huge-page memory when `tableMemory` copies
    /// tables of its size; nil when the file has none.
    static func bind(_ file: ModelFile, fp32 table: ScoringTable, tableMemory: TableMemory) throws -> Int8ScanTable? {
        guard let rows = file.int8Tensor(ScanTensors.int8Rows), let scales = file.tensor(ScanTensors.int8Scales) else {
            return nil
        }
        guard scales.data.count == table.rows, let base = rows.data.baseAddress, let scaleBase = scales.data.baseAddress else {
            throw ModelLoadError("model load: tensor '\(ScanTensors.int8Scales)' has \(scales.data.count) scales but the "
                + "scoring table has \(table.rows) rows; convert the model again with --scan-table int8")
        }
        if tableMemory.copies(bytes: rows.data.count), let region = HugePageRegion(bytes: rows.data.count) {
            let copy = region.start.bindMemory(to: Int8.self, capacity: rows.data.count)
            // safe: the region holds rows.data.count bytes, the size of the source.
            copy.update(from: base, count: rows.data.count)
            return try Int8ScanTable(fp32: table, rows: copy, rowsShape: rows.shape, scales: scaleBase, storage: region)
        }
        return try Int8ScanTable(fp32: table, rows: base, rowsShape: rows.shape, scales: scaleBase, storage: nil)
    }
}

// The int8 copy of a scoring table (FORMAT.md §12.1) and the per-row numbers the exact scan's error bound
// needs (docs/KERNELS.md, "Exact top-k from the int8 scan"):
//   t_i fp32 row, q_i int8 row, s_i ≥ 0 its scale (t_i ≈ s_i·q_i)
//   rowSums[i] = Σ_j q_ij (the VNNI kernels' offset correction)
//   residuals[i] ≥ ρ_i = ‖t_i − s_i·q_i‖₂,  norms[i] ≥ ‖t_i‖₂ + ρ_i   (both rounded up)
// The bounds are computed here, at load, from the fp32 rows the file holds, never read from the file:
// a file cannot make the scan inexact, only slow (wrong int8 rows widen the candidate set or force the
// fp32 fallback). At 10M × 64 that is one read of 3.2 GB (fp32 + int8 rows): it runs in blocks of rows on
// every core, 8 Double lanes per row, with the huge-page copy of the int8 rows made in the same pass
// (KERNELS.md, "Loading the int8 table").
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

    /// Rows per block of the load pass: large enough to amortise a task, small enough to spread over cores.
    static let rowsPerBlock = 1 << 16

    /// Binds `rows`/`scales` to the fp32 table they copy, computing the per-row numbers; when `copy` is
    /// given (count × width bytes), the rows are copied there in the same pass and read from there.
    /// Throws when the shapes disagree.
    init(fp32 table: ScoringTable, rows source: UnsafePointer<Int8>, rowsShape: [Int], scales: UnsafePointer<Float>,
         storage: AnyObject?, copyingRowsInto copy: UnsafeMutablePointer<Int8>? = nil) throws(ModelLoadError) {
        guard rowsShape == [table.rows, table.width] else {
            throw ModelLoadError("model load: tensor '\(ScanTensors.int8Rows)' has shape \(rowsShape) but the scoring "
                + "table is [\(table.rows), \(table.width)]; convert the model again with --scan-table int8")
        }
        count = table.rows
        self.width = table.width
        rows = copy.map { UnsafePointer($0) } ?? source
        self.scales = scales
        self.storage = storage
        let rowSums = UnsafeMutablePointer<Int32>.allocate(capacity: table.rows)
        let norms = UnsafeMutablePointer<Float>.allocate(capacity: table.rows)
        let residuals = UnsafeMutablePointer<Float>.allocate(capacity: table.rows)
        let width = table.width
        let blocks = (table.rows + Int8ScanTable.rowsPerBlock - 1) / Int8ScanTable.rowsPerBlock
        var maxima = [(norm: Float, bias: Float)](repeating: (0, 0), count: blocks)
        maxima.withUnsafeMutableBufferPointer { maxima in
            // safe: each block writes only its own rows of rowSums/norms/residuals/copy and its own maxima slot.
            ParallelBlocks.run(count: table.rows, blockSize: Int8ScanTable.rowsPerBlock) { block, range in
                let rows = copy.map { UnsafePointer($0) } ?? source
                if let copy {
                    (copy + range.lowerBound * width).update(from: source + range.lowerBound * width, count: range.count * width)
                }
                var maxNorm: Float = 0, maxBias: Float = 0
                for i in range {
                    let (sum, rho, norm) = Int8ScanTable.rowNumbers(table.table + i * width, rows + i * width, scale: scales[i], width: width)
                    rowSums[i] = sum
                    residuals[i] = rho
                    norms[i] = norm
                    maxNorm = Swift.max(maxNorm, norm)
                    if let bias = table.bias { maxBias = Swift.max(maxBias, abs(bias[i])) }
                }
                maxima[block] = (maxNorm, maxBias)
            }
        }
        (self.rowSums, self.norms, self.residuals) = (rowSums, norms, residuals)
        maxNorm = maxima.map(\.norm).max() ?? 0
        maxAbsBias = maxima.map(\.bias).max() ?? 0
    }

    /// (Σ_j q_j, ρ rounded up, ‖t‖ + ρ rounded up) of one row, in Double with 8 lanes. Every product and
    /// sum is rounded to Double; in any order of summation the error is below (width + 3)·2⁻⁵³ relative,
    /// which the margin 2⁻⁴⁰ covers for widths up to 4096 (KERNELS.md).
    @inline(__always)
    static func rowNumbers(_ t: UnsafePointer<Float>, _ q: UnsafePointer<Int8>, scale: Float, width: Int)
        -> (sum: Int32, residual: Float, norm: Float) {
        let s = Double(scale)
        var sums = SIMD8<Int32>(), squares = SIMD8<Double>(), errors = SIMD8<Double>()
        var j = 0
        while j + 8 <= width {
            // safe: j + 8 ≤ width values of both rows.
            let floats = UnsafeRawPointer(t + j).loadUnaligned(as: SIMD8<Float>.self)
            let bytes = UnsafeRawPointer(q + j).loadUnaligned(as: SIMD8<Int8>.self)
            let value = SIMD8<Double>(floats)
            let stored = s * SIMD8<Double>(bytes)          // s·q is exact in Double (24 × 8 bits)
            sums &+= SIMD8<Int32>(truncatingIfNeeded: bytes)
            squares += value * value
            errors += (value - stored) * (value - stored)
            j += 8
        }
        var sum = sums.wrappedSum(), square = squares.sum(), error = errors.sum()
        while j < width {
            let value = Double(t[j]), stored = s * Double(q[j])
            sum += Int32(q[j])
            square += value * value
            error += (value - stored) * (value - stored)
            j += 1
        }
        let rho = error.squareRoot() * (1 + 0x1p-40), norm = square.squareRoot() * (1 + 0x1p-40) + rho
        return (sum, roundedUp(rho), roundedUp(norm))
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
            // safe: the region holds rows.data.count bytes, the size of the source; init copies into it.
            let copy = region.start.bindMemory(to: Int8.self, capacity: rows.data.count)
            return try Int8ScanTable(fp32: table, rows: base, rowsShape: rows.shape, scales: scaleBase, storage: region,
                                     copyingRowsInto: copy)
        }
        return try Int8ScanTable(fp32: table, rows: base, rowsShape: rows.shape, scales: scaleBase, storage: nil)
    }
}

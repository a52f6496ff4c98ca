// `seqrec convert … --scan-table int8|bf16|int8,bf16`: adds reduced copies of the scoring table (FORMAT.md
// §12) to a converted file. The scoring table is the one the family scores against (bound through the
// encoder, so e.g. CORE's normalised rows), quantized row by row (`Int8ScanTable.quantize`) or rounded to
// bf16 (to nearest, ties to even); the file is rewritten as version 2 atomically and reopened with the
// full reader. Scan tables the file had before are replaced by the requested ones.
//
// Memory (issue 18, 10M items): the f32 tensors are borrowed from the open file's mapping and the int8
// rows are quantized block by block while the writer streams them, so the only int8-sized array is the
// scales (4 bytes a row); the bf16 rows are still one array (2 bytes an element).
import Foundation

public enum ScanTableConversion {
    /// A reduced scan table `seqrec convert --scan-table` can add.
    public enum Kind: String, Sendable, CaseIterable {
        case int8, bf16
    }

    /// Parses the `--scan-table` value: kinds separated by commas ("int8", "bf16", "int8,bf16").
    public static func kinds(_ option: String) -> Set<Kind>? {
        let names = option.split(separator: ",", omittingEmptySubsequences: false)
        let kinds = names.compactMap { Kind(rawValue: String($0)) }
        return kinds.count == names.count && !kinds.isEmpty ? Set(kinds) : nil
    }

    /// Rewrites the model file at `path` with the scan tables `kinds` (replacing those it already has;
    /// other tensors, e.g. the optional popularity, are kept). Throws, leaving the file as it was, when the
    /// table is too wide or (bf16) a value is NaN or ±∞ or rounds to ±∞.
    public static func add(_ kinds: Set<Kind>, path: String) throws {
        try write(kinds, path: path)   // returns after the old file's mapping is released
        _ = try ModelFile.open(path: path)
    }

    private static func write(_ kinds: Set<Kind>, path: String) throws {
        let recommender = try Recommender(path: path, maxBatch: 1, tableMemory: .mapped, scanTable: .fp32)
        let file = recommender.file
        let table = recommender.scoring
        guard (1 ... ScanTensors.maxWidth).contains(table.width) else {
            throw FormatError(file: path, field: "scoring table", problem: "width \(table.width) is above \(ScanTensors.maxWidth)",
                              hint: "scan tables are limited to width 4096; serve this model with the fp32 scan")
        }
        var writer = ModelFileWriter(family: file.family, hyperparameters: file.hyperparameters, vocabulary: file.vocabulary)
        for info in file.tensors where !info.name.hasPrefix(ScanTensors.prefix) {
            guard let tensor = file.tensor(info.name) else {
                throw FormatError(file: path, field: "tensor '\(info.name)'", problem: "is not f32")
            }
            writer.addTensor(info.name, shape: info.shape, payload: .borrowed(UnsafeRawBufferPointer(tensor.data), owner: file))
        }
        if kinds.contains(.int8) {
            let (rows, scales) = quantized(table)
            writer.setInt8ScanTable(rows: rows, scales: scales, width: table.width)
        }
        if kinds.contains(.bf16) {
            writer.setBf16ScanTable(rows: try bf16Rows(table, path: path), width: table.width)
        }
        try withExtendedLifetime(recommender) {
            try writer.write(to: path, source: path)
        }
    }

    /// The int8 rows of `table` as a payload the writer pulls block by block, and the scales (computed now:
    /// 4 bytes a row). Each row is quantized when a block needs it (again at a block's edges: the same
    /// function on the same floats gives the same bytes as the scales' pass), so no table-sized array exists.
    static func quantized(_ table: ScoringTable) -> (rows: TensorPayload, scales: [Float]) {
        let width = table.width
        var row = [Int8](repeating: 0, count: width)
        let scales = (0 ..< table.rows).map { i in
            // safe: row i of the table holds `width` values.
            Int8ScanTable.quantize(table.table + i * width, width: width, into: &row)
        }
        let rows = TensorPayload.generated(byteCount: table.rows * width) { start, block in
            var position = start
            while position < start + block.count {
                let index = position / width, column = position % width
                let take = Swift.min(width - column, start + block.count - position)
                row.withUnsafeMutableBufferPointer { q in
                    // safe: index < rows because position < rows · width; the copy stays inside block and q.
                    _ = Int8ScanTable.quantize(table.table + index * width, width: width, into: q.baseAddress!)
                    (block.baseAddress! + (position - start)).copyMemory(from: q.baseAddress! + column, byteCount: take)
                }
                position += take
            }
        }
        return (rows, scales)
    }

    /// The scoring table rounded to bf16; a NaN or ±∞ value, or one that rounds to ±∞, is an error naming it.
    static func bf16Rows(_ table: ScoringTable, path: String) throws(FormatError) -> [UInt16] {
        var rows = [UInt16](repeating: 0, count: table.rows * table.width)
        for index in 0 ..< rows.count {
            // safe: index < rows · width, inside the table.
            let value = table.table[index]
            let bits = Bf16ScanTable.rounded(value)
            guard Bf16ScanTable.isFinite(bits) else {
                let (row, column) = index.quotientAndRemainder(dividingBy: table.width)
                throw FormatError(file: path, field: "scoring table row \(row), element \(column)",
                                  problem: value.isFinite ? "is \(value), which rounds to ±∞ in bf16" : "is \(value)",
                                  hint: "a bf16 scan table needs finite rows below 3.39e38 in magnitude; "
                                      + "convert without --scan-table bf16 (the fp32 scan serves this model)")
            }
            rows[index] = bits
        }
        return rows
    }
}

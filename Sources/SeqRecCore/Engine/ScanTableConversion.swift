// `seqrec convert … --scan-table int8`: adds the int8 copy of the scoring table (FORMAT.md §12.1) to a
// converted file. The scoring table is the one the family scores against (bound through the encoder, so
// e.g. CORE's normalised rows), quantized row by row (`Int8ScanTable.quantize`); the file is rewritten
// as version 2 atomically and reopened with the full reader.
//
// Memory (issue 18, 10M items): the f32 tensors are borrowed from the open file's mapping and the int8
// rows are quantized block by block while the writer streams them, so the only table-sized array is the
// scales (4 bytes a row); the rest is the page cache of the file being read.
import Foundation

public enum ScanTableConversion {
    /// Rewrites the model file at `path` with an int8 scan table (replacing one it already has; other tensors, e.g. the optional popularity, are kept).
    public static func addInt8(path: String) throws {
        try writeInt8(path: path)   // returns after the old file's mapping is released
        _ = try ModelFile.open(path: path)
    }

    private static func writeInt8(path: String) throws {
        let recommender = try Recommender(path: path, maxBatch: 1, tableMemory: .mapped, scanTable: .fp32)
        let file = recommender.file
        let table = recommender.scoring
        let width = table.width
        guard (1 ... ScanTensors.maxWidth).contains(width) else {
            throw FormatError(file: path, field: "scoring table", problem: "width \(width) is above \(ScanTensors.maxWidth)",
                              hint: "int8 scan tables are limited to width 4096; serve this model with the fp32 scan")
        }
        var writer = ModelFileWriter(family: file.family, hyperparameters: file.hyperparameters, vocabulary: file.vocabulary)
        for info in file.tensors where !info.name.hasPrefix(ScanTensors.prefix) {
            guard let tensor = file.tensor(info.name) else {
                throw FormatError(file: path, field: "tensor '\(info.name)'", problem: "is not f32")
            }
            writer.addTensor(info.name, shape: info.shape, payload: .borrowed(UnsafeRawBufferPointer(tensor.data), owner: file))
        }
        let (rows, scales) = quantized(table)
        writer.setInt8ScanTable(rows: rows, scales: scales, width: width)
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
}

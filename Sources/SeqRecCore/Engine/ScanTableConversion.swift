// `seqrec convert … --scan-table int8`: adds the int8 copy of the scoring table (FORMAT.md §12.1) to a
// converted file. The scoring table is the one the family scores against (bound through the encoder, so
// e.g. CORE's normalised rows), quantized row by row (`Int8ScanTable.quantize`); the file is rewritten
// as version 2 atomically and reopened with the full reader.
import Foundation

public enum ScanTableConversion {
    /// Rewrites the model file at `path` with an int8 scan table (replacing one it already has; other tensors, e.g. the optional popularity, are kept).
    public static func addInt8(path: String) throws {
        let recommender = try Recommender(path: path, maxBatch: 1, tableMemory: .mapped, scanTable: .fp32)
        let file = recommender.file
        let table = recommender.scoring
        guard (1 ... ScanTensors.maxWidth).contains(table.width) else {
            throw FormatError(file: path, field: "scoring table", problem: "width \(table.width) is above \(ScanTensors.maxWidth)",
                              hint: "int8 scan tables are limited to width 4096; serve this model with the fp32 scan")
        }
        var writer = ModelFileWriter(family: file.family, hyperparameters: file.hyperparameters, vocabulary: file.vocabulary)
        for info in file.tensors where !info.name.hasPrefix(ScanTensors.prefix) {
            guard let tensor = file.tensor(info.name) else {
                throw FormatError(file: path, field: "tensor '\(info.name)'", problem: "is not f32")
            }
            writer.addTensor(info.name, shape: info.shape, values: Array(tensor.data))
        }
        var rows = [Int8](repeating: 0, count: table.rows * table.width)
        var scales = [Float](repeating: 0, count: table.rows)
        rows.withUnsafeMutableBufferPointer { q in
            for i in 0..<table.rows {
                // safe: row i of both tables holds `width` values.
                scales[i] = Int8ScanTable.quantize(table.table + i * table.width, width: table.width,
                                                   into: q.baseAddress! + i * table.width)
            }
        }
        writer.setInt8ScanTable(rows: rows, scales: scales, width: table.width)
        try withExtendedLifetime(recommender) {
            try writer.write(to: path, source: path)
        }
        _ = try ModelFile.open(path: path)
    }
}

// SeqRec's scan tensors (FORMAT.md §12): names beginning with "seqrec.scan.", allowed from format version
// 2, each listed here with its dtype and shape rule. Today: the int8 scan table of §12.1 and the bf16 one of
// §12.2 (either, both or neither). The family's
// tensor set (§6, with the optional `seqrec.popularity` of §6.1, `OptionalTensors`) is checked without them; the scoring table they copy is matched at bind time
// (`Int8ScanTable`, `Bf16ScanTable`), where the family's scored rows are known; so is the finiteness of
// bf16 values (the binding reads every row anyway to compute the bound).

enum ScanTensors {
    static let prefix = "seqrec.scan."
    static let int8Rows = "seqrec.scan.int8"
    static let int8Scales = "seqrec.scan.int8.scale"
    static let bf16Rows = "seqrec.scan.bf16"
    static let known = [int8Rows, int8Scales, bf16Rows]
    /// Widest scan table (the kernels stage one query in registers-worth chunks: SEQREC_SCAN_MAX_WIDTH).
    static let maxWidth = 4096

    /// (family and optional tensors, scan tensors) by name prefix.
    static func split(_ tensors: [TensorInfo]) -> ([TensorInfo], [TensorInfo]) {
        (tensors.filter { !$0.name.hasPrefix(prefix) }, tensors.filter { $0.name.hasPrefix(prefix) })
    }

    /// Checks the SeqRec tensors of a file: known names, dtypes, ranks, the int8 table and its scales
    /// together with matching rows, width ≤ 4096, every scale ≥ 0 (they are f32, so already finite); the
    /// bf16 table's dtype, rank and width.
    static func validate(_ tensors: [TensorInfo], version: UInt32, bytes: UnsafeRawBufferPointer,
                         file: String) throws(FormatError) {
        guard !tensors.isEmpty else { return }
        guard version >= FileLayout.scanTableVersion else {
            throw FormatError(file: file, field: "tensor '\(tensors[0].name)'",
                              problem: "scan tensors ('seqrec.scan.*') need format version 2, the file says \(version)",
                              hint: "the file is corrupt or was written by a broken writer; convert it again")
        }
        for tensor in tensors where !known.contains(tensor.name) {
            throw FormatError(file: file, field: "tensor '\(tensor.name)'",
                              problem: "is not a scan tensor this reader knows (known: \(known.joined(separator: ", ")))",
                              hint: "written by a newer seqrec? upgrade seqrec")
        }
        if let bf16 = tensors.first(where: { $0.name == bf16Rows }) { try validateBf16(bf16, file: file) }
        guard tensors.contains(where: { $0.name == int8Rows || $0.name == int8Scales }) else { return }
        let rows = tensors.first { $0.name == int8Rows }, scales = tensors.first { $0.name == int8Scales }
        guard let rows, let scales else {
            let present = rows == nil ? int8Scales : int8Rows
            throw FormatError(file: file, field: "tensor '\(present)'",
                              problem: "is present without '\(present == int8Rows ? int8Scales : int8Rows)'",
                              hint: "the int8 scan table needs both its rows and their scales")
        }
        guard rows.dtype == .int8, rows.shape.count == 2 else {
            throw FormatError(file: file, field: "tensor '\(int8Rows)'",
                              problem: "is \(rows.dtype.name) of shape \(rows.shape), expected int8 [rows, width]")
        }
        guard (1 ... maxWidth).contains(rows.shape[1]) else {
            throw FormatError(file: file, field: "tensor '\(int8Rows)'.shape",
                              problem: "width \(rows.shape[1]) is above \(maxWidth), the widest int8 scan table",
                              hint: "convert without --scan-table; the fp32 scan serves any width")
        }
        guard scales.dtype == .f32, scales.shape == [rows.shape[0]] else {
            throw FormatError(file: file, field: "tensor '\(int8Scales)'",
                              problem: "is \(scales.dtype.name) of shape \(scales.shape), expected f32 [\(rows.shape[0])]")
        }
        // safe: the reader checked offset + byteLength within the file; f32 data is 4-byte aligned.
        for index in 0 ..< scales.shape[0] {
            let value = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(
                fromByteOffset: Int(scales.offset) + 4 * index, as: UInt32.self)))
            guard value >= 0 else {
                throw FormatError(file: file, field: "tensor '\(int8Scales)'",
                                  problem: "element \(index) is \(value); scales must be ≥ 0",
                                  hint: "the file is corrupt or was written by a broken writer; convert it again")
            }
        }
    }

    /// §12.2: bf16 [rows, width], 1 ≤ width ≤ 4096 (the byte length was checked against the shape by the reader).
    private static func validateBf16(_ rows: TensorInfo, file: String) throws(FormatError) {
        guard rows.dtype == .bf16, rows.shape.count == 2 else {
            throw FormatError(file: file, field: "tensor '\(bf16Rows)'",
                              problem: "is \(rows.dtype.name) of shape \(rows.shape), expected bf16 [rows, width]")
        }
        guard (1 ... maxWidth).contains(rows.shape[1]) else {
            throw FormatError(file: file, field: "tensor '\(bf16Rows)'.shape",
                              problem: "width \(rows.shape[1]) is not in 1 … \(maxWidth), the widths a bf16 scan table may have",
                              hint: "convert without --scan-table; the fp32 scan serves any width")
        }
    }
}

import Foundation

/// Builds model files (FORMAT.md) from a family, hyperparameters, named f32 tensors, an optional
/// vocabulary and optional int8 and bf16 scan tables (§12: then the file is version 2, else version 1).
/// Everything is validated against `FamilySchema` first, so a file it writes always opens. `write(to:)`
/// streams the file to disk (ModelFileWriter+Stream.swift): tensors may be borrowed from a mapping or
/// produced block by block (`TensorPayload`), so the writer never holds the family's tensors or the int8
/// rows (the bf16 rows, 2 bytes an element, are still an array).
public struct ModelFileWriter {
    public var family: ModelFamily
    public var hyperparameters: Hyperparameters
    public var vocabulary: Vocabulary?
    package private(set) var tensors: [(name: String, shape: [Int], payload: TensorPayload)] = []
    /// The int8 copy of the scoring table (FORMAT.md §12.1): rows [scales.count, width], row-major.
    package private(set) var int8ScanTable: (rows: TensorPayload, scales: [Float], width: Int)?
    /// The bf16 copy of the scoring table (FORMAT.md §12.2): bf16 bit patterns [rows.count / width, width].
    public private(set) var bf16ScanTable: (rows: [UInt16], width: Int)?

    public init(family: ModelFamily, hyperparameters: Hyperparameters, vocabulary: Vocabulary? = nil) {
        self.family = family
        self.hyperparameters = hyperparameters
        self.vocabulary = vocabulary
    }

    /// Appends a tensor; tensors are laid out in the order they are added.
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) {
        tensors.append((name, shape, .floats(values)))
    }

    /// Appends an f32 tensor whose little-endian bytes come from `payload` (borrowed or produced).
    package mutating func addTensor(_ name: String, shape: [Int], payload: TensorPayload) {
        tensors.append((name, shape, payload))
    }

    /// Adds the int8 scan table (FORMAT.md §12.1), stored after the family's tensors.
    public mutating func setInt8ScanTable(rows: [Int8], scales: [Float], width: Int) {
        int8ScanTable = (.int8s(rows), scales, width)
    }

    /// Adds the int8 scan table with rows produced while the file is written (`seqrec convert`).
    package mutating func setInt8ScanTable(rows: TensorPayload, scales: [Float], width: Int) {
        int8ScanTable = (rows, scales, width)
    }

    /// Adds the bf16 scan table (FORMAT.md §12.2), stored after the family's tensors (and the int8 table).
    public mutating func setBf16ScanTable(rows: [UInt16], width: Int) {
        bf16ScanTable = (rows, width)
    }

    /// Checks the model against the family schema: hyperparameters, tensor set and shapes, element
    /// counts, vocabulary size. `source` names the input in errors.
    public func validate(source: String) throws(FormatError) {
        try FamilySchema.validate(hyperparameters, family: family, file: source)
        try FamilySchema.validateTensors(tensors.map { ($0.name, DType.f32, $0.shape) }, family: family,
                                         hyperparameters: hyperparameters, file: source)
        for tensor in tensors {
            let elements = tensor.shape.reduce(1, *)  // safe: shapes equal schema shapes, bounded by its limits.
            guard elements * MemoryLayout<Float>.size == tensor.payload.byteCount else {
                throw FormatError(file: source, field: "tensor '\(tensor.name)'",
                                  problem: "has \(tensor.payload.byteCount / 4) values, shape \(tensor.shape) needs \(elements)")
            }
        }
        if let scan = int8ScanTable {
            guard (1 ... ScanTensors.maxWidth).contains(scan.width), !scan.scales.isEmpty,
                  scan.rows.byteCount == scan.scales.count * scan.width else {
                throw FormatError(file: source, field: "tensor '\(ScanTensors.int8Rows)'",
                                  problem: "has \(scan.rows.byteCount) values for \(scan.scales.count) scales of width \(scan.width)")
            }
            guard scan.scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw FormatError(file: source, field: "tensor '\(ScanTensors.int8Scales)'", problem: "has a negative or non-finite scale")
            }
        }
        if let scan = bf16ScanTable {
            guard (1 ... ScanTensors.maxWidth).contains(scan.width), !scan.rows.isEmpty, scan.rows.count % scan.width == 0 else {
                throw FormatError(file: source, field: "tensor '\(ScanTensors.bf16Rows)'",
                                  problem: "has \(scan.rows.count) values, not whole rows of width \(scan.width) in 1 … \(ScanTensors.maxWidth)")
            }
            if let bad = scan.rows.firstIndex(where: { !Bf16ScanTable.isFinite($0) }) {
                throw FormatError(file: source, field: "tensor '\(ScanTensors.bf16Rows)'",
                                  problem: "element \(bad) (flat index) is not finite")
            }
        }
        if let vocabulary, vocabulary.count != hyperparameters.int("n_items") {
            throw FormatError(file: source, field: "vocabulary",
                              problem: "has \(vocabulary.count) entries but n_items is \(hyperparameters.int("n_items") ?? 0)",
                              hint: "one entry per item row, special rows included")
        }
    }

    /// The file bytes, after `validate` (small files and tests; `write(to:)` streams instead).
    public func serialize(source: String = "<writer>") throws(FormatError) -> [UInt8] {
        try validate(source: source)
        return Self.serialize(layout())
    }

    // MARK: Layout seam for tests (FORMAT.md §2)

    /// Everything that goes into a file, before encoding. Tests edit it to build files that break one rule.
    package struct Layout {
        package struct Entry {
            package var name: String
            package var dtypeCode: UInt32
            package var shape: [UInt64]
            /// Relative to the start of the tensor data section.
            package var offset: UInt64
            package var byteLength: UInt64
            /// The bytes written at `offset`: the first `byteLength` of them, zeros after a shorter payload.
            package var payload: TensorPayload
            /// The f32 values of an owned payload (tests edit them; setting makes the payload owned).
            package var values: [Float] {
                get { payload.floatValues }
                set { payload = .floats(newValue) }
            }
        }
        package var formatVersion = FileLayout.formatVersion
        package var alignment = FileLayout.defaultAlignment
        package var familyName: String
        package var hyperparameters: [(key: String, value: HyperparameterValue)]
        package var entries: [Entry]
        package var vocabulary: [(token: String, title: String)]?
    }

    /// The standard layout: tensors in order, each at the next aligned offset.
    package func layout() -> Layout {
        var offset: UInt64 = 0
        var entries: [Layout.Entry] = []
        func append(_ name: String, _ dtype: DType, _ shape: [Int], _ payload: TensorPayload) {
            let byteLength = UInt64(payload.byteCount)
            entries.append(Layout.Entry(name: name, dtypeCode: dtype.rawValue, shape: shape.map { UInt64($0) },
                                        offset: offset, byteLength: byteLength, payload: payload))
            offset = FileLayout.alignOffset(offset + byteLength, FileLayout.defaultAlignment) ?? offset
        }
        for tensor in tensors { append(tensor.name, .f32, tensor.shape, tensor.payload) }
        if let scan = int8ScanTable {
            append(ScanTensors.int8Rows, .int8, [scan.scales.count, scan.width], scan.rows)
            append(ScanTensors.int8Scales, .f32, [scan.scales.count], .floats(scan.scales))
        }
        if let scan = bf16ScanTable {
            let rows = scan.rows
            // Little-endian host (ModelFile.swift refuses big-endian builds): the array's bytes are the file's.
            let payload = TensorPayload.generated(byteCount: rows.count * 2) { start, block in
                rows.withUnsafeBytes { bytes in
                    // safe: the writer asks for consecutive ranges inside byteCount = bytes.count.
                    block.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start ..< start + block.count]))
                }
            }
            append(ScanTensors.bf16Rows, .bf16, [scan.rows.count / scan.width, scan.width], payload)
        }
        let vocabularyEntries = vocabulary.map { vocabulary in
            (0 ..< vocabulary.count).map { id in
                (vocabulary.token(of: id) ?? "", vocabulary.title(of: id) ?? "")
            }
        }
        var layout = Layout(familyName: family.rawValue, hyperparameters: hyperparameters.entries, entries: entries,
                            vocabulary: vocabularyEntries)
        if int8ScanTable != nil || bf16ScanTable != nil { layout.formatVersion = FileLayout.scanTableVersion }
        return layout
    }

    /// The encoded metadata, tensor table and vocabulary sections of `layout` (FORMAT.md §4, §5, §7).
    static func encodeSections(_ layout: Layout) -> (metadata: [UInt8], table: [UInt8], vocabulary: [UInt8]) {
        var metadata = ByteSink()
        metadata.string(layout.familyName)
        metadata.u64(UInt64(layout.hyperparameters.count))
        for entry in layout.hyperparameters {
            metadata.string(entry.key)
            metadata.value(entry.value)
        }
        var table = ByteSink()
        table.u64(UInt64(layout.entries.count))
        for entry in layout.entries {
            table.string(entry.name)
            table.u32(entry.dtypeCode)
            table.u32(UInt32(entry.shape.count))
            for dimension in entry.shape { table.u64(dimension) }
            table.u64(entry.offset)
            table.u64(entry.byteLength)
        }
        var vocabulary = ByteSink()
        if let entries = layout.vocabulary {
            vocabulary.u64(UInt64(entries.count))
            for entry in entries {
                vocabulary.string(entry.token)
                vocabulary.string(entry.title)
            }
        }
        return (metadata.bytes, table.bytes, vocabulary.bytes)
    }

    /// Where the sections of `layout` go: (offset, length) of metadata, tensor table, vocabulary, tensor
    /// data, in file order (FORMAT.md §2). The data section starts at the next multiple of the alignment.
    static func sectionPlacement(_ layout: Layout, metadata: Int, table: Int, vocabulary: Int) -> [(offset: UInt64, length: UInt64)] {
        let dataLength = layout.entries.map { $0.offset + $0.byteLength }.max() ?? 0
        let metadataOffset = UInt64(FileLayout.preambleSize)
        let tableOffset = metadataOffset + UInt64(metadata)
        let vocabularyOffset = tableOffset + UInt64(table)
        let vocabularyEnd = vocabularyOffset + UInt64(vocabulary)
        let dataOffset = FileLayout.alignOffset(vocabularyEnd, layout.alignment) ?? 0
        return [(metadataOffset, UInt64(metadata)), (tableOffset, UInt64(table)), (vocabularyOffset, UInt64(vocabulary)),
                (dataOffset, dataLength)]
    }

    /// The 128-byte preamble (FORMAT.md §3) with its own checksum.
    static func preamble(_ layout: Layout, fileLength: UInt64,
                         sections: [(offset: UInt64, length: UInt64, checksum: UInt64)]) -> [UInt8] {
        var preamble = ByteSink()
        preamble.bytes.append(contentsOf: FileLayout.magic)
        preamble.u32(layout.formatVersion)
        preamble.u32(UInt32(truncatingIfNeeded: layout.alignment))
        preamble.u64(fileLength)
        for section in sections {
            preamble.u64(section.offset)
            preamble.u64(section.length)
            preamble.u64(section.checksum)
        }
        preamble.u64(Checksum.xxh64(preamble.bytes))
        return preamble.bytes
    }

    /// Encodes `layout` exactly as given (no validation), with correct checksums, in memory. Entries may
    /// overlap or leave gaps (tests build such files); `write(to:)` streams well-formed layouts instead.
    package static func serialize(_ layout: Layout) -> [UInt8] {
        let (metadata, table, vocabulary) = encodeSections(layout)
        let placement = sectionPlacement(layout, metadata: metadata.count, table: table.count, vocabulary: vocabulary.count)
        var file = [UInt8](repeating: 0, count: Int(placement[3].offset + placement[3].length))
        for (bytes, section) in zip([metadata, table, vocabulary], placement) {
            file.replaceSubrange(Int(section.offset) ..< Int(section.offset) + bytes.count, with: bytes)
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: TensorPayload.blockBytes, alignment: 64)
        defer { scratch.deallocate() }
        file.withUnsafeMutableBytes { output in
            for entry in layout.entries {
                var position = Int(placement[3].offset + entry.offset)
                entry.payload.forEachBlock(limit: Int(entry.byteLength), scratch: scratch) { block in
                    // safe: offset + byteLength ≤ the data section's length, which ends the file.
                    UnsafeMutableRawBufferPointer(rebasing: output[position ..< position + block.count]).copyMemory(from: block)
                    position += block.count
                }
            }
        }
        let sections = placement.map { section in
            (section.offset, section.length,
             file.withUnsafeBytes { Checksum.xxh64(UnsafeRawBufferPointer(rebasing: $0[Int(section.offset) ..< Int(section.offset + section.length)])) })
        }
        file.replaceSubrange(0 ..< FileLayout.preambleSize, with: preamble(layout, fileLength: UInt64(file.count), sections: sections))
        return file
    }

    /// Recomputes every section checksum named by the preamble, then the preamble checksum. Sections whose
    /// range is out of bounds are left alone. Tests use it to damage a field without tripping a checksum.
    package static func resealChecksums(_ file: inout [UInt8]) {
        guard file.count >= FileLayout.preambleSize else { return }
        func readU64(_ at: Int) -> UInt64 {
            (0 ..< 8).reduce(UInt64(0)) { $0 | UInt64(file[at + $1]) << (8 * UInt64($1)) }
        }
        func writeU64(_ value: UInt64, _ at: Int) {
            for index in 0 ..< 8 { file[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        }
        for section in 0 ..< FileLayout.sectionNames.count {
            let entry = FileLayout.sectionTableOffset + section * FileLayout.sectionEntrySize
            let offset = readU64(entry), length = readU64(entry + 8)
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, end <= UInt64(file.count) else { continue }
            writeU64(Checksum.xxh64(Array(file[Int(offset) ..< Int(end)])), entry + 16)
        }
        writeU64(Checksum.xxh64(Array(file[0 ..< FileLayout.preambleChecksummed])), FileLayout.preambleChecksummed)
    }
}

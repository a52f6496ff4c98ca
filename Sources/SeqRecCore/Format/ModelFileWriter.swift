import Foundation

/// Builds model files (FORMAT.md) from a family, hyperparameters, named f32 tensors, an optional
/// vocabulary and optional int8 and bf16 scan tables (§12: then the file is version 2, else version 1). `serialize()` validates everything against `FamilySchema` first, so a file it
/// writes always opens.
public struct ModelFileWriter {
    public var family: ModelFamily
    public var hyperparameters: Hyperparameters
    public var vocabulary: Vocabulary?
    public private(set) var tensors: [(name: String, shape: [Int], values: [Float])] = []
    /// The int8 copy of the scoring table (FORMAT.md §12.1): rows [scales.count, width], row-major.
    public private(set) var int8ScanTable: (rows: [Int8], scales: [Float], width: Int)?
    /// The bf16 copy of the scoring table (FORMAT.md §12.2): bf16 bit patterns [rows.count / width, width].
    public private(set) var bf16ScanTable: (rows: [UInt16], width: Int)?

    public init(family: ModelFamily, hyperparameters: Hyperparameters, vocabulary: Vocabulary? = nil) {
        self.family = family
        self.hyperparameters = hyperparameters
        self.vocabulary = vocabulary
    }

    /// Appends a tensor; tensors are laid out in the order they are added.
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) {
        tensors.append((name, shape, values))
    }

    /// Adds the int8 scan table (FORMAT.md §12.1), stored after the family's tensors.
    public mutating func setInt8ScanTable(rows: [Int8], scales: [Float], width: Int) {
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
            guard elements == tensor.values.count else {
                throw FormatError(file: source, field: "tensor '\(tensor.name)'",
                                  problem: "has \(tensor.values.count) values, shape \(tensor.shape) needs \(elements)")
            }
        }
        if let scan = int8ScanTable {
            guard (1 ... ScanTensors.maxWidth).contains(scan.width), !scan.scales.isEmpty,
                  scan.rows.count == scan.scales.count * scan.width else {
                throw FormatError(file: source, field: "tensor '\(ScanTensors.int8Rows)'",
                                  problem: "has \(scan.rows.count) values for \(scan.scales.count) scales of width \(scan.width)")
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

    /// The file bytes, after `validate`.
    public func serialize(source: String = "<writer>") throws(FormatError) -> [UInt8] {
        try validate(source: source)
        return Self.serialize(layout())
    }

    /// Validates, serializes and writes the file atomically to `path`.
    public func write(to path: String, source: String = "<writer>") throws {
        let bytes = try serialize(source: source)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FormatError(file: path, field: "output", problem: "cannot be written: \(error.localizedDescription)")
        }
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
            package var values: [Float]
            /// Raw little-endian bytes instead of `values` (int8 tensors).
            package var raw: [UInt8]? = nil
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
        for tensor in tensors {
            let byteLength = UInt64(tensor.values.count) * 4
            entries.append(Layout.Entry(name: tensor.name, dtypeCode: DType.f32.rawValue,
                                        shape: tensor.shape.map { UInt64($0) }, offset: offset,
                                        byteLength: byteLength, values: tensor.values))
            offset = FileLayout.alignOffset(offset + byteLength, FileLayout.defaultAlignment) ?? offset
        }
        if let scan = int8ScanTable {
            let rows = scan.rows.map { UInt8(bitPattern: $0) }
            entries.append(Layout.Entry(name: ScanTensors.int8Rows, dtypeCode: DType.int8.rawValue,
                                        shape: [UInt64(scan.scales.count), UInt64(scan.width)], offset: offset,
                                        byteLength: UInt64(rows.count), values: [], raw: rows))
            offset = FileLayout.alignOffset(offset + UInt64(rows.count), FileLayout.defaultAlignment) ?? offset
            entries.append(Layout.Entry(name: ScanTensors.int8Scales, dtypeCode: DType.f32.rawValue,
                                        shape: [UInt64(scan.scales.count)], offset: offset,
                                        byteLength: UInt64(scan.scales.count) * 4, values: scan.scales))
            offset = FileLayout.alignOffset(offset + UInt64(scan.scales.count) * 4, FileLayout.defaultAlignment) ?? offset
        }
        if let scan = bf16ScanTable {
            let bytes = scan.rows.map(\.littleEndian).withUnsafeBytes { Array($0) }
            entries.append(Layout.Entry(name: ScanTensors.bf16Rows, dtypeCode: DType.bf16.rawValue,
                                        shape: [UInt64(scan.rows.count / scan.width), UInt64(scan.width)], offset: offset,
                                        byteLength: UInt64(bytes.count), values: [], raw: bytes))
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

    /// Encodes `layout` exactly as given (no validation), with correct checksums.
    package static func serialize(_ layout: Layout) -> [UInt8] {
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
        let dataLength = layout.entries.map { Int($0.offset + $0.byteLength) }.max() ?? 0
        var data = [UInt8](repeating: 0, count: dataLength)
        for entry in layout.entries {
            if let raw = entry.raw {
                let count = min(raw.count, Int(entry.byteLength))
                data.replaceSubrange(Int(entry.offset) ..< Int(entry.offset) + count, with: raw.prefix(count))
                continue
            }
            var encoded = ByteSink()
            encoded.floats(entry.values)
            let count = min(encoded.bytes.count, Int(entry.byteLength))
            data.replaceSubrange(Int(entry.offset) ..< Int(entry.offset) + count, with: encoded.bytes.prefix(count))
        }

        let metadataOffset = FileLayout.preambleSize
        let tableOffset = metadataOffset + metadata.bytes.count
        let vocabularyOffset = tableOffset + table.bytes.count
        let vocabularyEnd = vocabularyOffset + vocabulary.bytes.count
        let dataOffset = Int(FileLayout.alignOffset(UInt64(vocabularyEnd), layout.alignment) ?? 0)
        var file = [UInt8](repeating: 0, count: dataOffset)
        file.replaceSubrange(metadataOffset ..< tableOffset, with: metadata.bytes)
        file.replaceSubrange(tableOffset ..< vocabularyOffset, with: table.bytes)
        file.replaceSubrange(vocabularyOffset ..< vocabularyEnd, with: vocabulary.bytes)
        file.append(contentsOf: data)

        var preamble = ByteSink()
        preamble.bytes.append(contentsOf: FileLayout.magic)
        preamble.u32(layout.formatVersion)
        preamble.u32(UInt32(truncatingIfNeeded: layout.alignment))
        preamble.u64(UInt64(file.count))
        for (offset, length) in [(metadataOffset, metadata.bytes.count), (tableOffset, table.bytes.count),
                                 (vocabularyOffset, vocabulary.bytes.count), (dataOffset, data.count)] {
            preamble.u64(UInt64(offset))
            preamble.u64(UInt64(length))
            preamble.u64(0)
        }
        preamble.u64(0)
        file.replaceSubrange(0 ..< FileLayout.preambleSize, with: preamble.bytes)
        resealChecksums(&file)
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

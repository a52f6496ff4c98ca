/// Everything `ModelFile` learns from validating a file.
struct ParsedModelFile {
    let formatVersion: UInt32
    let alignment: UInt64
    let sections: [SectionInfo]
    let family: ModelFamily
    let hyperparameters: Hyperparameters
    let tensors: [TensorInfo]
    let vocabulary: Vocabulary?
}

/// Validates and parses the bytes of a model file (FORMAT.md). Every count, offset and length is range-
/// and overflow-checked before use; every section's checksum is verified before it is interpreted (the
/// tensor data section's at the same time as the finiteness of its f32 tensors, whose result is used only
/// when the checksum matched).
package enum ModelFileReader {
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws(FormatError) -> ParsedModelFile {
        let preamble = try readPreamble(bytes, file: file)
        let sections = preamble.sections
        let metadata = try readMetadata(bytes, sections[0], file: file)
        let tensors = try readTensorTable(bytes, table: sections[1], data: sections[3],
                                          alignment: preamble.alignment, file: file)
        let (familyTensors, scanTensors) = ScanTensors.split(tensors)
        try FamilySchema.validateTensors(familyTensors.map { ($0.name, $0.dtype, $0.shape) }, family: metadata.family,
                                         hyperparameters: metadata.hyperparameters, file: file)
        let vocabulary = try readVocabulary(bytes, sections[2], itemCount: metadata.hyperparameters.int("n_items"),
                                            file: file)
        try verifyTensorData(bytes, sections[3], tensors: tensors, file: file)
        try ScanTensors.validate(scanTensors, version: preamble.version, bytes: bytes, file: file)
        return ParsedModelFile(formatVersion: preamble.version, alignment: preamble.alignment, sections: sections,
                               family: metadata.family, hyperparameters: metadata.hyperparameters,
                               tensors: tensors, vocabulary: vocabulary)
    }

    /// Parses file bytes held in an array (tests and tools that have no mapping).
    static func parse(_ bytes: [UInt8], file: String) throws(FormatError) -> ParsedModelFile {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(FormatError) in try parse(raw, file: file) } }
        return try result.get()
    }

    // MARK: Preamble (FORMAT.md §3)

    private static func readPreamble(_ bytes: UnsafeRawBufferPointer, file: String) throws(FormatError)
        -> (version: UInt32, alignment: UInt64, sections: [SectionInfo]) {
        guard bytes.count >= FileLayout.preambleSize else {
            throw FormatError(file: file, field: "preamble",
                              problem: "file is \(bytes.count) bytes, shorter than the \(FileLayout.preambleSize)-byte preamble",
                              hint: "not a SeqRec model file, or truncated")
        }
        var reader = SectionReader(bytes: bytes, start: 0, length: FileLayout.preambleSize, file: file, section: "preamble")
        let magic = (0 ..< 8).map { bytes[$0] }
        guard magic == FileLayout.magic else {
            throw FormatError(file: file, field: "preamble: magic", problem: "bytes \(hex(magic)) are not 'SEQRECMF'",
                              hint: "not a SeqRec model file; convert checkpoints with `seqrec convert`")
        }
        _ = try reader.u64("magic")
        let version = try reader.u32("format_version")
        guard FileLayout.supportedVersions.contains(version) else {
            let hint = FileLayout.supportedVersions.contains(version.byteSwapped)
                ? "the version is byte-swapped: the file was written big-endian"
                : version > FileLayout.supportedVersions.upperBound ? "written by a newer seqrec; upgrade seqrec"
                : "the file is corrupt"
            throw FormatError(file: file, field: "preamble: format_version",
                              problem: "version \(version) is not supported (this reader supports \(FileLayout.supportedVersions.lowerBound) … \(FileLayout.supportedVersions.upperBound))",
                              hint: hint)
        }
        let alignment = UInt64(try reader.u32("alignment"))
        let fileLength = try reader.u64("file_length")
        var entries: [(offset: UInt64, length: UInt64, checksum: UInt64)] = []
        for name in FileLayout.sectionNames {
            entries.append((try reader.u64("\(name).offset"), try reader.u64("\(name).length"),
                            try reader.u64("\(name).checksum")))
        }
        let storedChecksum = try reader.u64("preamble_checksum")
        let computed = Checksum.xxh64(UnsafeRawBufferPointer(rebasing: bytes[0 ..< FileLayout.preambleChecksummed]))
        guard storedChecksum == computed else {
            throw FormatError(file: file, field: "preamble: preamble_checksum",
                              problem: "stored \(hex(storedChecksum)), computed \(hex(computed))",
                              hint: "the file is corrupt; convert it again")
        }
        guard fileLength == UInt64(bytes.count) else {
            throw FormatError(file: file, field: "preamble: file_length",
                              problem: "header says \(fileLength) bytes but the file has \(bytes.count)",
                              hint: fileLength > UInt64(bytes.count) ? "the file is truncated" : "the file has extra bytes")
        }
        guard FileLayout.alignmentRange.contains(alignment), alignment & (alignment - 1) == 0 else {
            throw FormatError(file: file, field: "preamble: alignment",
                              problem: "\(alignment) is not a power of two in 64 … 65536")
        }
        var sections: [SectionInfo] = []
        var previousEnd = UInt64(FileLayout.preambleSize)
        for (index, entry) in entries.enumerated() {
            let name = FileLayout.sectionNames[index]
            let (end, overflow) = entry.offset.addingReportingOverflow(entry.length)
            guard !overflow, end <= fileLength else {
                throw FormatError(file: file, field: "preamble: \(name) section",
                                  problem: "offset \(entry.offset) + length \(entry.length) exceeds the file length \(fileLength)")
            }
            guard entry.offset >= previousEnd else {
                throw FormatError(file: file, field: "preamble: \(name).offset",
                                  problem: "\(entry.offset) overlaps or precedes the previous section ending at \(previousEnd)",
                                  hint: "sections must follow each other in order")
            }
            // Every byte of the file is checksummed or required zero (FORMAT.md §1): sections follow each
            // other without gaps, except the zero padding that aligns the tensor data section.
            var start = previousEnd
            if index == FileLayout.sectionNames.count - 1 {
                guard entry.offset % alignment == 0 else {
                    throw FormatError(file: file, field: "preamble: \(name).offset",
                                      problem: "\(entry.offset) is not a multiple of the alignment \(alignment)")
                }
                // safe: previousEnd ≤ fileLength = bytes.count, far below 2⁶⁴ − alignment.
                start = FileLayout.alignOffset(previousEnd, alignment) ?? previousEnd
                // safe: previousEnd ≤ entry.offset ≤ fileLength = bytes.count.
                if let nonZero = (Int(previousEnd) ..< Int(Swift.min(entry.offset, start))).first(where: { bytes[$0] != 0 }) {
                    throw FormatError(file: file, field: "padding before the tensor data section",
                                      problem: "byte \(nonZero) is 0x\(String(bytes[nonZero], radix: 16)), padding must be zero",
                                      hint: "the file is corrupt; convert it again")
                }
            }
            guard entry.offset == start else {
                throw FormatError(file: file, field: "preamble: \(name).offset",
                                  problem: "\(entry.offset) leaves \(entry.offset - start) unchecked bytes after the previous "
                                      + "section (expected \(start))",
                                  hint: "sections follow each other without gaps; the tensor data section starts at the next "
                                      + "multiple of the alignment")
            }
            previousEnd = end
            sections.append(SectionInfo(name: name, offset: entry.offset, length: entry.length, checksum: entry.checksum))
        }
        guard previousEnd == fileLength else {
            throw FormatError(file: file, field: "preamble: tensor data section",
                              problem: "ends at \(previousEnd) but the file has \(fileLength) bytes")
        }
        // The tensor data section (GBs at 10M items) is verified by `verifyTensorData`, on its own core.
        for section in sections.dropLast() {
            // safe: offset + length <= fileLength == bytes.count was checked above.
            let range = Int(section.offset) ..< Int(section.offset + section.length)
            let computed = Checksum.xxh64(UnsafeRawBufferPointer(rebasing: bytes[range]))
            guard computed == section.checksum else {
                throw FormatError(file: file, field: "\(section.name): checksum",
                                  problem: "stored \(hex(section.checksum)), computed \(hex(computed))",
                                  hint: "the file is corrupt; convert it again")
            }
        }
        return (version, alignment, sections)
    }

    // MARK: Tensor data (FORMAT.md §1, §6)

    /// The tensor data section's checksum and the finiteness of every f32 tensor, in two passes that run
    /// at once on two cores (both only read the mapping, so neither can fail on bad bytes other than by
    /// reporting them). A checksum mismatch is reported first: a corrupt file is "corrupt", whatever else.
    private static func verifyTensorData(_ bytes: UnsafeRawBufferPointer, _ data: SectionInfo, tensors: [TensorInfo],
                                         file: String) throws(FormatError) {
        var computed: UInt64 = 0
        var nonFinite: FormatError?
        let floats = tensors.filter { $0.dtype == .f32 }
        // safe: pass 0 writes only `computed`, pass 1 only `nonFinite`; the mapping is read-only.
        ParallelBlocks.run(count: 2, blockSize: 1) { pass, _ in
            if pass == 0 {
                // safe: offset + length <= fileLength == bytes.count was checked in readPreamble.
                let range = Int(data.offset) ..< Int(data.offset + data.length)
                computed = Checksum.xxh64(UnsafeRawBufferPointer(rebasing: bytes[range]))
            } else {
                do throws(FormatError) {
                    for tensor in floats { try checkFinite(bytes, tensor, file: file) }
                } catch {
                    nonFinite = error
                }
            }
        }
        guard computed == data.checksum else {
            throw FormatError(file: file, field: "\(data.name): checksum",
                              problem: "stored \(hex(data.checksum)), computed \(hex(computed))",
                              hint: "the file is corrupt; convert it again")
        }
        if let nonFinite { throw nonFinite }
    }

    // MARK: Metadata (FORMAT.md §4)

    private static func readMetadata(_ bytes: UnsafeRawBufferPointer, _ section: SectionInfo, file: String)
        throws(FormatError) -> (family: ModelFamily, hyperparameters: Hyperparameters) {
        var reader = SectionReader(bytes: bytes, start: Int(section.offset), length: Int(section.length),
                                file: file, section: "metadata")
        let familyName = try reader.string("family", maxLength: FileLayout.maxKeyLength)
        guard let family = ModelFamily(rawValue: familyName) else {
            throw reader.error("family", "unknown family '\(familyName)'",
                               hint: "known: " + ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let count = try reader.count("hyperparameter_count", limit: FileLayout.maxHyperparameters, minimumItemSize: 18)
        var entries: [(key: String, value: HyperparameterValue)] = []
        for index in 0 ..< count {
            let key = try reader.string("hyperparameter \(index).key", maxLength: FileLayout.maxKeyLength)
            entries.append((key, try readValue(&reader, field: "hyperparameter '\(key)'")))
        }
        try reader.expectFullyConsumed()
        let hyperparameters = Hyperparameters(entries)
        try FamilySchema.validate(hyperparameters, family: family, file: file)
        return (family, hyperparameters)
    }

    private static func readValue(_ reader: inout SectionReader, field: String) throws(FormatError) -> HyperparameterValue {
        let type = try reader.u8("\(field).type")
        switch type {
        case 0:
            return .int(try reader.i64(field))
        case 1:
            let value = try reader.f64(field)
            guard value.isFinite else { throw reader.error(field, "float \(value) is not finite") }
            return .float(value)
        case 2:
            let raw = try reader.u8(field)
            guard raw <= 1 else { throw reader.error(field, "bool byte is \(raw), expected 0 or 1") }
            return .bool(raw == 1)
        case 3:
            return .string(try reader.string(field, maxLength: FileLayout.maxStringValueLength, allowEmpty: true))
        case 4:
            let count = try reader.count("\(field).count", limit: FileLayout.maxIntsCount, minimumItemSize: 8)
            var values: [Int64] = []
            for index in 0 ..< count { values.append(try reader.i64("\(field)[\(index)]")) }
            return .ints(values)
        default:
            throw reader.error("\(field).type", "unknown type code \(type)", hint: "expected 0 … 4")
        }
    }

    // MARK: Tensor table (FORMAT.md §5)

    private static func readTensorTable(_ bytes: UnsafeRawBufferPointer, table: SectionInfo, data: SectionInfo,
                                        alignment: UInt64, file: String) throws(FormatError) -> [TensorInfo] {
        var reader = SectionReader(bytes: bytes, start: Int(table.offset), length: Int(table.length),
                                file: file, section: "tensor table")
        let count = try reader.count("tensor_count", limit: FileLayout.maxTensors, minimumItemSize: 41)
        guard count > 0 else { throw reader.error("tensor_count", "is 0; a model has tensors") }
        var tensors: [TensorInfo] = []
        var names = Set<String>()
        for index in 0 ..< count {
            let name = try reader.string("tensor \(index).name", maxLength: FileLayout.maxTensorNameLength)
            let field = "tensor \(index) '\(name)'"
            guard names.insert(name).inserted else { throw reader.error(field, "name appears twice") }
            let code = try reader.u32("\(field).dtype")
            guard let dtype = DType(rawValue: code) else {
                throw reader.error("\(field).dtype", "unknown dtype code \(code)", hint: "expected 0 … 3")
            }
            let rank = try reader.u32("\(field).rank")
            guard (1 ... FileLayout.maxRank).contains(rank) else {
                throw reader.error("\(field).rank", "is \(rank), expected 1 … \(FileLayout.maxRank)")
            }
            var shape: [Int] = []
            var elements: UInt64 = 1
            for axis in 0 ..< Int(rank) {
                let dimension = try reader.u64("\(field).shape[\(axis)]")
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard dimension >= 1, !overflow, let size = Int(exactly: dimension) else {
                    throw reader.error("\(field).shape[\(axis)]", "dimension \(dimension) is zero or too large")
                }
                elements = product
                shape.append(size)
            }
            let offset = try reader.u64("\(field).offset")
            let byteLength = try reader.u64("\(field).byte_length")
            let (expectedLength, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, expectedLength == byteLength else {
                throw reader.error("\(field).byte_length",
                                   "is \(byteLength) but \(dtype.name) × \(shape) needs \(overflow ? "more than 2^64" : String(expectedLength))")
            }
            guard offset % alignment == 0 else {
                throw reader.error("\(field).offset", "\(offset) is not a multiple of the alignment \(alignment)")
            }
            let (end, endOverflow) = offset.addingReportingOverflow(byteLength)
            guard !endOverflow, end <= data.length else {
                throw reader.error("\(field).offset", "offset \(offset) + byte_length \(byteLength) exceeds the "
                                   + "tensor data section length \(data.length)")
            }
            tensors.append(TensorInfo(name: name, dtype: dtype, shape: shape,
                                      offset: data.offset + offset, byteLength: byteLength))
        }
        try reader.expectFullyConsumed()
        let byOffset = tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(byOffset, byOffset.dropFirst()) where next.offset < previous.offset + previous.byteLength {
            throw reader.error("tensor '\(next.name)'.offset",
                               "overlaps tensor '\(previous.name)' (\(previous.offset) + \(previous.byteLength) > \(next.offset))")
        }
        return tensors
    }

    // MARK: Vocabulary (FORMAT.md §7)

    private static func readVocabulary(_ bytes: UnsafeRawBufferPointer, _ section: SectionInfo, itemCount: Int?,
                                       file: String) throws(FormatError) -> Vocabulary? {
        guard section.length > 0 else { return nil }
        var reader = SectionReader(bytes: bytes, start: Int(section.offset), length: Int(section.length),
                                file: file, section: "vocabulary")
        let count = try reader.count("count", limit: FileLayout.maxVocabularyCount, minimumItemSize: 16)
        guard count == itemCount else {
            throw reader.error("count", "is \(count) but n_items is \(itemCount.map(String.init) ?? "missing")",
                               hint: "one vocabulary entry per item row")
        }
        var tokens: [String] = []
        var titles: [String] = []
        tokens.reserveCapacity(count)
        titles.reserveCapacity(count)
        for index in 0 ..< count {
            tokens.append(try reader.string("entry \(index).token", maxLength: FileLayout.maxTokenLength))
            titles.append(try reader.string("entry \(index).title", maxLength: FileLayout.maxTitleLength, allowEmpty: true))
        }
        try reader.expectFullyConsumed()
        return try Vocabulary(tokens: tokens, titles: titles, source: file)
    }

    // MARK: Tensor values (FORMAT.md §6)

    /// Refuses NaN and ±∞ weights, naming the tensor and the flat (row-major) index of the first one.
    private static func checkFinite(_ bytes: UnsafeRawBufferPointer, _ tensor: TensorInfo, file: String) throws(FormatError) {
        // safe: offset + byteLength lies within the tensor data section, checked in readTensorTable.
        let values = UnsafeRawBufferPointer(rebasing: bytes[Int(tensor.offset) ..< Int(tensor.offset + tensor.byteLength)])
        if let index = firstNonFinite(values) {
            let value = Float(bitPattern: UInt32(littleEndian: values.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
            throw FormatError(file: file, field: "tensor '\(tensor.name)'",
                              problem: "element \(index) (flat index, row-major) is \(value)",
                              hint: "weights must be finite; fix the checkpoint and convert it again")
        }
    }

    /// The index of the first NaN or ±∞ among the little-endian f32 values in `bytes` (any alignment).
    /// Branch-free per element, 16 lanes at a time and 1,024 elements per test: bound by memory bandwidth
    /// (10M × 64 floats, 2.6 GB, in about a quarter of the checksum pass's time), so it finishes before the
    /// checksum on the other core.
    package static func firstNonFinite(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count / 4
        // safe: 4 · index + 4 ≤ bytes.count for every index < count.
        func bits(_ index: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)) }
        // An all-ones exponent (NaN, ±∞) plus one exponent step carries into bit 31; no finite value does.
        let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000), step = SIMD16<UInt32>(repeating: 0x0080_0000)
        var chunk = 0
        while chunk < count {
            let end = Swift.min(chunk + 1024, count)
            var lanes = SIMD16<UInt32>()
            var index = chunk
            while index + 16 <= end {
                // safe: 4 · (index + 16) ≤ 4 · end ≤ bytes.count. Little-endian hosts only (FORMAT.md §1).
                let values = bytes.loadUnaligned(fromByteOffset: 4 * index, as: SIMD16<UInt32>.self)
                lanes |= (values & exponent) &+ step
                index += 16
            }
            var carry = lanes.hasBit31 ? UInt32(0x8000_0000) : 0
            while index < end { carry |= (bits(index) & 0x7F80_0000) &+ 0x0080_0000; index += 1 }
            if carry & 0x8000_0000 != 0, let index = (chunk ..< end).first(where: { !Float(bitPattern: bits($0)).isFinite }) {
                return index
            }
            chunk = end
        }
        return nil
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}

private extension SIMD16 where Scalar == UInt32 {
    /// Whether any lane has bit 31 set.
    var hasBit31: Bool { (self & SIMD16(repeating: 0x8000_0000)) != SIMD16() }
}

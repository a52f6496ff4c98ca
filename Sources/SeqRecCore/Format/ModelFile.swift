#if _endian(big)
#error("SeqRec model files are little-endian and mapped in place; big-endian hosts are not supported")
#endif

/// One entry of the tensor table.
public struct TensorInfo: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Absolute offset of the tensor's first byte in the file (the table stores it relative to the data
    /// section; the reader adds the section offset).
    public let offset: UInt64
    public let byteLength: UInt64
}

/// A non-owning f32 view into a `ModelFile`'s mapping, valid while the `ModelFile` lives.
package struct Tensor {
    package let name: String
    package let shape: [Int]
    package let data: UnsafeBufferPointer<Float>
}

/// An opened, fully validated model file (FORMAT.md). Owns the mapping; immutable after `open`.
public final class ModelFile: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable and the mapping is read-only.
    public let path: String
    public let formatVersion: UInt32
    public let family: ModelFamily
    public let hyperparameters: Hyperparameters
    public let tensors: [TensorInfo]
    public let vocabulary: Vocabulary?
    /// Tensor data alignment in bytes.
    public let alignment: UInt64
    /// The four sections (metadata, tensor table, vocabulary, tensor data) with their verified checksums.
    public let sections: [SectionInfo]

    private let mapping: MappedFile
    private let tensorIndex: [String: Int]

    private init(path: String, mapping: MappedFile, parsed: ParsedModelFile) {
        self.path = path
        self.mapping = mapping
        formatVersion = parsed.formatVersion
        family = parsed.family
        hyperparameters = parsed.hyperparameters
        tensors = parsed.tensors
        vocabulary = parsed.vocabulary
        alignment = parsed.alignment
        sections = parsed.sections
        var index: [String: Int] = [:]
        for (position, tensor) in parsed.tensors.enumerated() { index[tensor.name] = position }
        tensorIndex = index
    }

    /// Maps and validates the file at `path`: structure, bounds, alignment, checksums, family schema.
    /// Throws `FormatError` naming the file and the bad field.
    public static func open(path: String) throws -> ModelFile {
        let mapping = try MappedFile(path: path)
        let parsed = try ModelFileReader.parse(mapping.bytes, file: path)
        return ModelFile(path: path, mapping: mapping, parsed: parsed)
    }

    /// Lets the process drop its mapped pages of `range` (a tensor copied elsewhere); see
    /// `MappedFile.releasePages(of:)`. Returns the bytes dropped.
    @discardableResult
    package func releasePages(of range: UnsafeRawBufferPointer) -> Int { mapping.releasePages(of: range) }

    /// The f32 tensor named `name`, as a view into the mapping; nil if absent or not f32.
    package func tensor(_ name: String) -> Tensor? {
        guard let position = tensorIndex[name] else { return nil }
        let info = tensors[position]
        guard info.dtype == .f32,
              let data = mapping.floats(atByteOffset: Int(info.offset), count: Int(info.byteLength / 4)) else { return nil }
        return Tensor(name: info.name, shape: info.shape, data: data)
    }

    /// The int8 tensor named `name` (a scan table, FORMAT.md §12) as a view into the mapping, with its
    /// shape; nil if absent or not int8.
    package func int8Tensor(_ name: String) -> (shape: [Int], data: UnsafeBufferPointer<Int8>)? {
        guard let position = tensorIndex[name] else { return nil }
        let info = tensors[position]
        guard info.dtype == .int8,
              let data = mapping.int8s(atByteOffset: Int(info.offset), count: Int(info.byteLength)) else { return nil }
        return (info.shape, data)
    }

    /// The bf16 tensor named `name` (a scan table, FORMAT.md §12.2) as a view of its 16-bit values into
    /// the mapping, with its shape; nil if absent or not bf16.
    package func bf16Tensor(_ name: String) -> (shape: [Int], data: UnsafeBufferPointer<UInt16>)? {
        guard let position = tensorIndex[name] else { return nil }
        let info = tensors[position]
        guard info.dtype == .bf16,
              let data = mapping.uint16s(atByteOffset: Int(info.offset), count: Int(info.byteLength / 2)) else { return nil }
        return (info.shape, data)
    }
}

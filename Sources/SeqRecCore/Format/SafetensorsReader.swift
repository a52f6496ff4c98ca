import Foundation
import SeqRecJSON

/// A strict reader for safetensors files (8-byte LE header length, JSON header, raw LE tensor bytes).
/// Accepts F32 tensors only, and checks the header length, JSON shape, dtypes, shapes, byte lengths and
/// that `data_offsets` cover the data buffer exactly, without overlap or holes.
struct SafetensorsReader {
    struct Entry {
        let name: String
        let shape: [Int]
        /// Absolute byte range in the file.
        let range: Range<Int>
    }

    static let maxHeaderLength = 100 * 1024 * 1024

    let path: String
    let entries: [Entry]
    let metadata: [String: String]
    private let mapping: MappedFile

    init(path: String) throws(FormatError) {
        do {
            mapping = try MappedFile(path: path)
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(file: path, field: "file", problem: "cannot be read: \(error)")
        }
        self.path = path
        let bytes = mapping.bytes
        guard bytes.count >= 8 else {
            throw FormatError(file: path, field: "header length", problem: "file is \(bytes.count) bytes, too short",
                              hint: "truncated safetensors file")
        }
        // safe: 8 bytes checked above.
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard headerLength >= 2, headerLength <= UInt64(Self.maxHeaderLength) else {
            throw FormatError(file: path, field: "header length",
                              problem: "\(headerLength) is outside 2 … \(Self.maxHeaderLength)",
                              hint: "not a safetensors file, or corrupt")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw FormatError(file: path, field: "header length",
                              problem: "\(headerLength) exceeds the \(bytes.count - 8) bytes after it",
                              hint: "truncated safetensors file")
        }
        let dataStart = 8 + Int(headerLength)
        let header = Data(UnsafeRawBufferPointer(rebasing: bytes[8 ..< dataStart]))
        guard case .object(let fields) = try JSONValue.parse(header, file: path, field: "header") else {
            throw FormatError(file: path, field: "header", problem: "is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        let dataLength = bytes.count - dataStart
        for (name, value) in fields {
            if name == "__metadata__" {
                metadata = try Self.metadata(value, path: path)
            } else {
                entries.append(try Self.entry(name, value, dataStart: dataStart, dataLength: dataLength, path: path))
            }
        }
        try Self.checkCoverage(entries, dataStart: dataStart, dataLength: dataLength, path: path)
        self.entries = entries.sorted { $0.name < $1.name }
        self.metadata = metadata
    }

    /// The tensor's little-endian bytes in the mapping (any alignment), valid while `owner` lives.
    func bytes(_ entry: Entry) -> UnsafeRawBufferPointer {
        // safe: entry.range was checked to lie in the mapping.
        UnsafeRawBufferPointer(rebasing: mapping.bytes[entry.range])
    }

    /// What keeps `bytes(_:)` valid: the mapping.
    var owner: AnyObject { mapping }

    private static func metadata(_ value: JSONValue, path: String) throws(FormatError) -> [String: String] {
        guard case .object(let fields) = value else {
            throw FormatError(file: path, field: "__metadata__", problem: "is \(value.typeName), expected an object")
        }
        var result: [String: String] = [:]
        for (key, item) in fields {
            guard case .string(let text) = item else {
                throw FormatError(file: path, field: "__metadata__.\(key)", problem: "is \(item.typeName), expected a string")
            }
            result[key] = text
        }
        return result
    }

    private static func entry(_ name: String, _ value: JSONValue, dataStart: Int, dataLength: Int,
                              path: String) throws(FormatError) -> Entry {
        let field = "tensor '\(name)'"
        guard case .object(let fields) = value else {
            throw FormatError(file: path, field: field, problem: "is \(value.typeName), expected an object")
        }
        let unexpected = Set(fields.keys).subtracting(["dtype", "shape", "data_offsets"])
        guard unexpected.isEmpty else {
            throw FormatError(file: path, field: field, problem: "has unexpected keys \(unexpected.sorted())")
        }
        guard case .string(let dtype)? = fields["dtype"] else {
            throw FormatError(file: path, field: "\(field).dtype", problem: "is missing or not a string")
        }
        guard dtype == "F32" else {
            throw FormatError(file: path, field: "\(field).dtype", problem: "is \(dtype); only F32 is supported",
                              hint: "export the checkpoint as float32")
        }
        guard case .array(let dimensions)? = fields["shape"] else {
            throw FormatError(file: path, field: "\(field).shape", problem: "is missing or not an array")
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in dimensions {
            guard case .int(let size) = dimension, size >= 0, let count = Int(exactly: size) else {
                throw FormatError(file: path, field: "\(field).shape", problem: "has an entry that is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: count)
            guard !overflow else { throw FormatError(file: path, field: "\(field).shape", problem: "element count overflows") }
            elements = product
            shape.append(count)
        }
        guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2,
              case .int(let begin) = offsets[0], case .int(let end) = offsets[1] else {
            throw FormatError(file: path, field: "\(field).data_offsets", problem: "is not an array of two integers")
        }
        guard begin >= 0, begin <= end, end <= Int64(dataLength) else {
            throw FormatError(file: path, field: "\(field).data_offsets",
                              problem: "[\(begin), \(end)] is not an ordered range inside the \(dataLength)-byte data buffer",
                              hint: "truncated or corrupt safetensors file")
        }
        let (byteLength, overflow) = elements.multipliedReportingOverflow(by: 4)
        guard !overflow, Int64(byteLength) == end - begin else {
            throw FormatError(file: path, field: "\(field).data_offsets",
                              problem: "span \(end - begin) bytes but F32 \(shape) needs \(overflow ? "too many" : String(byteLength))")
        }
        return Entry(name: name, shape: shape, range: (dataStart + Int(begin)) ..< (dataStart + Int(end)))
    }

    private static func checkCoverage(_ entries: [Entry], dataStart: Int, dataLength: Int,
                                      path: String) throws(FormatError) {
        var position = dataStart
        for entry in entries.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
            guard entry.range.lowerBound >= position else {
                throw FormatError(file: path, field: "tensor '\(entry.name)'.data_offsets",
                                  problem: "overlaps the previous tensor")
            }
            guard entry.range.lowerBound == position else {
                throw FormatError(file: path, field: "tensor '\(entry.name)'.data_offsets",
                                  problem: "leaves a hole of \(entry.range.lowerBound - position) bytes before it")
            }
            position = entry.range.upperBound
        }
        guard position == dataStart + dataLength else {
            throw FormatError(file: path, field: "data", problem: "\(dataStart + dataLength - position) trailing bytes belong to no tensor",
                              hint: "corrupt safetensors file")
        }
    }
}

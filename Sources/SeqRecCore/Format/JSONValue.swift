import Foundation

/// A parsed JSON value with integers kept apart from floats and booleans (config.json and safetensors
/// headers must not turn `1` into `true` or `0.5` into `0`).
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), int(Int64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `data`; on failure throws a one-line `FormatError` for `file`/`field`.
    static func parse(_ data: Data, file: String, field: String) throws(FormatError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw FormatError(file: file, field: field, problem: "is not valid JSON (\(Self.reason(error)))")
        }
    }

    private static func reason(_ error: Error) -> String {
        var text = "\(error)"
        if case DecodingError.dataCorrupted(let context) = error {
            text = context.debugDescription
            if let underlying = context.underlyingError { text += ": \(underlying.localizedDescription)" }
        }
        let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return String(oneLine.prefix(200))
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a float"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

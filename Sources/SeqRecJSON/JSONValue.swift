// A parsed JSON document with integers kept apart from floats and booleans, so a strict validator can
// say "k must be an integer" instead of accepting `true` or `2.5`, and config.json or a safetensors
// header cannot turn `1` into `true` or `0.5` into `0`. Used by the model files (SeqRecCore) and the
// request bodies and config file (SeqRecOperations). Parsing is Foundation's; the classification is ours.
import Foundation

public enum JSONValue: Decodable, Equatable, Sendable {
    case null, bool(Bool), int(Int64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
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

    /// Parses a document. The error names `field` and is one line without the document's content
    /// (bodies may hold user data): "not valid JSON", with Foundation's position when it gives one.
    public static func parse(_ data: Data, field: String = "body") throws(JSONInputError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            var reason = "not valid JSON"
            if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError {
                let text = "\(underlying)".split(whereSeparator: \.isNewline).joined(separator: " ")
                // Foundation's messages name a byte offset, never the document's content.
                if let range = text.range(of: "around line") ?? text.range(of: "at offset") {
                    reason += " (" + text[range.lowerBound...].prefix(80) + ")"
                }
            }
            throw JSONInputError(field: field, problem: reason)
        }
    }

    public static func parse(_ bytes: [UInt8], field: String = "body") throws(JSONInputError) -> JSONValue {
        try parse(Data(bytes), field: field)
    }

    /// What the value is, for messages: "an integer", "a float", "a string" ….
    public var typeName: String {
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

/// A JSON document that is not valid JSON or does not have the expected shape: which field, and what is
/// wrong with it.
public struct JSONInputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

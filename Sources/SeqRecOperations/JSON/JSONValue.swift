// A parsed JSON document with integers kept apart from floats and booleans, so a strict validator
// can say "k must be an integer" instead of accepting `true` or `2.5` (request bodies and the
// config file). Parsing is Foundation's; validation is ours.
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

    /// Parses a document; the error message is one line without the document's content.
    public static func parse(_ bytes: [UInt8]) throws(JSONInputError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            var reason = "not valid JSON"
            if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError {
                let text = "\(underlying)".split(whereSeparator: \.isNewline).joined(separator: " ")
                // Foundation's messages name a byte offset, never the document's content.
                if let range = text.range(of: "around line") ?? text.range(of: "at offset") {
                    reason += " (" + text[range.lowerBound...].prefix(80) + ")"
                }
            }
            throw JSONInputError(field: "body", problem: reason)
        }
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number with a fraction"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON document that does not have the expected shape: which field, and what is wrong with it.
public struct JSONInputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

/// Typed access to an object's fields that rejects unknown keys and wrong types by name.
public struct JSONObjectReader {
    private let fields: [String: JSONValue]
    private let context: String

    public init(_ value: JSONValue, context: String, allowed: Set<String>) throws(JSONInputError) {
        guard case .object(let fields) = value else {
            throw JSONInputError(field: context, problem: "must be a JSON object, got \(value.typeName)")
        }
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let hint = NearestName.find(key, among: allowed).map { "; did you mean '\($0)'?" } ?? ""
            throw JSONInputError(field: context.isEmpty ? key : "\(context).\(key)", problem: "is not a known field\(hint)")
        }
        self.fields = fields
        self.context = context
    }

    public func has(_ key: String) -> Bool { fields[key] != nil }

    public func value(_ key: String) -> JSONValue? { fields[key] }

    private func name(_ key: String) -> String { context.isEmpty ? key : "\(context).\(key)" }

    public func bool(_ key: String) throws(JSONInputError) -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let flag) = value else {
            throw JSONInputError(field: name(key), problem: "must be true or false, got \(value.typeName)")
        }
        return flag
    }

    public func integer(_ key: String, in range: ClosedRange<Int64>) throws(JSONInputError) -> Int64? {
        guard let value = fields[key] else { return nil }
        guard case .int(let number) = value else {
            throw JSONInputError(field: name(key), problem: "must be an integer, got \(value.typeName)")
        }
        guard range.contains(number) else {
            throw JSONInputError(field: name(key), problem: "must be \(range.lowerBound)...\(range.upperBound), got \(number)")
        }
        return number
    }

    public func string(_ key: String) throws(JSONInputError) -> String? {
        guard let value = fields[key] else { return nil }
        guard case .string(let text) = value else {
            throw JSONInputError(field: name(key), problem: "must be a string, got \(value.typeName)")
        }
        return text
    }
}

// Strict validation of JSON request bodies and the serve config file on top of SeqRecJSON's JSONValue:
// unknown keys are refused with the nearest known name, wrong types by name.
import SeqRecJSON

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

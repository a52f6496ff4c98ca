/// One typed hyperparameter value (FORMAT.md §4).
public enum HyperparameterValue: Sendable, Equatable {
    case int(Int64), float(Double), bool(Bool), string(String), ints([Int64])

    /// The on-disk type code.
    var typeCode: UInt8 {
        switch self {
        case .int: 0
        case .float: 1
        case .bool: 2
        case .string: 3
        case .ints: 4
        }
    }

    var typeName: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .string: "string"
        case .ints: "ints"
        }
    }

    var displayText: String {
        switch self {
        case .int(let value): String(value)
        case .float(let value): String(value)
        case .bool(let value): String(value)
        case .string(let value): "\"\(value)\""
        case .ints(let values): "[" + values.map(String.init).joined(separator: ", ") + "]"
        }
    }
}

/// Ordered, typed key/value hyperparameters under their upstream names.
public struct Hyperparameters: Sendable {
    public var entries: [(key: String, value: HyperparameterValue)]

    public init(_ entries: [(key: String, value: HyperparameterValue)] = []) {
        self.entries = entries
    }

    public func value(_ key: String) -> HyperparameterValue? {
        entries.first { $0.key == key }?.value
    }

    /// The value of an `int` entry, if it exists and fits `Int`.
    public func int(_ key: String) -> Int? {
        guard case .int(let value)? = value(key) else { return nil }
        return Int(exactly: value)
    }

    public func float(_ key: String) -> Double? {
        guard case .float(let value)? = value(key) else { return nil }
        return value
    }

    public func bool(_ key: String) -> Bool? {
        guard case .bool(let value)? = value(key) else { return nil }
        return value
    }

    public func string(_ key: String) -> String? {
        guard case .string(let value)? = value(key) else { return nil }
        return value
    }

    public func ints(_ key: String) -> [Int]? {
        guard case .ints(let values)? = value(key) else { return nil }
        return values.map { Int($0) }
    }
}

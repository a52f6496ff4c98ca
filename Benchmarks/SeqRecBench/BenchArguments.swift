// Hand-written `--name value` parsing for the bench commands (the project takes no dependencies).

public struct BenchUsageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `--key value` pairs and bare `--flag`s, looked up by name; every value is validated on read.
public struct BenchArguments: Sendable {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private let declared: Set<String>

    /// Parses `arguments` for a command that takes the options `known` (with a value) and `flagNames`
    /// (without); any other option is an error, so a misspelt one is never silently ignored.
    public init(_ arguments: [String], known: Set<String>, flagNames: Set<String> = []) throws(BenchUsageError) {
        declared = known.union(flagNames)
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw BenchUsageError("unexpected argument '\(argument)': options look like --name value")
            }
            let name = String(argument.dropFirst(2))
            guard declared.contains(name) else {
                throw BenchUsageError("unknown option '\(argument)'; this command takes "
                    + declared.sorted().map { "--" + $0 }.joined(separator: ", "))
            }
            if flagNames.contains(name) {
                flags.insert(name)
                index += 1
                continue
            }
            guard index + 1 < arguments.count else {
                throw BenchUsageError("option --\(name) needs a value")
            }
            values[name] = arguments[index + 1]
            index += 2
        }
    }

    /// A declared option's value; reading an undeclared name is a bug in the command, not user input.
    private func value(_ name: String) -> String? { values[checked(name)] }

    private func checked(_ name: String) -> String {
        precondition(declared.contains(name), "option --\(name) is read but not declared")
        return name
    }

    public func flag(_ name: String) -> Bool { flags.contains(checked(name)) }

    public func string(_ name: String) -> String? { value(name) }

    public func string(_ name: String, default fallback: String) -> String { value(name) ?? fallback }

    public func requiredString(_ name: String) throws(BenchUsageError) -> String {
        guard let value = value(name) else { throw BenchUsageError("missing required option --\(name)") }
        return value
    }

    public func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(BenchUsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw BenchUsageError("--\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    public func double(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws(BenchUsageError) -> Double {
        guard let text = value(name) else { return fallback }
        guard let value = Double(text), range.contains(value) else {
            throw BenchUsageError("--\(name) must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// A comma-separated list of integers, each within `range`.
    public func intList(_ name: String, default fallback: [Int], range: ClosedRange<Int>) throws(BenchUsageError) -> [Int] {
        guard let text = value(name) else { return fallback }
        var result: [Int] = []
        for part in text.split(separator: ",") {
            guard let value = Int(part), range.contains(value) else {
                throw BenchUsageError("--\(name) takes integers in \(range.lowerBound)...\(range.upperBound) separated by commas, got '\(text)'")
            }
            result.append(value)
        }
        guard !result.isEmpty else { throw BenchUsageError("--\(name) is empty") }
        return result
    }

    /// One of `choices`.
    public func choice(_ name: String, default fallback: String, from choices: [String]) throws(BenchUsageError) -> String {
        let value = value(name) ?? fallback
        guard choices.contains(value) else {
            throw BenchUsageError("--\(name) must be one of \(choices.joined(separator: ", ")), got '\(value)'")
        }
        return value
    }
}

/// A command-line usage error: printed as one line, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Hand-rolled `--flag value` / `--switch` parsing: the CLI stays free of package dependencies.
struct Arguments {
    private var remaining: [String]

    init(_ arguments: some Sequence<String>) { remaining = Array(arguments) }

    /// Removes and returns the value of `--name VALUE` (or `--name=VALUE`); nil when absent.
    mutating func option(_ name: String) throws -> String? {
        try options(name).last
    }

    /// Removes every occurrence of a repeatable option and returns their values in order.
    mutating func options(_ name: String) throws -> [String] {
        var values: [String] = []
        var index = 0
        while index < remaining.count {
            let argument = remaining[index]
            if argument == name {
                guard index + 1 < remaining.count else { throw UsageError("\(name) needs a value") }
                values.append(remaining[index + 1])
                remaining.removeSubrange(index...(index + 1))
            } else if argument.hasPrefix(name + "=") {
                values.append(String(argument.dropFirst(name.count + 1)))
                remaining.remove(at: index)
            } else {
                index += 1
            }
        }
        return values
    }

    mutating func flag(_ name: String) -> Bool {
        guard let index = remaining.firstIndex(of: name) else { return false }
        remaining.remove(at: index)
        return true
    }

    mutating func integer(_ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = try option(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// Removes and returns the next positional argument.
    mutating func positional(_ what: String) throws -> String {
        guard let index = remaining.firstIndex(where: { !$0.hasPrefix("--") }) else {
            throw UsageError("missing \(what)")
        }
        return remaining.remove(at: index)
    }

    /// Fails on anything not consumed, so typos never pass silently.
    func finish() throws {
        if let first = remaining.first { throw UsageError("unexpected argument '\(first)'; see `seqrec help`") }
    }
}

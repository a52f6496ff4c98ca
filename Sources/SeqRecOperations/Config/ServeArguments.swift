// `seqrec serve` arguments with a config file (docs/OPERATIONS.md §9): the file's keys are the
// flag names without dashes; each key becomes that flag's arguments placed before the command
// line, so the server's parser sees one argument list and a flag given on the command line wins
// (for repeatable flags such as --model, command-line occurrences replace the file's list).
// Unknown keys are an error naming the key and the nearest valid one.

import SeqRecJSON

public enum ServeArguments {
    public struct Prepared: Sendable, Equatable {
        public var operations: OperationsOptions
        /// Everything that is not an operations flag, in order, for the server's parser.
        public var serverArguments: [String]
        public var printConfig: Bool
        /// Every server flag given (file or command line) → its value(s), for `--print-config`.
        public var serverSettings: [String: JSONValue]
    }

    /// Server flags (name without dashes → takes a value) read from the server's usage text:
    /// `  --flag METAVAR  description` takes a value, `  --flag   description` does not.
    public static func flags(fromUsage usage: String) -> [String: Bool] {
        var flags: [String: Bool] = [:]
        for line in usage.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("--") else { continue }
            let name = trimmed.dropFirst(2).prefix { $0 != " " }
            let after = trimmed.dropFirst(2 + name.count)
            let takesValue = after.hasPrefix(" ") && !after.dropFirst().hasPrefix(" ") && after.count > 1
            if name != "help", !name.isEmpty { flags[String(name)] = takesValue }
        }
        return flags
    }

    /// Flags that may be given several times; their settings are lists.
    static let repeatable: Set<String> = ["model", "version-policy", "fallback"]

    public static func prepare(arguments: [String], serverUsage: String, readFile: (String) -> [UInt8]?)
        throws(ConfigError) -> Prepared
    {
        let serverFlags = flags(fromUsage: serverUsage)
        var known = serverFlags
        for (flag, takesValue) in OperationsOptions.flags { known[flag] = takesValue }

        // The config file first (its path can only come from the command line).
        var configPath: String?
        var index = 0
        var commandLineFlags = Set<String>()
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--"), let takesValue = known[String(argument.dropFirst(2))] {
                commandLineFlags.insert(String(argument.dropFirst(2)))
                if argument == "--config" {
                    guard index + 1 < arguments.count else { throw ConfigError("--config needs a file") }
                    guard configPath == nil else { throw ConfigError("--config is given twice") }
                    configPath = arguments[index + 1]
                }
                index += takesValue ? 2 : 1
            } else {
                index += 1
            }
        }
        var merged: [String] = []
        if let configPath {
            guard let bytes = readFile(configPath) else { throw ConfigError("--config: cannot read '\(configPath)'") }
            merged = try fileArguments(bytes, path: configPath, known: known, overridden: commandLineFlags)
        }
        merged += arguments

        var prepared = Prepared(operations: OperationsOptions(), serverArguments: [], printConfig: false, serverSettings: [:])
        index = 0
        while index < merged.count {
            let argument = merged[index]
            let name = argument.hasPrefix("--") ? String(argument.dropFirst(2)) : ""
            if let takesValue = OperationsOptions.flags[name] {
                if takesValue {
                    guard index + 1 < merged.count else { throw ConfigError("\(argument) needs a value") }
                    try prepared.operations.apply(name, merged[index + 1])
                } else if name == "print-config" {
                    prepared.printConfig = true
                }
                index += takesValue ? 2 : 1
                continue
            }
            prepared.serverArguments.append(argument)
            if let takesValue = serverFlags[name] {
                if takesValue, index + 1 < merged.count {
                    let text = merged[index + 1]
                    let value = Int64(text).map(JSONValue.int) ?? .string(text)
                    if case .array(let values)? = prepared.serverSettings[name] {
                        prepared.serverSettings[name] = .array(values + [value])
                    } else if let previous = prepared.serverSettings[name], repeatable.contains(name) {
                        prepared.serverSettings[name] = .array([previous, value])
                    } else {
                        prepared.serverSettings[name] = value
                    }
                    prepared.serverArguments.append(merged[index + 1])
                    index += 2
                    continue
                }
                if !takesValue { prepared.serverSettings[name] = .bool(true) }
            }
            index += 1
        }
        return prepared
    }

    /// The arguments a config file stands for; keys given on the command line are skipped.
    static func fileArguments(_ bytes: [UInt8], path: String, known: [String: Bool], overridden: Set<String>)
        throws(ConfigError) -> [String]
    {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ConfigError("--config \(path): \(error.problem)")
        }
        guard case .object(let settings) = document else {
            throw ConfigError("--config \(path): must be a JSON object of settings, got \(document.typeName)")
        }
        var arguments: [String] = []
        for key in settings.keys.sorted() {
            guard let takesValue = known[key], key != "config", key != "print-config" else {
                let hint = NearestName.find(key, among: known.keys.filter { $0 != "config" && $0 != "print-config" })
                    .map { "; did you mean '\($0)'?" } ?? ""
                throw ConfigError("--config \(path): unknown key '\(key.prefix(60))'\(hint)")
            }
            if overridden.contains(key) { continue }
            let value = settings[key]!
            if !takesValue {
                guard case .bool(let on) = value else {
                    throw ConfigError("--config \(path): '\(key)' is a switch: true or false, got \(value.typeName)")
                }
                if on { arguments.append("--\(key)") }
                continue
            }
            let values: [JSONValue]
            if case .array(let list) = value {
                values = list
            } else if case .object(let fields) = value {
                // {"NAME": POLICY, ...} stands for NAME=POLICY values (version-policy).
                values = try fields.keys.sorted().map { name throws(ConfigError) in
                    .string(name + "=" + (try policyText(fields[name]!, key: key, name: name, path: path)))
                }
            } else {
                values = [value]
            }
            for item in values {
                let text: String
                switch item {
                case .string(let string): text = string
                case .int(let number): text = String(number)
                default:
                    throw ConfigError("--config \(path): '\(key)' needs a string or an integer, got \(item.typeName)")
                }
                arguments += ["--\(key)", text]
            }
        }
        return arguments
    }

    /// A version policy as the config file writes it: `"latest"`, `{"latest": N}` or `{"specific": [V, ...]}`.
    static func policyText(_ value: JSONValue, key: String, name: String, path: String) throws(ConfigError) -> String {
        let problem = "--config \(path): '\(key)'.'\(name.prefix(60))' must be \"latest\", {\"latest\": N} or "
            + "{\"specific\": [V, ...]}"
        switch value {
        case .string(let text):
            return text
        case .object(let fields) where fields.count == 1:
            switch (fields.keys.first!, fields.values.first!) {
            case ("latest", .int(let count)):
                return "latest:\(count)"
            case ("specific", .array(let versions)):
                var numbers: [String] = []
                for version in versions {
                    guard case .int(let number) = version else { throw ConfigError(problem) }
                    numbers.append(String(number))
                }
                return "specific:" + numbers.joined(separator: ",")
            default:
                throw ConfigError(problem)
            }
        default:
            throw ConfigError(problem)
        }
    }

    /// `--print-config`'s output: one JSON object, keys sorted, one per line.
    public static func renderSettings(_ settings: [String: JSONValue]) -> String {
        var lines: [String] = []
        for key in settings.keys.sorted() {
            lines.append("  " + JSONWriter.quoted(key) + ": " + render(settings[key]!))
        }
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    /// Settings of this prepared command line, with the server's effective values merged in.
    public static func effectiveSettings(_ prepared: Prepared, server: [String: JSONValue]) -> [String: JSONValue] {
        var settings = prepared.serverSettings
        for (key, value) in server { settings[key] = value }
        for (key, value) in prepared.operations.settings { settings[key] = value }
        return settings
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .int(let number): String(number)
        case .double(let number): number.isFinite ? "\(number)" : "null"
        case .string(let text): JSONWriter.quoted(text)
        case .array(let values): "[" + values.map(render).joined(separator: ", ") + "]"
        case .object(let fields): "{" + fields.keys.sorted().map { JSONWriter.quoted($0) + ": " + render(fields[$0]!) }.joined(separator: ", ") + "}"
        }
    }
}

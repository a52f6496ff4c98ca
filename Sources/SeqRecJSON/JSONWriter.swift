// Hand-rolled JSON output for the admin API, the logs and `seqrec recommend --format jsonl`: strings
// escaped per RFC 8259, floats in their shortest round-tripping form (a JSON score parses back to exactly
// the binary protocol's f32).

public struct JSONWriter {
    public private(set) var text = ""

    public init() {}

    public mutating func raw(_ fragment: String) { text += fragment }

    public mutating func string(_ value: String) { text += Self.quoted(value) }

    public mutating func float(_ value: Float) { text += Self.number(value) }

    public mutating func integer(_ value: some BinaryInteger) { text += "\(value)" }

    public mutating func bool(_ value: Bool) { text += value ? "true" : "false" }

    /// `value` as a JSON number; `null` for NaN and ±∞, which JSON cannot express (a model never scores
    /// so, but an embedding of a model whose finite weights overflow Float can hold one, and the output
    /// must stay valid).
    public static func number(_ value: Float) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    /// `value` as a JSON string literal.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

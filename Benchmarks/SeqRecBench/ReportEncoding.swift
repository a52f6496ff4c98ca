import Foundation

/// JSON and CSV rendering of bench results (sorted keys, so diffs of saved results stay small).
public enum ReportEncoding {
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// One CSV document: a header row and one row per record, fields quoted where needed.
    public static func csv(header: [String], rows: [[String]]) -> String {
        var text = header.map(field).joined(separator: ",") + "\n"
        for row in rows {
            text += row.map(field).joined(separator: ",") + "\n"
        }
        return text
    }

    private static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes `text` to `path`, creating or replacing the file.
    public static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A number with a fixed count of decimals for CSV and tables.
    public static func decimal(_ value: Double, _ digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }
}

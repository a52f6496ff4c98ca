// config.json and safetensors headers are parsed by SeqRecJSON's JSONValue; a document that is not JSON
// becomes a FormatError naming the file and field.
import Foundation
import SeqRecJSON

extension JSONValue {
    /// Parses `data`; on failure throws a one-line `FormatError` for `file`/`field`.
    static func parse(_ data: Data, file: String, field: String) throws(FormatError) -> JSONValue {
        do {
            return try parse(data, field: field)
        } catch {
            throw FormatError(file: file, field: field, problem: "is \(error.problem)")
        }
    }
}

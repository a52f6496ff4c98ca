/// An error in a model file, a safetensors file or a conversion input.
///
/// The description is one line: the file, the field that was wrong, what was wrong, and a hint.
public struct FormatError: Error, CustomStringConvertible, Sendable {
    /// The file the problem was found in (as given by the caller).
    public let file: String
    /// The field, section or tensor that was wrong, e.g. `tensor table: tensor 3 'pos_emb.weight'.shape`.
    public let field: String
    /// What was wrong, with the offending value.
    public let problem: String
    /// What to do about it, when there is something useful to say.
    public let hint: String?

    public init(file: String, field: String, problem: String, hint: String? = nil) {
        self.file = file
        self.field = field
        self.problem = problem
        self.hint = hint
    }

    /// One line, always: control characters that came from the input (names, tokens) are escaped.
    public var description: String {
        var text = "\(file): \(field): \(problem)"
        if let hint { text += " (\(hint))" }
        return String(text.unicodeScalars.flatMap { scalar -> [Character] in
            scalar.properties.generalCategory == .control ? Array(scalar.escaped(asASCII: true)) : [Character(scalar)]
        })
    }
}

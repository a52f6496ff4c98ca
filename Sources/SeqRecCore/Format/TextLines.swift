// Line splitting for the text files SeqRec reads (vocab.tsv, JSONL input).

extension StringProtocol {
    /// The lines of a text, ending at "\n" or "\r\n". Swift compares Characters, and "\r\n" is one
    /// Character, so splitting on "\n" alone would leave a file written on Windows in one piece.
    /// A final line terminator does not start an extra empty line.
    package var textLines: [SubSequence] {
        var lines = split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}

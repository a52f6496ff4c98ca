/// `seqrec inspect`: a human-readable description of an opened model file (FORMAT.md §10), one item per
/// line, ending with a newline.
public enum ModelInspector {
    public static func describe(_ file: ModelFile) -> String {
        var lines: [String] = []
        lines.append("file: \(file.path)")
        lines.append("format version: \(file.formatVersion)")
        lines.append("alignment: \(file.alignment)")
        lines.append("family: \(file.family.rawValue)")

        lines.append("sections (\(file.sections.count)):")
        let sectionWidth = file.sections.map(\.name.count).max() ?? 0
        for section in file.sections {
            lines.append("  \(pad(section.name, sectionWidth))  offset \(section.offset)  length \(section.length)"
                         + "  xxh64 \(ModelFileReader.hex(section.checksum))")
        }

        lines.append("hyperparameters (\(file.hyperparameters.entries.count)):")
        let keyWidth = file.hyperparameters.entries.map(\.key.count).max() ?? 0
        for entry in file.hyperparameters.entries {
            lines.append("  \(pad(entry.key, keyWidth)) = \(entry.value.displayText) (\(entry.value.typeName))")
        }

        let totalBytes = file.tensors.reduce(UInt64(0)) { $0 + $1.byteLength }
        let parameters = file.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        lines.append("tensors (\(file.tensors.count), \(parameters) parameters, \(totalBytes) bytes):")
        let nameWidth = file.tensors.map(\.name.count).max() ?? 0
        let shapes = file.tensors.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }
        let shapeWidth = shapes.map(\.count).max() ?? 0
        for (tensor, shape) in zip(file.tensors, shapes) {
            lines.append("  \(pad(tensor.name, nameWidth))  \(tensor.dtype.name)  \(pad(shape, shapeWidth))"
                         + "  offset \(tensor.offset)  bytes \(tensor.byteLength)")
        }

        if let vocabulary = file.vocabulary {
            let titled = (0 ..< vocabulary.count).filter { vocabulary.title(of: $0) != nil }.count
            lines.append("vocabulary: \(vocabulary.count) items, \(titled) with titles")
            for id in Set([0, 1, vocabulary.count - 1]).sorted() where id < vocabulary.count {
                let title = vocabulary.title(of: id).map { " \"\($0)\"" } ?? ""
                lines.append("  \(id) -> \(vocabulary.token(of: id) ?? "")\(title)")
            }
        } else {
            lines.append("vocabulary: none")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

import Foundation

/// `seqrec convert`: turns a fixture folder (`weights.safetensors` + `config.json` [+ `vocab.tsv`], the layout
/// of MODELS.md §10) into a model file. Strict: every config key, hyperparameter and tensor is checked
/// against the family's declaration (`FamilySchema`, `ConfigFile`) before anything is written, and errors
/// name the file and the offending field or tensor.
public enum FixtureImporter {
    /// - Parameter popularity: a RecBole `.inter` file whose interaction counts are stored as the optional
    ///   `seqrec.popularity` tensor (FORMAT.md §6.1); `report` receives a one-line summary of them.
    public static func convert(folder: String, output: String, popularity: String? = nil,
                               report: (String) -> Void = { _ in }) throws {
        do {
            var writer = try makeWriter(folder: folder)
            if let popularity { report(try addPopularity(from: popularity, to: &writer).description) }
            try writer.write(to: output, source: folder)
        }   // the writer's mapping of the checkpoint is gone before the reopen maps the output
        _ = try ModelFile.open(path: output)
    }

    /// Counts `path`'s interactions per item (by the writer's vocabulary) into the popularity tensor.
    package static func addPopularity(from path: String, to writer: inout ModelFileWriter) throws -> PopularityCounts.Summary {
        let rows = writer.hyperparameters.int("n_items") ?? 0   // present: makeWriter validated the hyperparameters
        let (counts, summary) = try PopularityCounts.read(path: path, vocabulary: writer.vocabulary, rows: rows)
        writer.addTensor(OptionalTensors.popularity, shape: [rows], values: counts)
        return summary
    }

    /// Reads and checks a fixture folder; the returned writer is valid.
    package static func makeWriter(folder: String) throws -> ModelFileWriter {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(file: folder, field: "folder", problem: "not found or not a directory",
                              hint: "pass the folder holding weights.safetensors and config.json")
        }
        let configPath = join(folder, "config.json")
        let weightsPath = join(folder, "weights.safetensors")
        let vocabularyPath = join(folder, "vocab.tsv")

        let config = try ConfigFile(path: configPath)
        let weights = try SafetensorsReader(path: weightsPath)
        var shapes: [String: [Int]] = [:]
        for entry in weights.entries { shapes[entry.name] = entry.shape }
        let hyperparameters = try config.hyperparameters(tensorShapes: shapes)
        let table = try FamilySchema.tensorTable(hyperparameters, family: config.family, file: configPath)
        try FamilySchema.validateTensors(weights.entries.map { ($0.name, DType.f32, $0.shape) }, family: config.family,
                                         hyperparameters: hyperparameters, file: weightsPath)

        var vocabulary: Vocabulary?
        if FileManager.default.fileExists(atPath: vocabularyPath) {
            let parsed = try VocabularyTSV.read(path: vocabularyPath)
            guard parsed.count == hyperparameters.int("n_items") else {
                throw FormatError(file: vocabularyPath, field: "lines",
                                  problem: "\(parsed.count) items but n_items is \(hyperparameters.int("n_items") ?? 0)",
                                  hint: "one line per item row, special rows included")
            }
            vocabulary = parsed
        }

        var writer = ModelFileWriter(family: config.family, hyperparameters: hyperparameters, vocabulary: vocabulary)
        let byName = Dictionary(uniqueKeysWithValues: weights.entries.map { ($0.name, $0) })
        for spec in table.specs {
            guard let entry = byName[spec.name] else { continue }  // safe: validateTensors proved presence.
            // Borrowed from the mapping, not copied: the writer streams it (a 10M-item table is 2.56 GB).
            let bytes = weights.bytes(entry)
            // A NaN or infinite weight makes scores NaN or ±∞: reject the checkpoint rather than serve that.
            if let index = ModelFileReader.firstNonFinite(bytes) {
                let value = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                throw FormatError(file: join(folder, "weights.safetensors"), field: "tensor '\(spec.name)'[\(index)]",
                                  problem: "is \(value), not a finite number",
                                  hint: "the checkpoint is broken (diverged training?); re-export it")
            }
            writer.addTensor(spec.name, shape: spec.shape, payload: .borrowed(bytes, owner: weights.owner))
        }
        return writer
    }

    private static func join(_ folder: String, _ name: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(name).path
    }
}

/// `vocab.tsv`: UTF-8 lines `id<TAB>token<TAB>title`, ids 0 … n−1 in order (FORMAT.md §10).
enum VocabularyTSV {
    static func read(path: String) throws -> Vocabulary {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FormatError(file: path, field: "file", problem: "cannot be read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FormatError(file: path, field: "file", problem: "is not valid UTF-8")
        }
        let lines = text.textLines
        var tokens: [String] = []
        var titles: [String] = []
        tokens.reserveCapacity(lines.count)
        titles.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2 || fields.count == 3 else {
                throw FormatError(file: path, field: "line \(index + 1)",
                                  problem: "has \(fields.count) tab-separated fields, expected id, token, title")
            }
            guard Int(fields[0]) == index else {
                throw FormatError(file: path, field: "line \(index + 1).id", problem: "is '\(fields[0])', expected \(index)",
                                  hint: "ids must run 0, 1, 2, … in order")
            }
            tokens.append(String(fields[1]))
            titles.append(fields.count == 3 ? String(fields[2]) : "")
        }
        return try Vocabulary(tokens: tokens, titles: titles, source: path)
    }
}

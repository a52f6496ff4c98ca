// Durable attribute updates of one model name in the state directory (docs/OPERATIONS.md, "Item
// attributes", durability):
//   DIR/items/<name>/journal.jsonl    one line per acknowledged batch: {"updates":[...]}, appended and
//                                     fsync'ed before the batch is acknowledged
//   DIR/items/<name>/overlay.jsonl    every item's merged updates at the last compaction, one update per
//                                     line, written to a temporary file, fsync'ed, renamed over the old
//                                     one, the directory fsync'ed; then the journal is emptied the same way
//   DIR/items/<name>/journal.compacting.jsonl   the journal a background compaction folds into the
//                                     overlay (ItemCatalogue+Compaction.swift); removed after the overlay's rename
// Start-up reads the overlay, then the compacting journal, then the journal. Replaying a journal over an
// overlay that already holds it gives the same state (updates set fields, so a second application changes nothing), so a crash
// between the two renames loses and duplicates nothing. A last journal line without its newline is a
// batch whose write was cut short, never acknowledged: it is dropped (and cut off the file).
#if canImport(Glibc)
import Glibc
#endif

// @unchecked Sendable: `descriptor`, `journalBytes` and `hasRotated` change only under the owning
// catalogue's lock; the compaction thread calls only `finishCompaction`, which touches none of them.
final class AttributeJournal: @unchecked Sendable {
    let directory: String
    private var descriptor: Int32 = -1
    private(set) var journalBytes = 0
    /// A rotated journal (`rotatedPath`) exists: a compaction has not finished (or failed) since.
    private(set) var hasRotated = false

    /// Compact once the journal holds this many bytes.
    static let compactionBytes = 32 << 20

    /// Opens (creating) `stateDirectory/items/<name>`.
    init(stateDirectory: String, model: String) throws(CatalogueError) {
        let items = stateDirectory + "/items"
        directory = items + "/" + Self.escape(model)
        for path in [stateDirectory, items, directory] {
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw Self.failure("create directory \(path)")
            }
        }
        try syncDirectory(items)
        try syncDirectory(stateDirectory)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    var journalPath: String { directory + "/journal.jsonl" }
    var overlayPath: String { directory + "/overlay.jsonl" }
    var rotatedPath: String { directory + "/journal.compacting.jsonl" }

    /// The overlay's updates, then every journaled batch's (the rotated journal's first), in order;
    /// opens the journal for appending.
    func load() throws(CatalogueError) -> [AttributeUpdate] {
        var updates: [AttributeUpdate] = []
        if let text = try Self.read(overlayPath) {
            for (number, line) in Self.lines(text) where !line.isEmpty {
                guard line.last == UInt8(ascii: "\n") else {
                    throw CatalogueError(.storage, field: "\(overlayPath) line \(number)", "cut short; the file was written by rename, so it was changed by hand or the disk is damaged; move the state directory aside to start without it")
                }
                do {
                    let value = try CatalogueJSON.parse(line.dropLast())
                    updates.append(try AttributeUpdate.parse(value, tokenOnly: true))
                } catch {
                    throw CatalogueError(.storage, field: "\(overlayPath) line \(number)", "\(error.description); the state directory is damaged, move it aside to start without it")
                }
            }
        }
        if let text = try Self.read(rotatedPath) {
            hasRotated = true
            _ = try Self.batches(text, path: rotatedPath, into: &updates)
        }
        var goodBytes = 0
        if let text = try Self.read(journalPath) { goodBytes = try Self.batches(text, path: journalPath, into: &updates) }
        descriptor = open(journalPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("open \(journalPath)") }
        guard ftruncate(descriptor, off_t(goodBytes)) == 0, lseek(descriptor, off_t(goodBytes), SEEK_SET) >= 0,
              fsync(descriptor) == 0 else { throw Self.failure("trim \(journalPath)") }
        try syncDirectory(directory)
        journalBytes = goodBytes
        return updates
    }

    /// Appends the batches of journal `text` (read from `path`) to `updates`; returns the bytes of its
    /// complete lines. A last line without its newline is a batch whose write was cut short, never
    /// acknowledged: it is left out.
    private static func batches(_ text: [UInt8], path: String, into updates: inout [AttributeUpdate]) throws(CatalogueError) -> Int {
        var goodBytes = 0
        for (number, line) in lines(text) where !line.isEmpty {
            guard line.last == UInt8(ascii: "\n") else { break }
            do {
                updates.append(contentsOf: try UpdateBodyParser.batch(line.dropLast(), tokenOnly: true))
            } catch {
                throw CatalogueError(.storage, field: "\(path) line \(number)", "\(error.description); the state directory is damaged, move it aside to start without it")
            }
            goodBytes += line.count
        }
        return goodBytes
    }

    /// The updates of a `{"updates": [...]}` object (journal lines and PATCH bodies share it).
    static func batch(_ value: CatalogueJSON, tokenOnly: Bool = true) throws(CatalogueError) -> [AttributeUpdate] {
        guard case .object(let fields) = value else { throw CatalogueError(field: "", "expected an object {\"updates\": [...]}, found \(value.typeName)") }
        guard let field = fields.first(where: { $0.key == "updates" }) else {
            throw CatalogueError(field: "updates", "missing; send {\"updates\": [{\"id\": ..., ...}]}")
        }
        if let other = fields.first(where: { $0.key != "updates" }) {
            throw CatalogueError(field: String(other.key.prefix(64)), "unknown field; the body has only \"updates\"")
        }
        guard case .array(let elements) = field.value else {
            throw CatalogueError(field: "updates", "expected an array, found \(field.value.typeName)")
        }
        var updates: [AttributeUpdate] = []
        updates.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do throws(CatalogueError) { updates.append(try AttributeUpdate.parse(element, tokenOnly: tokenOnly)) } catch { throw error.within("updates[\(index)]") }
        }
        return updates
    }

    /// Appends one batch (ids already resolved to external ids) and waits until it is on disk.
    func append(_ updates: [AttributeUpdate]) throws(CatalogueError) {
        var line: [UInt8] = []
        line.reserveCapacity(16 + 48 * updates.count)
        line.append(contentsOf: "{\"updates\":[".utf8)
        for (index, update) in updates.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            update.appendJSON(to: &line)
        }
        line.append(contentsOf: "]}\n".utf8)
        if descriptor < 0 { try reopen() }   // a rotation could not open the new journal
        try Self.writeAll(descriptor, line, path: journalPath)
        guard fsync(descriptor) == 0 else { throw Self.failure("fsync \(journalPath)") }
        journalBytes += line.count
    }

    /// At start: replaces the overlay with `overlay` (its lines, one merged update per item), removes
    /// the rotated journal and empties the journal.
    func compact(overlay: [UInt8]) throws(CatalogueError) {
        try finishCompaction(overlay: overlay)
        hasRotated = false
        try replace(journalPath, with: [])
        try reopen()
        journalBytes = 0
    }

    /// Renames the journal to `rotatedPath` and starts an empty one (both renames made durable), so a
    /// compaction can fold the rotated one into the overlay while batches go on. Requires `!hasRotated`.
    func rotate() throws(CatalogueError) {
        precondition(!hasRotated, "one rotated journal at a time")
        guard rename(journalPath, rotatedPath) == 0 else { throw Self.failure("rename \(journalPath) to \(rotatedPath)") }
        hasRotated = true
        journalBytes = 0
        close(descriptor)
        descriptor = -1
        let fd = open(journalPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure("create \(journalPath)") }
        do {
            try syncDirectory(directory)
        } catch {
            close(fd)   // the next append reopens it and syncs the directory before anything is acknowledged
            throw error
        }
        descriptor = fd
    }

    /// Writes the overlay (temporary file, fsync, rename, directory fsync), then removes the rotated
    /// journal. Touches no mutable state: the compaction thread calls it without the catalogue's lock.
    func finishCompaction(overlay: [UInt8]) throws(CatalogueError) {
        try replace(overlayPath, with: overlay)
        guard unlink(rotatedPath) == 0 || errno == ENOENT else { throw Self.failure("remove \(rotatedPath)") }
        try syncDirectory(directory)
    }

    /// After `finishCompaction` (under the catalogue's lock).
    func rotatedJournalRemoved() { hasRotated = false }

    private func reopen() throws(CatalogueError) {
        if descriptor >= 0 { close(descriptor) }
        descriptor = open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("open \(journalPath)") }
        try syncDirectory(directory)   // it may have been created just now
    }

    private func replace(_ path: String, with text: [UInt8]) throws(CatalogueError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure("create \(temporary)") }
        defer { close(fd) }
        try Self.writeAll(fd, text, path: temporary)
        guard fsync(fd) == 0 else { throw Self.failure("fsync \(temporary)") }
        guard rename(temporary, path) == 0 else { throw Self.failure("rename \(temporary) to \(path)") }
        try syncDirectory(directory)
    }

    private func syncDirectory(_ path: String) throws(CatalogueError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Self.failure("fsync directory \(path)") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CatalogueError) {
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        guard ok else { throw failure("write \(path)") }
    }

    /// The whole file, or nil when it does not exist.
    private static func read(_ path: String) throws(CatalogueError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure("open \(path)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read \(path)")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Lines with their terminating newline (the last one may lack it), numbered from 1.
    static func lines(_ bytes: [UInt8]) -> [(Int, ArraySlice<UInt8>)] {
        var result: [(Int, ArraySlice<UInt8>)] = []
        var start = 0, number = 1
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
            result.append((number, bytes[start..<end]))
            start = end
            number += 1
        }
        return result
    }

    /// A model name as one safe path component: bytes outside [A-Za-z0-9_-] and a leading '.' as %XX.
    static func escape(_ name: String) -> String {
        var out = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: ".") where !out.isEmpty:
                out += "."
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }

    private static func failure(_ action: String) -> CatalogueError {
        let code = errno
        return CatalogueError(.storage, field: "state directory", "could not \(action): \(String(cString: strerror(code))) (errno \(code)); check the --state-dir path, its permissions and free space")
    }
}

extension AttributeUpdate {
    /// One JSON object with the update's given fields; the key as its external id (a string) or an
    /// internal id (a number).
    var json: String {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // The fixed pieces as bytes: appending an array is one copy, a string's UTF-8 view a slower generic path.
    private static let idField = Array("{\"id\":".utf8), categoriesField = Array(",\"categories\":[".utf8)
    private static let availableTrue = Array(",\"available\":true".utf8), availableFalse = Array(",\"available\":false".utf8)
    private static let neverExpires = Array(",\"expires_at\":null".utf8)

    /// Appends `json`'s UTF-8 (journal lines are built by the 10,000 without a String per update).
    func appendJSON(to out: inout [UInt8]) {
        out.append(contentsOf: Self.idField)
        switch key {
        case .token(let token): CatalogueJSON.appendQuoted(token, to: &out)
        case .id(let id): out.append(contentsOf: String(id).utf8)
        }
        if let available { out.append(contentsOf: available ? Self.availableTrue : Self.availableFalse) }
        if let categories {
            out.append(contentsOf: Self.categoriesField)
            for (index, category) in categories.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                CatalogueJSON.appendQuoted(category, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        switch expiresAt {
        case .at(let time): out.append(contentsOf: ",\"expires_at\":\"\(Timestamp.format(time))\"".utf8)
        case .never: out.append(contentsOf: Self.neverExpires)
        case nil: break
        }
        out.append(UInt8(ascii: "}"))
    }
}

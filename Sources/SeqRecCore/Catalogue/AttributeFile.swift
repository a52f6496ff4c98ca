// The attribute file of `--item-attributes NAME=FILE` (docs/OPERATIONS.md, "Item attributes"): UTF-8
// JSONL, one item per line, {"id": "<external id>", "available": bool, "categories": [...],
// "expires_at": "<RFC 3339>" | null}, every field but "id" optional; blank lines allowed; each id at most
// once. Any bad line stops the load with its line number and field.
#if canImport(Glibc)
import Glibc
#endif

enum AttributeFile {
    /// Longest line, in bytes.
    static let maxLineBytes = 64 << 10

    static func read(path: String) throws(CatalogueError) -> [AttributeUpdate] {
        guard let bytes = readAll(path) else {
            let code = errno
            throw CatalogueError(.storage, field: path, "cannot be read: \(String(cString: strerror(code))) (errno \(code))")
        }
        do { return try parse(bytes) } catch { throw error.within(path) }
    }

    /// The file's updates, in order (the format above).
    static func parse(_ bytes: [UInt8]) throws(CatalogueError) -> [AttributeUpdate] {
        var updates: [AttributeUpdate] = []
        var seen: [String: Int] = [:]
        for (number, line) in AttributeJournal.lines(bytes) {
            let body = line.last == UInt8(ascii: "\n") ? line.dropLast() : line
            guard body.count <= maxLineBytes else {
                throw CatalogueError(field: "line \(number)", "\(body.count) bytes, at most \(maxLineBytes)")
            }
            guard body.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
            do throws(CatalogueError) {
                let value = try CatalogueJSON.parse(body[...])
                let update = try AttributeUpdate.parse(value, tokenOnly: true)
                guard case .token(let token) = update.key else { continue }
                if let first = seen[token] {
                    throw CatalogueError(field: "id", "'\(token.prefix(64))' again (first on line \(first)); give each item once")
                }
                seen[token] = number
                updates.append(update)
            } catch {
                throw error.within("line \(number)")
            }
        }
        return updates
    }

    private static func readAll(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

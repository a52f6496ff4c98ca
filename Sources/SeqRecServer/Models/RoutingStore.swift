// The routing of every model (traffic split, pinned default, rollback history) on disk in
// `--state-dir`, so an acknowledged change survives a crash (docs/OPERATIONS.md §11.5): each change
// rewrites one small JSON file through a temporary file, fsync, rename and an fsync of the
// directory, before the admin call answers. A file that cannot be parsed is an error at start,
// naming the file: the operator decides, the server never silently forgets a split.
import Foundation
import Glibc
import SeqRecJSON
import SeqRecOperations

package struct RoutingStoreError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// One model's saved routing.
package struct SavedRouting: Equatable, Sendable {
    package var routing: TrafficRouting
    package var history: [TrafficRouting]

    package init(routing: TrafficRouting, history: [TrafficRouting] = []) {
        self.routing = routing
        self.history = history
    }
}

package struct RoutingStore: Sendable {
    package static let fileName = "model-routing.json"
    package let directory: String
    package var path: String { directory + "/" + Self.fileName }

    /// Creates the directory when missing.
    package init(directory: String) throws(RoutingStoreError) {
        self.directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        do {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        } catch {
            throw RoutingStoreError("--state-dir \(directory): cannot create it (\(error.localizedDescription))")
        }
    }

    /// The saved routings by model name; empty when nothing was saved yet.
    package func load() throws(RoutingStoreError) -> [String: SavedRouting] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw RoutingStoreError("\(path): cannot be read") }
            return [:]
        }
        do {
            return try Self.decode(JSONValue.parse([UInt8](data)))
        } catch {
            throw RoutingStoreError("\(path): \(error.field == "body" ? "" : error.field + ": ")\(error.problem); "
                + "fix or remove the file (it holds the traffic splits and default versions)")
        }
    }

    /// Writes every model's routing durably (temporary file, fsync, rename, fsync of the directory).
    package func save(_ routings: [String: SavedRouting]) throws(RoutingStoreError) {
        let bytes = Array(Self.encode(routings).utf8)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw RoutingStoreError("\(temporary): open failed (errno \(errno))") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                close(descriptor)
                throw RoutingStoreError("\(temporary): write failed (errno \(errno))")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            throw RoutingStoreError("\(temporary): fsync failed (errno \(errno))")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw RoutingStoreError("\(path): rename failed (errno \(errno))") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw RoutingStoreError("\(directory): open failed (errno \(errno))") }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw RoutingStoreError("\(directory): fsync failed (errno \(errno))") }
    }

    // MARK: the file format

    /// `{"format": 1, "models": {"NAME": {"default": V|null, "split": {"V": W, ...}, "history": [ROUTING, ...]}}}`
    static func encode(_ routings: [String: SavedRouting]) -> String {
        var out = JSONWriter()
        out.raw("{\"format\": 1, \"models\": {")
        for (position, name) in routings.keys.sorted().enumerated() {
            if position > 0 { out.raw(", ") }
            out.string(name)
            out.raw(": ")
            let saved = routings[name]!
            out.raw(String(encode(saved.routing).dropLast()))
            out.raw(", \"history\": [")
            out.raw(saved.history.map(encode).joined(separator: ", "))
            out.raw("]}")
        }
        out.raw("}}\n")
        return out.text
    }

    static func encode(_ routing: TrafficRouting) -> String {
        let split = routing.split.map { "\"\($0.version)\": \($0.weight)" }.joined(separator: ", ")
        return "{\"default\": \(routing.pinnedDefault.map(String.init) ?? "null"), \"split\": {\(split)}}"
    }

    static func decode(_ document: JSONValue) throws(JSONInputError) -> [String: SavedRouting] {
        let root = try JSONObjectReader(document, context: "", allowed: ["format", "models"])
        guard try root.integer("format", in: 1...1) != nil else { throw JSONInputError(field: "format", problem: "is missing") }
        guard case .object(let models)? = root.value("models") else {
            throw JSONInputError(field: "models", problem: "must be an object of model names")
        }
        var routings: [String: SavedRouting] = [:]
        for (name, value) in models {
            let model = try JSONObjectReader(value, context: "models.\(name)", allowed: ["default", "split", "history"])
            var history: [TrafficRouting] = []
            if let entries = model.value("history") {
                guard case .array(let list) = entries else {
                    throw JSONInputError(field: "models.\(name).history", problem: "must be an array")
                }
                for (index, entry) in list.enumerated() {
                    history.append(try decodeRouting(entry, context: "models.\(name).history[\(index)]"))
                }
            }
            routings[name] = SavedRouting(routing: try decodeRouting(value, context: "models.\(name)", extra: ["history"]),
                                          history: history)
        }
        return routings
    }

    /// A routing object `{"default": V|null, "split": {"V": W}}`.
    package static func decodeRouting(_ value: JSONValue, context: String, extra: Set<String> = [])
        throws(JSONInputError) -> TrafficRouting
    {
        let object = try JSONObjectReader(value, context: context, allowed: Set(["default", "split"]).union(extra))
        var pinned: UInt32?
        if let value = object.value("default"), value != .null {
            pinned = UInt32(try object.integer("default", in: 1...Int64(UInt32.max))!)
        }
        return TrafficRouting(pinnedDefault: pinned, split: try LifecycleJSON.shares(object.value("split"), field: context + ".split"))
    }
}

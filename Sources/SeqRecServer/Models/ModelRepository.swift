// A model repository on disk (docs/OPERATIONS.md §11.2), the TF Serving / Triton layout:
// DIR/<name>/<version>/model.seqrec with versions positive decimal integers. Scanning only lists
// directories; which versions are served is the version policy's choice. Anything that does not
// fit the layout is skipped with a note naming the path, never an error: one stray directory must
// not stop a reload of everything else.

/// Which versions of a model the repository serves.
public enum VersionPolicy: Sendable, Equatable, CustomStringConvertible {
    /// The newest `count` versions (`latest` = `latest:1`, the default).
    case latest(Int)
    /// Exactly these versions (those present on disk).
    case specific([UInt32])

    public static let `default` = VersionPolicy.latest(1)

    /// `latest`, `latest:N` (N ≥ 1) or `specific:V[,V...]` (versions ≥ 1); nil for anything else.
    public init?(_ text: String) {
        if text == "latest" {
            self = .latest(1)
            return
        }
        if text.hasPrefix("latest:") {
            guard let count = Int(text.dropFirst(7)), (1...1_000).contains(count) else { return nil }
            self = .latest(count)
            return
        }
        guard text.hasPrefix("specific:") else { return nil }
        var versions: [UInt32] = []
        for part in text.dropFirst(9).split(separator: ",", omittingEmptySubsequences: false) {
            guard let version = UInt32(part), version > 0 else { return nil }
            versions.append(version)
        }
        guard !versions.isEmpty, versions.count <= 64 else { return nil }
        self = .specific(Array(Set(versions)).sorted())
    }

    public var description: String {
        switch self {
        case .latest(let count): count == 1 ? "latest" : "latest:\(count)"
        case .specific(let versions): "specific:" + versions.map(String.init).joined(separator: ",")
        }
    }

    /// The versions this policy picks from those on disk (ascending).
    public func select(from available: [UInt32]) -> [UInt32] {
        switch self {
        case .latest(let count): Array(available.sorted().suffix(count))
        case .specific(let versions): versions.filter(available.contains)
        }
    }
}

/// What a scan found.
package struct RepositoryScan: Sendable, Equatable {
    /// Model name → version → path of its model.seqrec.
    package var models: [String: [UInt32: String]] = [:]
    /// Paths skipped, and why (logged as `repository_skipped`).
    package var skipped: [String] = []

    /// The versions of `name` on disk, ascending.
    package func versions(of name: String) -> [UInt32] { (models[name] ?? [:]).keys.sorted() }
}

package enum ModelRepository {
    package static let fileName = "model.seqrec"
    /// Models and versions beyond these counts are skipped (a runaway directory is not a denial of service).
    package static let maxModels = 256
    package static let maxVersionsPerModel = 1_024

    /// Lists `root`. `list` returns a directory's entries (nil: not a directory or unreadable);
    /// `isFile` says whether a path is a regular file.
    package static func scan(root: String, list: (String) -> [String]?, isFile: (String) -> Bool) -> RepositoryScan {
        var scan = RepositoryScan()
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        for name in (list(base) ?? []).sorted() where !name.hasPrefix(".") {
            let modelPath = base + "/" + name
            guard let entries = list(modelPath) else { continue }  // a plain file beside the models
            guard scan.models.count < maxModels else {
                scan.skipped.append("\(modelPath): more than \(maxModels) models in the repository")
                continue
            }
            var versions: [UInt32: String] = [:]
            for entry in entries.sorted() where !entry.hasPrefix(".") {
                let versionPath = modelPath + "/" + entry
                guard let version = UInt32(entry), version > 0, String(version) == entry else {
                    if list(versionPath) != nil {
                        scan.skipped.append("\(versionPath): not a version (versions are positive integers without leading zeros)")
                    }
                    continue
                }
                let file = versionPath + "/" + fileName
                guard isFile(file) else {
                    scan.skipped.append("\(versionPath): no \(fileName) in it")
                    continue
                }
                guard versions.count < maxVersionsPerModel else {
                    scan.skipped.append("\(versionPath): more than \(maxVersionsPerModel) versions")
                    continue
                }
                versions[version] = file
            }
            if !versions.isEmpty { scan.models[name] = versions }
        }
        return scan
    }
}

// The server's item attributes (docs/OPERATIONS.md, "Item attributes"): one `ItemCatalogue` per
// model name that has an attribute file or, with --state-dir, may receive updates; every loaded
// version of the name is attached (a version added later must be attached too: `attach`). Also the
// admin port's PATCH/GET item endpoints.
import SeqRecCore
import SeqRecOperations
import SeqRecProtocol

/// `--item-attributes NAME=FILE`.
public struct ItemAttributeSource: Sendable, Equatable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }
}

package final class ItemCatalogues: ItemAttributeServices, Sendable {
    package let byName: [String: ItemCatalogue]
    /// Updates are accepted only when they can be made durable.
    private let durable: Bool

    /// Loads the attribute files and the state directory's journals, and attaches every backend.
    package init(configuration: ServerConfiguration, backends: [any InferenceBackend]) throws {
        let names = Set(backends.map(\.info.name))
        for source in configuration.itemAttributes where !names.contains(source.name) {
            throw ServerCommandError(message: "--item-attributes \(source.name)=\(source.path): no model named '\(source.name)' "
                + "(served: \(names.sorted().joined(separator: ", ")))")
        }
        var catalogues: [String: ItemCatalogue] = [:]
        for backend in backends {
            let name = backend.info.name
            let file = configuration.itemAttributes.first { $0.name == name }?.path
            guard file != nil || configuration.stateDirectory != nil else { continue }
            if catalogues[name] == nil {
                do {
                    catalogues[name] = try ItemCatalogue(name: name, attributesFile: file,
                                                         stateDirectory: configuration.stateDirectory)
                } catch {
                    throw ServerCommandError(message: "item attributes of model '\(name)': \(error.description)")
                }
            }
            if let recommender = (backend as? RecommenderBackend)?.recommender { catalogues[name]!.attach(recommender) }
        }
        byName = catalogues
        durable = configuration.stateDirectory != nil
    }

    /// Serves a newly loaded version of its model name with the name's attributes.
    package func attach(_ backend: any InferenceBackend) {
        guard let recommender = (backend as? RecommenderBackend)?.recommender else { return }
        byName[backend.info.name]?.attach(recommender)
    }

    package func updateItems(model: String, body: [UInt8]) -> ItemAttributeOutcome {
        guard durable else {
            return .failed(.failedPrecondition, message: "item updates must be durable: start seqrec serve with --state-dir DIR")
        }
        guard let catalogue = byName[model] else {
            return .failed(.notFound, message: "no model named '\(model.prefix(100))'; GET /v1/models lists them")
        }
        do {
            let applied = try catalogue.apply(json: body)
            return .ok(json: "{\"applied\":\(applied)}\n")
        } catch {
            return .failed(Self.status(error), message: error.description)
        }
    }

    package func item(model: String, key: String) -> ItemAttributeOutcome {
        guard let catalogue = byName[model] else {
            return .failed(.notFound, message: "no item attributes for model '\(model.prefix(100))' (no --item-attributes "
                + "file and no --state-dir, or no such model)")
        }
        let itemKey: ItemKey
        if key.hasPrefix("#") {
            guard let id = Int64(key.dropFirst()), id >= 0 else {
                return .failed(.invalidArgument, message: "'\(key.prefix(40))' is not '#' and an internal id")
            }
            itemKey = .id(id)
        } else {
            itemKey = .token(key)
        }
        do {
            let (token, id, attributes) = try catalogue.item(itemKey)
            var json = attributes.json(id: token)
            json.removeLast()   // the closing brace: add the internal id
            json += ",\"internal_id\":" + (id.map { String($0) } ?? "null") + "}\n"
            return .ok(json: json)
        } catch {
            return .failed(Self.status(error), message: error.description)
        }
    }

    private static func status(_ error: CatalogueError) -> StatusCode {
        switch error.kind {
        case .invalidInput: .invalidArgument
        case .notFound: .notFound
        case .storage: .unavailable
        }
    }
}

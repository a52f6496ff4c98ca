// The item-attribute endpoints of the admin API (docs/OPERATIONS.md, "Item attributes"):
//   PATCH /v1/models/{name}/items        {"updates": [...]} → {"applied": N} once the batch is durable
//   GET   /v1/models/{name}/items/{id}   one item's attributes ({id} an external id; "#<n>" an internal id)
// The router hands these paths here; the server implements `ItemAttributeServices` (the catalogue lives
// in SeqRecCore, which this module does not import).
import SeqRecProtocol

/// What the item endpoints need from the server. Every call runs on the admin thread; `update` returns
/// only after the batch is durable (or refused, changing nothing).
public protocol ItemAttributeServices: AnyObject, Sendable {
    /// Applies a PATCH body to model `model`: `.ok` with the number applied, or a status and message.
    func updateItems(model: String, body: [UInt8]) -> ItemAttributeOutcome
    /// One item of `model`: `key` is the path's id (an external id; `#<n>` for internal id n).
    func item(model: String, key: String) -> ItemAttributeOutcome
    /// `seqrec_catalogue_*` per model name (CatalogueMetrics.swift).
    func catalogueMetrics() -> [CatalogueMetrics]
}

public enum ItemAttributeOutcome: Sendable, Equatable {
    /// The JSON answer body (one object and a newline).
    case ok(json: String)
    case failed(StatusCode, message: String)
}

extension AdminServices {
    /// The item endpoints' services; nil when the server has none (the routes answer UNIMPLEMENTED).
    public func itemAttributes() -> (any ItemAttributeServices)? { nil }
}

enum ItemRoutes {
    /// Handles `/v1/models/{name}/items[/{id}]` (`rest` = the segments after "models").
    static func handle(_ request: HTTPRequest, rest: [Substring], services: (any ItemAttributeServices)?,
                       respond: (HTTPResponse) -> Void) {
        guard let name = PercentDecoding.decode(rest[0]), !name.isEmpty else {
            respond(AdminRouter.error(.invalidArgument, "the model name in the path is empty or badly percent-encoded"))
            return
        }
        guard rest.count <= 3 else {
            respond(AdminRouter.error(.notFound, "no endpoint under /v1/models/{name}/items/{id}; see docs/OPERATIONS.md"))
            return
        }
        guard let services else {
            respond(AdminRouter.error(.unimplemented, "this server keeps no item attributes", status: .notImplemented))
            return
        }
        let outcome: ItemAttributeOutcome
        if rest.count == 2 {
            guard method(request, "PATCH", respond) else { return }
            if let type = request.header("content-type"),
               type.split(separator: ";").first.map({ $0.trimmingSpaces.lowercased() }) != "application/json" {
                respond(AdminRouter.error(.invalidArgument, "the body must be application/json", status: .unsupportedMediaType))
                return
            }
            outcome = services.updateItems(model: name, body: request.body)
        } else {
            guard method(request, "GET", respond) else { return }
            guard let key = PercentDecoding.decode(rest[2]), !key.isEmpty else {
                respond(AdminRouter.error(.invalidArgument, "the item id in the path is empty or badly percent-encoded"))
                return
            }
            outcome = services.item(model: name, key: key)
        }
        switch outcome {
        case .ok(let json): respond(HTTPResponse(status: .ok, contentType: "application/json", body: json))
        case .failed(let code, let message): respond(AdminRouter.error(code, message))
        }
    }

    private static func method(_ request: HTTPRequest, _ allowed: String, _ respond: (HTTPResponse) -> Void) -> Bool {
        guard request.method != allowed else { return true }
        var response = AdminRouter.error(.unimplemented, "\(request.method.prefix(20)) is not allowed here; use \(allowed)",
                                         status: .methodNotAllowed)
        response.headers.append(("Allow", allowed))
        respond(response)
        return false
    }
}

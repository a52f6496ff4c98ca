// A stand-in for the server behind the admin port: fixed models, a controllable readiness, and a
// recommend that answers on another thread (as the batcher does) or fails with a chosen status.
import Foundation
import SeqRecProtocol
import Synchronization
@testable import SeqRecOperations

final class FakeServices: AdminServices, @unchecked Sendable {
    let ready = Mutex(Readiness(ready: true))
    let failure = Mutex<(StatusCode, UInt32?)?>(nil)
    let received = Mutex<[(RecommendRequest, UInt32)]>([])
    let protocolLimits = ProtocolLimits()

    func liveness() -> Readiness { Readiness(ready: true) }
    func readiness() -> Readiness { ready.withLock { $0 } }

    func models() -> [ModelDescription] {
        [ModelDescription(name: "sasrec", version: 2, family: "recbole-sasrec", itemCount: 1_682, maxSessionLength: 50,
                          embeddingWidth: 64, hasVocabulary: true, isDefault: true, firstItemID: 1)]
    }

    func recommend(_ request: RecommendRequest, timeoutMicroseconds: UInt32,
                   completion: @escaping @Sendable (AdminRecommendOutcome) -> Void) {
        received.withLock { $0.append((request, timeoutMicroseconds)) }
        let failure = failure.withLock { $0 }
        DispatchQueue.global().async {
            if let (code, retry) = failure {
                completion(.failed(code, message: "fake \(code.name)", retryAfterMilliseconds: retry))
                return
            }
            // Items: the session reversed, scores 1/(rank+1).
            let items: ItemIDs
            switch request.session {
            case .internal(let ids): items = .internal(Array(ids.reversed().prefix(request.k)))
            case .external(let ids): items = .external(Array(ids.reversed().prefix(request.k)))
            }
            let scores = (0..<items.count).map { 1 / Float($0 + 1) + 0.1 }
            completion(.answered(RecommendResponse(modelName: request.modelName, modelVersion: 2, items: items, scores: scores,
                                                   embedding: request.includeEmbedding ? [0.5, -0.25] : []),
                                 titles: nil))
        }
    }

    func gauges() -> ServerGauges { ServerGauges() }

    func modelMetrics() -> [ModelMetrics] {
        [ModelMetrics(labels: SeriesLabels(model: "sasrec", version: 2, family: "recbole-sasrec"), loadSeconds: 0.1,
                      tableBytes: 430_592, itemCount: 1_682)]
    }
}

/// Runs the router synchronously for one request (waits for an asynchronous answer).
func route(_ router: AdminRouter, _ request: HTTPRequest) -> HTTPResponse {
    let box = Mutex<HTTPResponse?>(nil)
    let done = DispatchSemaphore(value: 0)
    router.handle(request) { response in
        box.withLock { $0 = response }
        done.signal()
    }
    done.wait()
    return box.withLock { $0! }
}

func makeRouter(_ services: FakeServices, token: String? = nil) -> AdminRouter {
    AdminRouter(services: services, registry: MetricsRegistry(), build: BuildInfo(version: "test", kernels: "auto"),
                authorization: AdminAuthorization(token: token.map { Array($0.utf8) }))
}

func post(_ path: String, _ body: String, headers: [(name: String, value: String)] = []) -> HTTPRequest {
    HTTPRequest(method: "POST", target: path, headers: [("host", "x"), ("content-type", "application/json")] + headers,
                body: Array(body.utf8))
}

func get(_ path: String, headers: [(name: String, value: String)] = []) -> HTTPRequest {
    HTTPRequest(method: "GET", target: path, headers: [("host", "x")] + headers)
}

func bodyText(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

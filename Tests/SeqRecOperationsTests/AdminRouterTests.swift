// Every route of the admin API in memory: probes, metrics, models, recommend (fields, id spaces,
// every validation error by field), error mapping to HTTP status, methods, and the bearer token.
import Foundation
import SeqRecProtocol
import Testing
@testable import SeqRecOperations

@Suite struct AdminRouterTests {
    @Test func probesFollowReadiness() {
        let services = FakeServices()
        let router = makeRouter(services)
        #expect(route(router, get("/livez")).status == .ok)
        #expect(route(router, get("/readyz")).status == .ok)
        services.ready.withLock { $0 = Readiness(ready: false, reason: "draining") }
        let response = route(router, get("/readyz"))
        #expect(response.status == .serviceUnavailable && bodyText(response) == "draining\n")
        #expect(route(router, get("/livez")).status == .ok)
        #expect(route(router, HTTPRequest(method: "POST", target: "/livez", body: [])).status == .methodNotAllowed)
        #expect(route(router, HTTPRequest(method: "HEAD", target: "/readyz")).status == .serviceUnavailable)
    }

    @Test func metricsAndModels() {
        let router = makeRouter(FakeServices())
        let metrics = route(router, get("/metrics"))
        #expect(metrics.status == .ok && metrics.header("content-type") == PrometheusText.contentType)
        #expect(bodyText(metrics).contains("seqrec_model_info{model=\"sasrec\",version=\"2\",family=\"recbole-sasrec\"} 1\n"))
        let models = route(router, get("/v1/models"))
        #expect(bodyText(models) == "{\"models\":[{\"name\":\"sasrec\",\"version\":2,\"family\":\"recbole-sasrec\",\"items\":1682,"
            + "\"first_item\":1,\"max_session_length\":50,\"embedding_width\":64,\"has_vocabulary\":true,\"default\":true}]}\n")
        #expect(route(router, get("/v1/models/sasrec")).status == .ok)
        #expect(route(router, get("/v1/models/nope")).status == .notFound)
        #expect(route(router, get("/v1/nothing")).status == .notFound)
        #expect(route(router, get("/")).status == .notFound)
        let wrong = route(router, HTTPRequest(method: "DELETE", target: "/v1/models", headers: [("host", "x")]))
        #expect(wrong.status == .methodNotAllowed && wrong.header("allow") == "GET, HEAD")
        #expect(bodyText(wrong).hasPrefix("{\"code\":\"UNIMPLEMENTED\""))
    }

    @Test func recommendCarriesEveryField() throws {
        let services = FakeServices()
        let router = makeRouter(services)
        let response = route(router, post("/v1/models/sasrec/recommend",
            #"{"session":[5,6,7],"k":2,"exclude_seen":true,"allow":[1,2],"deny":[3],"candidates":[5,6,7],"version":2,"want_embedding":true,"timeout_ms":250}"#))
        #expect(response.status == .ok, "\(bodyText(response))")
        #expect(bodyText(response) == #"{"model":"sasrec","version":2,"fallback":false,"items":[{"id":7,"score":1.1},{"id":6,"score":0.6}],"embedding":[0.5,-0.25]}"# + "\n")
        let (request, timeout) = try #require(services.received.withLock { $0.last })
        #expect(request == RecommendRequest(session: .internal([5, 6, 7]), k: 2, modelName: "sasrec", modelVersion: 2,
                                            excludeSeen: true, allow: .internal([1, 2]), deny: .internal([3]),
                                            candidates: .internal([5, 6, 7]), includeEmbedding: true))
        #expect(timeout == 250_000)

        let external = route(router, post("/v1/models/sasrec/recommend", #"{"session":["a","b\"c"],"skip_unknown":true,"deny":["x"]}"#))
        #expect(bodyText(external) == #"{"model":"sasrec","version":2,"fallback":false,"items":[{"id":"b\"c","score":1.1},{"id":"a","score":0.6}]}"# + "\n")
        #expect(services.received.withLock { $0.last?.0.skipUnknown } == true)
    }

    /// Bad bodies: (body, field named in the message).
    static let badBodies: [(String, String)] = [
        ("", "body"),
        ("{", "body"),
        ("[1,2]", "must be a JSON object"),
        ("{}", "session"),
        (#"{"session":[],"fallback":false}"#, "session"),   // without "fallback" the model's default decides (server)
        (#"{"session":1}"#, "session"),
        (#"{"session":[1,"a"]}"#, "session[1]"),
        (#"{"session":[1.5]}"#, "session[0]"),
        (#"{"session":[-1]}"#, "session[0]"),
        (#"{"session":[4294967296]}"#, "session[0]"),
        (#"{"session":[true]}"#, "session[0]"),
        (#"{"session":[""]}"#, "session[0]"),
        (#"{"session":[1],"k":0}"#, "k"),
        (#"{"session":[1],"k":1001}"#, "k"),
        (#"{"session":[1],"k":"5"}"#, "k"),
        (#"{"session":[1],"k":2.5}"#, "k"),
        (#"{"session":[1],"exclude_seen":1}"#, "exclude_seen"),
        (#"{"session":[1],"allow":["a"]}"#, "allow[0]"),
        (#"{"session":["a"],"deny":[1]}"#, "deny[0]"),
        (#"{"session":[1],"candidates":[1,2],"k":3}"#, "k"),
        (#"{"session":[1],"candidates":[1]}"#, "k"),
        (#"{"session":[1],"version":-1}"#, "version"),
        (#"{"session":[1],"timeout_ms":0}"#, "timeout_ms"),
        (#"{"session":[1],"skip_unknown":true}"#, "skip_unknown"),
        (#"{"session":[1],"sesion_key":"x"}"#, "sesion_key"),
        (#"{"session":[1],"kk":3}"#, "did you mean 'k'"),
    ]

    @Test func invalidBodiesAreRefusedNamingTheField() {
        let services = FakeServices()
        let router = makeRouter(services)
        for (body, field) in Self.badBodies {
            let response = route(router, post("/v1/models/sasrec/recommend", body))
            #expect(response.status == .badRequest, "\(body)")
            let text = bodyText(response)
            #expect(text.hasPrefix("{\"code\":\"INVALID_ARGUMENT\",\"message\":"), "\(body): \(text)")
            #expect(text.contains(field), "\(body): \(text)")
        }
        #expect(services.received.withLock { $0.isEmpty })
        let session = "[" + (0..<1_001).map(String.init).joined(separator: ",") + "]"
        #expect(route(router, post("/v1/models/sasrec/recommend", "{\"session\":\(session)}")).status == .badRequest)
        let text = post("/v1/models/sasrec/recommend", #"{"session":[1]}"#, headers: [])
        var plain = text
        plain.headers = [("host", "x"), ("content-type", "text/plain")]
        #expect(route(router, plain).status == .unsupportedMediaType)
        #expect(route(router, get("/v1/models/sasrec/recommend")).status == .methodNotAllowed)
        #expect(route(router, post("/v1/models/%zz/recommend", "{}")).status == .badRequest)
    }

    @Test func statusesMapToHTTP() {
        let services = FakeServices()
        let router = makeRouter(services)
        let cases: [(StatusCode, UInt32?, HTTPStatus, String?)] = [
            (.notFound, nil, .notFound, nil), (.resourceExhausted, 1_500, .tooManyRequests, "2"),
            (.unavailable, 10, .serviceUnavailable, "1"), (.deadlineExceeded, nil, .gatewayTimeout, nil),
            (.invalidArgument, nil, .badRequest, nil), (.internal, nil, .internalServerError, nil),
        ]
        for (code, retry, status, retryAfter) in cases {
            services.failure.withLock { $0 = (code, retry) }
            let response = route(router, post("/v1/models/sasrec/recommend", #"{"session":[1]}"#))
            #expect(response.status == status, "\(code)")
            #expect(response.header("retry-after") == retryAfter, "\(code)")
            #expect(bodyText(response) == "{\"code\":\"\(code.name)\",\"message\":\"fake \(code.name)\"}\n")
        }
    }

    @Test func tokenGuardsTheAPIButNotProbesOrMetrics() {
        let router = makeRouter(FakeServices(), token: "s3cret")
        #expect(route(router, get("/livez")).status == .ok)
        #expect(route(router, get("/readyz")).status == .ok)
        #expect(route(router, get("/metrics")).status == .ok)
        let refused = route(router, get("/v1/models"))
        #expect(refused.status == .unauthorized && refused.header("www-authenticate") == "Bearer")
        #expect(route(router, get("/v1/models", headers: [("authorization", "Bearer wrong!")])).status == .unauthorized)
        #expect(route(router, get("/v1/models", headers: [("authorization", "Bearer s3cre")])).status == .unauthorized)
        #expect(route(router, get("/v1/models", headers: [("authorization", "Basic s3cret")])).status == .unauthorized)
        #expect(route(router, get("/v1/models", headers: [("authorization", "Bearer s3cret")])).status == .ok)
        #expect(route(router, get("/v1/models", headers: [("authorization", "bearer s3cret")])).status == .ok)
        #expect(AdminAuthorization.constantTimeEqual(Array("ab".utf8), Array("ab".utf8)))
        #expect(!AdminAuthorization.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(!AdminAuthorization.constantTimeEqual([], Array("a".utf8)))
    }

    @Test func nearestNames() {
        #expect(NearestName.find("kk", among: RecommendJSON.fields) == "k")
        #expect(NearestName.find("exclude_sen", among: RecommendJSON.fields) == "exclude_seen")
        #expect(NearestName.find("zzzzzzzz", among: RecommendJSON.fields) == nil)
    }
}

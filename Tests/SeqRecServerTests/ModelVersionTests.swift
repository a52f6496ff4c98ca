// Several versions per model name in the core, in memory (EmbeddedServer): explicit versions,
// version 0 following the routing, MODEL_LIST listing every version, and a retired version that
// finishes its in-flight requests before it is released and dropped.
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite struct ModelVersionTests {
    private func request(_ id: UInt32, version: UInt32 = 0, model: String = "shop") -> [UInt8] {
        RecommendRequest(session: .internal([3]), k: 2, modelName: model, modelVersion: version).frameBytes(requestID: id)
    }

    /// The version each RECOMMEND_RESPONSE names, by request id (errors: their status name).
    private func answers(_ frames: [Frame]) throws -> [UInt32: String] {
        var answers: [UInt32: String] = [:]
        for frame in frames {
            if frame.header.type == .recommendResponse {
                let response = try frame.decode(RecommendResponse.self)
                answers[frame.header.requestID] = "\(response.modelName)@\(response.modelVersion)"
            } else if frame.header.type == .error {
                answers[frame.header.requestID] = try frame.decode(ErrorBody.self).status.name
            }
        }
        return answers
    }

    @Test func explicitVersionsAndTheNewestForVersionZero() throws {
        let server = try EmbeddedServer(backends: [FakeBackend(name: "shop", version: 1), FakeBackend(name: "shop", version: 2),
                                                   FakeBackend(name: "other", version: 7)])
        let token = try server.handshaken()
        server.send(request(1, version: 1) + request(2, version: 2) + request(3) + request(4, version: 3)
                    + request(5, model: "") + request(6, model: "other"), on: token)
        server.runDueBatches()
        let got = try answers(try server.read(token))
        #expect(got == [1: "shop@1", 2: "shop@2", 3: "shop@2", 4: "NOT_FOUND", 5: "shop@2", 6: "other@7"])

        server.send(ModelInfoRequest().frameBytes(requestID: 7), on: token)
        let list = try #require(try server.read(token).first).decode(ModelListResponse.self)
        #expect(list.models.map { "\($0.name)@\($0.version)\($0.isDefault ? "*" : "")" } == ["shop@1", "shop@2*", "other@7"])
    }

    @Test func sameNameAndVersionTwiceIsRefused() {
        #expect(throws: ServerCommandError.self) {
            try EmbeddedServer(backends: [FakeBackend(name: "shop", version: 2), FakeBackend(name: "shop", version: 2)])
        }
        #expect(throws: ServerCommandError.self) {
            try EmbeddedServer(backends: [FakeBackend(name: "shop", version: 0)])
        }
    }

    @Test func aRetiredVersionFinishesItsRequestsThenIsReleased() throws {
        weak var retiredBackend: FakeBackend?
        let server: EmbeddedServer
        do {
            let old = FakeBackend(name: "shop", version: 2)
            retiredBackend = old
            server = try EmbeddedServer(backends: [FakeBackend(name: "shop", version: 1), old])
        }
        let token = try server.handshaken()
        server.send(request(1), on: token)  // queued on version 2, not run yet
        let shop = try #require(server.core.models.model(named: "shop"))
        server.core.models.retire(model: shop, version: 2)
        #expect(server.core.models.models[shop].versions.map(\.version) == [1])
        #expect(server.core.models.releaseCount == 0, "request 1 still holds version 2")
        server.send(request(2) + request(3, version: 2), on: token)
        server.runDueBatches()
        let got = try answers(try server.read(token))
        #expect(got == [1: "shop@2", 2: "shop@1", 3: "NOT_FOUND"])
        #expect(server.core.models.releaseCount == 1)
        server.dropReleasedWorkers()
        #expect(retiredBackend == nil, "the runner's worker and the model set let go of version 2")
        #expect(server.core.pool.freeCount == server.core.pool.capacity)
    }

    @Test func aCancelledOrOrphanedRequestEndsItsHoldOnTheVersion() throws {
        let server = try EmbeddedServer(backends: [FakeBackend(name: "shop", version: 1), FakeBackend(name: "shop", version: 2)])
        let token = try server.handshaken()
        server.send(request(1) + request(2), on: token)
        let shop = try #require(server.core.models.model(named: "shop"))
        server.core.models.retire(model: shop, version: 2)
        server.send(Cancel().frameBytes(requestID: 1), on: token)
        #expect(server.core.models.releaseCount == 0)
        server.core.peerFinishedSending(token, failed: true, now: server.now)  // a reset: request 2 leaves the queue
        #expect(server.core.models.releaseCount == 1)
    }
}

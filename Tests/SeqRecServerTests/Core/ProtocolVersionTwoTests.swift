// Protocol version 2 in the server core (docs/PROTOCOL.md §3, §6.6–6.8), in memory: the version a
// HELLO negotiates decides the RECOMMEND / RECOMMEND_RESPONSE layout of that connection only; a
// version 1 client gets exactly the version 1 bytes; bad extensions fail only their request.
// (New file of the protocol branch; lifecycle owns the rest of this folder.)
import SeqRecPosix
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite struct ProtocolVersionTwoTests {
    private func connection(_ server: EmbeddedServer, maxVersion: UInt16) throws -> (ConnectionToken, HelloAck) {
        let token = try #require(server.connect())
        server.send(ConnectionPreface.bytes + Hello(maxVersion: maxVersion).frameBytes(requestID: 0), on: token)
        let frames = try server.read(token)
        let ack = try #require(try frames.first?.decode(HelloAck.self))
        return (token, ack)
    }

    @Test func eachConnectionKeepsTheVersionItNegotiated() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()])
        let (old, oldAck) = try connection(server, maxVersion: 1)
        let (new, newAck) = try connection(server, maxVersion: 2)
        #expect(oldAck.version == 1 && newAck.version == 2)
        let request = RecommendRequest(session: .internal([3, 4]), k: 2)
        server.send(request.frameBytes(requestID: 1, version: 1), on: old)
        server.send(request.frameBytes(requestID: 1, version: 2), on: new)
        server.runDueBatches()
        let oldAnswer = try #require(try server.read(old).first)
        let newAnswer = try #require(try server.read(new).first)
        #expect(oldAnswer.header.type == .recommendResponse && newAnswer.header.type == .recommendResponse)
        let expected = RecommendResponse(
            modelName: "fake", modelVersion: 1, items: .internal(FakeBackend.expectedItems(session: [3, 4], k: 2, itemCount: 100).map { UInt32($0) }),
            scores: FakeBackend.expectedScores(k: 2))
        // Version 1: exactly the version 1 encoding (nothing after the embedding).
        #expect(Array(oldAnswer.body) == Array(expected.frameBytes(requestID: 1, version: 1)[16...]))
        // Version 2: the same fields, then an empty extension block.
        #expect(Array(newAnswer.body) == Array(expected.frameBytes(requestID: 1, version: 2)[16...]))
        #expect(Array(newAnswer.body.suffix(2)) == [0, 0])
    }

    @Test func aVersionTwoRequestWithASessionKeyIsServed() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()])
        let (token, _) = try connection(server, maxVersion: 2)
        let keyed = RecommendRequest(session: .external(["item-5"]), k: 1, sessionKey: Array("shopper".utf8))
        server.send(keyed.frameBytes(requestID: 7, version: 2), on: token)
        server.runDueBatches()
        let answer = try #require(try server.read(token).first)
        let response = try answer.decode(RecommendResponse.self, version: 2)
        #expect(response.items.count == 1 && response.items.isExternal && !response.usedFallback && response.explanations == nil)
    }

    @Test func anUnknownCriticalExtensionIsUnimplementedAndNotProcessed() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()])
        let (token, _) = try connection(server, maxVersion: 2)
        var frame = RecommendRequest(session: .internal([1]), k: 1).frameBytes(requestID: 3, version: 2)
        frame.removeLast(2)
        frame += [0, 1, 0, 42, 0, 0, 0, 1, 9]  // one extension: critical type 42, one byte
        frame[3] += 7
        server.send(frame, on: token)
        let error = try #require(try server.read(token).first)
        #expect(error.header.type == .error && error.header.requestID == 3 && error.header.flags.contains(.notProcessed))
        let body = try error.decode(ErrorBody.self)
        #expect(body.status == .unimplemented && body.message.contains("type 42"), "\(body.message)")
        // The connection stays usable, and an IGNORABLE unknown type is skipped.
        frame[frame.count - 7] = 0x80  // type 0x802a
        frame[11] = 4  // request id 4
        server.send(frame, on: token)
        server.runDueBatches()
        let answer = try #require(try server.read(token).first)
        #expect(answer.header.type == .recommendResponse && answer.header.requestID == 4)
    }

    @Test func aMalformedExtensionFailsOnlyItsRequest() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()])
        let (token, _) = try connection(server, maxVersion: 2)
        var frame = RecommendRequest(session: .internal([1]), k: 1).frameBytes(requestID: 5, version: 2)
        frame.removeLast(2)
        frame += [0, 1, 0, 5, 0, 0, 0, 1, 7]  // EXPLAIN with max_contributors 7
        frame[3] += 7
        server.send(frame, on: token)
        let error = try #require(try server.read(token).first)
        let body = try error.decode(ErrorBody.self)
        #expect(body.status == .invalidArgument && body.message.contains("EXPLAIN.max_contributors"), "\(body.message)")
        #expect(!error.header.flags.contains(.notProcessed))
        // A version 1 body on a version 2 connection lacks the block: named, request-level.
        server.send(RecommendRequest(session: .internal([1]), k: 1).frameBytes(requestID: 6, version: 1), on: token)
        let truncated = try #require(try server.read(token).first)
        #expect(try truncated.decode(ErrorBody.self).message.contains("n_extensions"))
        #expect(!server.wasShutDown(token))
    }
}

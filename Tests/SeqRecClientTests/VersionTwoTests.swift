// The client side of protocol version 2 over the in-memory transport: HELLO offers 1…2, request
// options travel as extensions, response extensions are decoded, and against a version 1 server
// options fail locally while the session key is dropped (docs/PROTOCOL.md §3).
import SeqRecProtocol
import Testing
@testable import SeqRecClient

@Suite struct VersionTwoTests {
    let clock = ManualClock()

    let options = RecommendRequest(
        session: .internal([1, 2]), k: 2, sessionKey: Array("shopper-9".utf8),
        filters: RecommendFilters(availableOnly: false, categoriesExclude: ["Horror"], maxPerCategory: 1),
        diversity: RecommendDiversity(lambda: 0.5), fallback: true, explainContributors: 2)

    @Test func optionsTravelAsExtensionsAndAnswersCarryExplanations() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        #expect(connection.protocolVersion == 2)
        let hello = try #require(transport.sentFrames.first)
        #expect(try hello.decode(Hello.self) == Hello(minVersion: 1, maxVersion: 2))

        var frames = transport.makeFrameIterator()
        _ = await frames.next()  // HELLO
        let call = Task { try await connection.recommend(options) }
        let sent = try #require(await frames.next())
        #expect(try sent.decode(RecommendRequest.self, version: 2) == options)

        let answer = RecommendResponse(
            modelName: "m", modelVersion: 1, items: .internal([8, 9]), scores: [2, 1], usedFallback: false,
            explanations: [Explanation(items: .internal([2, 1]), contributions: [0.75, -0.5]),
                           Explanation(items: .internal([1]), contributions: [0.25])])
        transport.deliver(answer.frameBytes(requestID: sent.header.requestID, version: 2))
        #expect(try await call.value == answer)
    }

    @Test func aColdStartRequestMaySendAnEmptySession() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        var frames = transport.makeFrameIterator()
        _ = await frames.next()
        let call = Task { try await connection.recommend(RecommendRequest(session: .internal([]), k: 1, fallback: true)) }
        let sent = try #require(await frames.next())
        #expect(try sent.decode(RecommendRequest.self, version: 2).session.isEmpty)
        let answer = RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([5]), scores: [40], usedFallback: true)
        transport.deliver(answer.frameBytes(requestID: sent.header.requestID, version: 2))
        #expect(try await call.value.usedFallback)
    }

    @Test func anUnknownCriticalResponseExtensionFailsOnlyThatCall() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        var frames = transport.makeFrameIterator()
        _ = await frames.next()
        let call = Task { try await connection.recommend(RecommendRequest(session: .internal([1]), k: 1)) }
        let sent = try #require(await frames.next())
        var frame = RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([5]), scores: [1])
            .frameBytes(requestID: sent.header.requestID, version: 1)
        frame += [0, 1, 0, 9, 0, 0, 0, 0]  // one extension, critical type 9, empty
        frame[3] += 8
        transport.deliver(frame)
        await #expect { try await call.value } throws: { error in
            (error as? SeqRecError)?.kind == .protocolViolation
        }
        #expect(connection.isUsable, "a bad response body fails the call, not the connection")
    }

    @Test func againstAVersionOneServerOptionsFailLocallyAndTheKeyIsDropped() async throws {
        let transport = InMemoryTransport(accepting: HelloAck(version: 1, serverID: "old"))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        #expect(connection.protocolVersion == 1)
        await #expect { try await connection.recommend(options) } throws: { error in
            let error = error as? SeqRecError
            return error?.kind == .invalidRequest && error?.notProcessed == true
                && error?.message.contains("needs protocol version 2") == true
        }
        #expect(transport.sentFrames.map(\.header.type) == [.hello], "nothing was sent")

        var frames = transport.makeFrameIterator()
        _ = await frames.next()
        let keyed = RecommendRequest(session: .internal([3]), k: 1, sessionKey: Array("shopper-9".utf8))
        let call = Task { try await connection.recommend(keyed) }
        let sent = try #require(await frames.next())
        // A version 1 body, byte for byte what a version 1 client sends.
        #expect(Array(sent.body) == Array(RecommendRequest(session: .internal([3]), k: 1).frameBytes(requestID: 1)[16...]))
        transport.deliver(responseFrame(id: sent.header.requestID, items: [4], version: 1))
        #expect(try await call.value.items == .internal([4]))
    }

    @Test func theClientsAffinityKeyTravelsAsTheSessionKey() async throws {
        let transport = InMemoryTransport()
        let clock = clock
        let client = try SeqRecClient(endpoints: [.init(port: 1)], configuration: .init(), clock: clock.function) { _ in
            try await SeqRecConnection.inMemory(transport, clock: clock)
        }
        let call = Task { try await client.recommend(RecommendRequest(session: .internal([1]), k: 1), sessionKey: "shopper-9") }
        var frames = transport.makeFrameIterator()
        _ = await frames.next()  // HELLO
        let sent = try #require(await frames.next())
        #expect(try sent.decode(RecommendRequest.self, version: 2).sessionKey == Array("shopper-9".utf8))
        transport.deliver(responseFrame(id: sent.header.requestID, items: [2]))
        #expect(try await call.value.items == .internal([2]))
        // A key longer than 64 bytes is refused before anything is sent.
        await #expect { try await client.recommend(RecommendRequest(session: .internal([1])), sessionKey: String(repeating: "k", count: 65)) }
            throws: { ($0 as? SeqRecError)?.kind == .invalidRequest }
    }
}

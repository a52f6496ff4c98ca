// SeqRecConnection over the in-memory transport: correlation by id, the in-flight limit, task
// cancellation (CANCEL on the wire), deadlines, GOAWAY, connection loss, validation vs server errors.
import SeqRecProtocol
import Testing
@testable import SeqRecClient

@Suite struct ConnectionTests {
    let clock = ManualClock()

    /// Waits (yielding, no sleeping) until `condition` holds.
    func eventually(_ condition: () -> Bool) async {
        for _ in 0..<100_000 where !condition() { await Task.yield() }
        #expect(condition(), "condition never became true")
    }

    func request(_ item: UInt32, k: Int = 1) -> RecommendRequest {
        RecommendRequest(session: .internal([item]), k: k)
    }

    @Test func concurrentCallsAreMatchedByIDWhateverTheAnswerOrder() async throws {
        let transport = InMemoryTransport(accepting: limits(maxInFlight: 1_000))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let count = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            for item in 1...count {
                group.addTask {
                    let response = try await connection.recommend(request(UInt32(item)))
                    #expect(response.items == .internal([UInt32(item) + 1_000]))
                }
            }
            await eventually { transport.sentFrames.count == 1 + count }
            // Answer in reverse order of arrival, each with a value derived from its own request.
            for frame in transport.sentFrames.dropFirst().reversed() {
                let sent = try frame.decode(RecommendRequest.self, version: 2)
                guard case .internal(let session) = sent.session else { throw SeqRecError(.invalidRequest, "external ids") }
                transport.deliver(responseFrame(id: frame.header.requestID, items: [session[0] + 1_000]))
            }
            try await group.waitForAll()
        }
        let ids = transport.sentFrames.dropFirst().map(\.header.requestID)
        #expect(Set(ids).count == count, "request ids were reused while in flight")
        #expect(connection.inFlightCount == 0)
        #expect(transport.framingFailure == nil)
    }

    @Test func callsBeyondTheServerLimitWaitForAFreeSlot() async throws {
        let transport = InMemoryTransport(accepting: limits(maxInFlight: 2))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for item in 1...5 {
                group.addTask { _ = try await connection.recommend(request(UInt32(item))) }
            }
            await eventually { connection.inFlightCount == 5 }
            #expect(transport.sentFrames.count == 1 + 2, "more requests sent than the server allows")
            for answered in 0..<5 {
                let frame = transport.sentFrames[1 + answered]
                transport.deliver(responseFrame(id: frame.header.requestID, items: [1]))
                #expect(transport.sentFrames.count == 1 + min(5, answered + 3))
            }
            try await group.waitForAll()
        }
    }

    @Test func cancellingTheCallingTaskSendsCancelAndFreesTheIDOnlyWhenTheServerAnswers() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        var frames = transport.makeFrameIterator()
        #expect(await frames.next()?.header.type == .hello)
        let call = Task { try await connection.recommend(request(7)) }
        let sent = try #require(await frames.next())
        #expect(sent.header.type == .recommend)
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        let cancel = try #require(await frames.next())
        #expect(cancel.header.type == .cancel)
        #expect(cancel.header.requestID == sent.header.requestID)
        // The server still answers the request once; until then its id stays reserved.
        #expect(connection.inFlightCount == 1)
        transport.deliver(errorFrame(id: sent.header.requestID, .cancelled, "cancelled by the client"))
        #expect(connection.inFlightCount == 0)
        // The connection stays usable.
        let next = Task { try await connection.recommend(request(8)) }
        let nextFrame = try #require(await frames.next())
        transport.deliver(responseFrame(id: nextFrame.header.requestID, items: [9]))
        #expect(try await next.value.items == .internal([9]))
    }

    @Test func aTaskCancelledBeforeTheCallSendsNothing() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await connection.recommend(request(1))
        }
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(transport.sentFrames.map(\.header.type) == [.hello])
    }

    @Test func aDeadlineAnswersTheCallLocallyAndCancelsItAtTheServer() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        var frames = transport.makeFrameIterator()
        _ = await frames.next()
        let call = Task { try await connection.recommend(request(1), timeout: .milliseconds(50)) }
        let sent = try #require(await frames.next())
        #expect(sent.header.aux == 50_000, "the server gets the call's budget in µs")
        // Local deadline = budget + slack: the server's own answer normally comes first.
        let deadline = try #require(transport.nextDeadline)
        #expect(deadline == clock.now + 50_000_000 + SeqRecConnection.localDeadlineSlack)
        clock.advance(by: .milliseconds(69))
        transport.tick()
        #expect(connection.inFlightCount == 1)
        clock.advance(by: .milliseconds(1))
        transport.tick()
        do {
            _ = try await call.value
            Issue.record("the call outlived its deadline")
        } catch let error as SeqRecError {
            #expect(error.kind == .deadlineExceeded)
            #expect(!error.isServerError)
        }
        let cancel = try #require(await frames.next())
        #expect(cancel.header.type == .cancel && cancel.header.requestID == sent.header.requestID)
        transport.deliver(responseFrame(id: sent.header.requestID, items: [1]))
        #expect(connection.inFlightCount == 0)
    }

    @Test func anEarlierDeadlineWakesTheTransport() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let slow = Task { try await connection.recommend(request(1), timeout: .seconds(5)) }
        await eventually { connection.inFlightCount == 1 }
        _ = transport.nextDeadline  // the transport now sleeps toward the 5 s deadline
        let wakes = transport.wakeCount
        let fast = Task { try await connection.recommend(request(2), timeout: .milliseconds(10)) }
        await eventually { connection.inFlightCount == 2 }
        #expect(transport.wakeCount == wakes + 1)
        slow.cancel()
        fast.cancel()
        _ = await (slow.result, fast.result)
    }

    @Test func gracefulGoAwayFinishesSentCallsAndRefusesNewOnesAsNotProcessed() async throws {
        let transport = InMemoryTransport(accepting: limits(maxInFlight: 1))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let sent = Task { try await connection.recommend(request(1)) }
        let queued = Task { try await connection.recommend(request(2)) }
        await eventually { connection.inFlightCount == 2 }
        transport.deliver(GoAway(status: .unavailable, message: "draining").frameBytes(requestID: 0))
        #expect(!connection.isUsable)
        await #expect { try await queued.value } throws: { ($0 as? SeqRecError)?.notProcessed == true }
        await #expect { try await connection.recommend(request(3)) } throws: { error in
            let error = error as? SeqRecError
            return error?.status == .unavailable && error?.notProcessed == true
        }
        #expect(!transport.isClosed, "closed before the sent call was answered")
        transport.deliver(responseFrame(id: transport.sentFrames[1].header.requestID, items: [5]))
        #expect(try await sent.value.items == .internal([5]))
        #expect(transport.isClosed)
    }

    @Test func fatalGoAwayFailsCallsWithItsStatus() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let call = Task { try await connection.recommend(request(1)) }
        await eventually { connection.inFlightCount == 1 }
        transport.deliver(GoAway(status: .internal, message: "framing violation").frameBytes(requestID: 0))
        await #expect { try await call.value } throws: { error in
            let error = error as? SeqRecError
            return error?.status == .internal && error?.notProcessed == false
        }
        #expect(transport.isClosed)
    }

    @Test func connectionLossFailsSentCallsAsUnknownAndUnsentOnesAsNotProcessed() async throws {
        let transport = InMemoryTransport(accepting: limits(maxInFlight: 1))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let sent = Task { try await connection.recommend(request(1)) }
        let queued = Task { try await connection.recommend(request(2)) }
        await eventually { connection.inFlightCount == 2 }
        transport.disconnect()
        await #expect { try await sent.value } throws: { error in
            let error = error as? SeqRecError
            return error?.kind == .connection && error?.notProcessed == false
        }
        await #expect { try await queued.value } throws: { error in
            let error = error as? SeqRecError
            return error?.kind == .connection && error?.notProcessed == true
        }
        #expect(!connection.isUsable)
    }

    @Test func clientValidationErrorsAreDistinctFromServerErrorsAndSendNothing() async throws {
        var announced = ProtocolLimits()
        announced.maxK = 50
        announced.maxStringBytes = 8
        announced.maxFrameLength = 1_024
        let transport = InMemoryTransport(accepting: HelloAck(limits: announced))
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let invalid: [RecommendRequest] = [
            RecommendRequest(session: .internal([1]), k: 0),
            RecommendRequest(session: .internal([1]), k: 51),
            RecommendRequest(session: .internal([]), k: 1),
            RecommendRequest(session: .internal([1]), modelName: "much-too-long"),
            RecommendRequest(session: .internal([1]), k: 1, deny: .external(["x"])),
            RecommendRequest(session: .internal(Array(repeating: 1, count: 400)), k: 1),  // > max frame
        ]
        for request in invalid {
            await #expect { try await connection.recommend(request) } throws: { error in
                let error = error as? SeqRecError
                return error?.kind == .invalidRequest && error?.isServerError == false && error?.notProcessed == true
            }
        }
        await #expect { try await connection.recommend(request(1), timeout: .zero) } throws: {
            ($0 as? SeqRecError)?.kind == .invalidRequest
        }
        await #expect { try await connection.health(service: "much-too-long") } throws: {
            ($0 as? SeqRecError)?.kind == .invalidRequest
        }
        #expect(transport.sentFrames.map(\.header.type) == [.hello], "an invalid request reached the wire")
        // The same kind of mistake found by the server is a server error with its status.
        let call = Task { try await connection.recommend(request(99_999)) }
        await eventually { transport.sentFrames.count == 2 }
        transport.deliver(errorFrame(id: transport.sentFrames[1].header.requestID, .invalidArgument, "item 99999 out of range"))
        await #expect { try await call.value } throws: { error in
            let error = error as? SeqRecError
            return error?.status == .invalidArgument && error?.isServerError == true && error?.message == "item 99999 out of range"
        }
    }

    @Test func healthAndModelsDecodeTheirAnswers() async throws {
        let transport = InMemoryTransport()
        let connection = try await SeqRecConnection.inMemory(transport, clock: clock)
        let health = Task { try await connection.health() }
        await eventually { transport.sentFrames.count == 2 }
        #expect(transport.sentFrames[1].header.aux == 0, "HEALTH has no deadline on the wire")
        transport.deliver(HealthResponse(status: .notServing).frameBytes(requestID: transport.sentFrames[1].header.requestID))
        #expect(try await health.value == .notServing)
        let models = Task { try await connection.models() }
        await eventually { transport.sentFrames.count == 3 }
        let model = ModelDescription(name: "m", version: 2, family: "recbole-sasrec", itemCount: 9, maxSessionLength: 50,
                                     embeddingWidth: 4, hasVocabulary: false, isDefault: true, firstItemID: 1)
        transport.deliver(ModelListResponse(models: [model]).frameBytes(requestID: transport.sentFrames[2].header.requestID))
        #expect(try await models.value == [model])
    }

    @Test func droppingTheLastReferenceClosesTheConnection() async throws {
        let transport = InMemoryTransport()
        var connection: SeqRecConnection? = try await SeqRecConnection.inMemory(transport, clock: clock)
        #expect(connection?.isUsable == true)
        #expect(!transport.isClosed)
        connection = nil
        #expect(transport.isClosed, "the transport (and the socket transport's thread) outlives its connection")
    }

    @Test func cancellingTheConnectClosesTheTransport() async throws {
        let transport = InMemoryTransport(accepting: nil)  // never answers the handshake
        let opening = Task { try await SeqRecConnection.inMemory(transport, clock: clock) }
        await eventually { transport.isStarted }
        opening.cancel()
        await #expect(throws: CancellationError.self) { try await opening.value }
        #expect(transport.isClosed)
    }
}

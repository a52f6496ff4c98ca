// What the event loop does with each decoded frame, and how finished requests are answered.
// Framing violations close the connection; a bad request body fails only that request.
import SeqRecProtocol

extension Server {
    func handleFrame(_ frame: Frame, on connection: Connection) {
        let header = frame.header
        switch header.type {
        case .hello:
            answerHello(frame, on: connection)
        case .ping:
            do {
                let ping = try frame.decode(Ping.self, limits: limits)
                connection.write { Pong(answering: ping).encodeFrame(requestID: 0, into: &$0) }
                scheduleFlush(connection)
            } catch {
                failConnection(connection, error)
            }
        case .goAway:
            // The peer will send nothing more; answer what it has in flight, then close.
            connection.phase = .peerClosed
            scheduleFlush(connection)
        case .cancel:
            cancel(header.requestID, on: connection)
        case .health, .modelInfo, .recommend:
            guard connection.inFlight[header.requestID] == nil else {
                failConnection(connection, .duplicateRequestID(header.requestID))
                return
            }
            guard connection.phase == .open else {
                sendError(.unavailable, "server is shutting down; retry on a new connection", to: header.requestID,
                          on: connection, notProcessed: true)
                return
            }
            switch header.type {
            case .health: answerHealth(frame, on: connection)
            case .modelInfo: answerModelInfo(frame, on: connection)
            default: accept(frame, on: connection)
            }
        case .helloAck, .recommendResponse, .error, .pong, .healthResponse, .modelList:
            // The decoder rejects server-to-client types; reaching here would be a decoder bug.
            failConnection(connection, .unexpectedFrameType(header.type))
        }
    }

    private func answerHello(_ frame: Frame, on connection: Connection) {
        let hello: Hello
        do {
            hello = try frame.decode(Hello.self, limits: limits)
        } catch {
            failConnection(connection, error)
            return
        }
        guard let version = hello.negotiatedVersion() else {
            sendFatalGoAway(connection, status: .unimplemented,
                            message: "no common protocol version: client \(hello.minVersion)...\(hello.maxVersion), server 1...\(ProtocolVersion.current)")
            return
        }
        if let expected = configuration.authToken, !Self.tokensMatch(hello.authToken, expected) {
            sendFatalGoAway(connection, status: .unauthenticated,
                            message: "HELLO carried a wrong or no auth token; ask the operator for the server's token")
            return
        }
        let ack = HelloAck(version: version, limits: limits, serverID: "seqrec")
        connection.write { ack.encodeFrame(requestID: 0, into: &$0) }
        scheduleFlush(connection)
    }

    /// Compares every byte of the expected token whatever the sent one holds, so the time taken does not
    /// tell an attacker how long a prefix they guessed right.
    static func tokensMatch(_ sent: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = sent.count == expected.count ? 0 : 1
        for index in expected.indices {
            difference |= (index < sent.count ? sent[index] : 0) ^ expected[index]
        }
        return difference == 0
    }

    private func answerHealth(_ frame: Frame, on connection: Connection) {
        let request: HealthRequest
        do {
            request = try frame.decode(HealthRequest.self, limits: limits)
        } catch {
            sendError(.invalidArgument, error.description, to: frame.header.requestID, on: connection)
            return
        }
        let status: HealthStatus
        if !request.service.isEmpty, modelIndex[request.service] == nil {
            status = .serviceUnknown
        } else {
            status = isServing ? .serving : .notServing
        }
        connection.write { HealthResponse(status: status).encodeFrame(requestID: frame.header.requestID, into: &$0) }
        scheduleFlush(connection)
    }

    private func answerModelInfo(_ frame: Frame, on connection: Connection) {
        let request: ModelInfoRequest
        do {
            request = try frame.decode(ModelInfoRequest.self, limits: limits)
        } catch {
            sendError(.invalidArgument, error.description, to: frame.header.requestID, on: connection)
            return
        }
        var described: [ModelDescription] = []
        for (index, backend) in backends.enumerated() where request.modelName.isEmpty || backend.info.name == request.modelName {
            let info = backend.info
            described.append(ModelDescription(
                name: info.name, version: info.version, family: info.family, itemCount: UInt32(clamping: info.itemCount),
                maxSessionLength: UInt32(clamping: info.maxSessionLength), embeddingWidth: UInt32(clamping: info.embeddingWidth),
                hasVocabulary: info.hasVocabulary, isDefault: index == 0, firstItemID: UInt32(clamping: info.firstItemID)))
        }
        guard !described.isEmpty else {
            sendError(.notFound, "no model named '\(request.modelName)' is loaded", to: frame.header.requestID, on: connection)
            return
        }
        let list = ModelListResponse(models: described)
        connection.write { list.encodeFrame(requestID: frame.header.requestID, into: &$0) }
        scheduleFlush(connection)
    }

    // MARK: RECOMMEND

    /// Decodes, validates and queues a RECOMMEND, or answers it with the reason it cannot run.
    private func accept(_ frame: Frame, on connection: Connection) {
        let id = frame.header.requestID
        guard connection.inFlight.count < configuration.maxInflightPerConnection else {
            counters.add(\.rejectedOverload)
            sendError(.resourceExhausted, "more than \(configuration.maxInflightPerConnection) requests in flight on this connection",
                      to: id, on: connection, notProcessed: true)
            return
        }
        do {
            // One request value is reused for every RECOMMEND: its id arrays keep their capacity.
            try decodedRequest.decode(frame.body, limits: limits)
        } catch {
            sendError(.invalidArgument, error.description, to: id, on: connection)
            return
        }
        let request = decodedRequest
        guard let model = request.modelName.isEmpty ? 0 : modelIndex[request.modelName] else {
            sendError(.notFound, "no model named '\(request.modelName)' is loaded", to: id, on: connection)
            return
        }
        let backend = backends[model]
        guard request.modelVersion == 0 || request.modelVersion == backend.info.version else {
            sendError(.notFound, "model '\(backend.info.name)' has no version \(request.modelVersion) (serving \(backend.info.version))",
                      to: id, on: connection)
            return
        }
        guard let slot = pool.acquire() else {
            rejectOverload(id, on: connection)
            return
        }
        do throws(QueryRejection) {
            try QueryBuilder.fill(&pool[slot].query, from: request, backend: backend)
            try backend.validate(pool[slot].query)
        } catch {
            pool.release(slot)
            sendError(.invalidArgument, error.message, to: id, on: connection)
            return
        }
        let now = System.monotonicNanoseconds()
        let requested = frame.header.aux == 0 ? configuration.defaultTimeoutMicroseconds : frame.header.aux
        let budget = UInt64(min(requested, configuration.maxTimeoutMicroseconds)) * 1_000
        pool[slot].connection = connection.token
        pool[slot].requestID = id
        pool[slot].model = model
        pool[slot].externalIDs = request.usesExternalIDs
        pool[slot].enqueuedAt = now
        pool[slot].deadline = now &+ budget
        pool[slot].outcome = .queued
        guard batcher.submit(slot) else {
            pool.release(slot)
            rejectOverload(id, on: connection)
            return
        }
        counters.add(\.acceptedRequests)
        connection.inFlight[id] = slot
        connection.lastRequestID = id
    }

    private func rejectOverload(_ id: UInt32, on connection: Connection) {
        counters.add(\.rejectedOverload)
        sendError(.resourceExhausted, "server queue is full; retry later or elsewhere", to: id, on: connection,
                  notProcessed: true, retryAfterMilliseconds: 1)
    }

    /// CANCEL: a request still waiting in the queue is answered CANCELLED at once; one already
    /// running is answered with its result; an unknown id is ignored.
    private func cancel(_ id: UInt32, on connection: Connection) {
        guard let slot = connection.inFlight[id], batcher.withdraw(slot, model: pool[slot].model) else { return }
        connection.inFlight[id] = nil
        pool.release(slot)
        sendError(.cancelled, "request cancelled by the client", to: id, on: connection, notProcessed: true)
    }

    func sendError(_ status: StatusCode, _ message: String, to id: UInt32, on connection: Connection,
                   notProcessed: Bool = false, retryAfterMilliseconds: UInt32 = 0) {
        let body = ErrorBody(status: status, message: String(message.utf8.prefix(limits.maxMessageBytes)) ?? "")
        connection.write {
            body.encodeFrame(requestID: id, aux: retryAfterMilliseconds, flags: notProcessed ? .notProcessed : [], into: &$0)
        }
        scheduleFlush(connection)
    }

    // MARK: completions

    /// Encodes the answers of every request the workers finished since the last round.
    func answerFinishedRequests() {
        completions.take(into: &finished)
        for slot in finished {
            defer { pool.release(slot) }
            guard let connection = lookup(pool[slot].connection),
                  connection.inFlight[pool[slot].requestID] == slot else { continue }
            let id = pool[slot].requestID
            connection.inFlight[id] = nil
            switch pool[slot].outcome {
            case .answered:
                counters.add(\.answeredRequests)
                encodeResponse(slot, on: connection)
            case .expired:
                counters.add(\.expiredInQueue)
                sendError(.deadlineExceeded, "deadline passed while the request waited in the queue", to: id,
                          on: connection, notProcessed: true)
            case .queued:
                sendError(.internal, "request finished without a result", to: id, on: connection)
            }
            scheduleFlush(connection)
        }
    }

    private func encodeResponse(_ slot: Int, on connection: Connection) {
        let backend = backends[pool[slot].model]
        let embedding = pool[slot].query.includeEmbedding ? pool[slot].result.embedding : []
        guard pool[slot].externalIDs else {
            connection.write {
                ResponseEncoder.appendRecommendResponse(
                    requestID: pool[slot].requestID, modelName: backend.info.name, modelVersion: backend.info.version,
                    items: pool[slot].result.items, scores: pool[slot].result.scores, embedding: embedding, into: &$0)
            }
            return
        }
        connection.write {
            RecommendResponse.encodeFrame(
                requestID: pool[slot].requestID, modelName: backend.info.name, modelVersion: backend.info.version,
                items: pool[slot].result.items.lazy.map { UInt32(bitPattern: $0) }, scores: pool[slot].result.scores,
                embedding: embedding, externalID: { backend.token(of: Int32(bitPattern: $0)) ?? "" }, into: &$0)
        }
    }
}

// The request frames (HEALTH, MODEL_INFO, RECOMMEND), CANCEL, and the answers to finished batches.
// A bad request body fails only that request (ERROR INVALID_ARGUMENT).
import SeqRecProtocol

extension ServerCore {
    func handleRequest(_ frame: Frame, on index: Int, now: UInt64) {
        switch frame.header.type {
        case .health: answerHealth(frame, on: index)
        case .modelInfo: answerModelInfo(frame, on: index)
        default: accept(frame, on: index, now: now)
        }
    }

    private func sendError(_ status: StatusCode, _ message: String, to id: UInt32, on index: Int,
                           notProcessed: Bool = false, retryAfterMilliseconds: UInt32 = 0) {
        withMachine(index) {
            $0.sendError(status, message, to: id, notProcessed: notProcessed, retryAfterMilliseconds: retryAfterMilliseconds)
        }
    }

    private func answerHealth(_ frame: Frame, on index: Int) {
        let request: HealthRequest
        do {
            request = try frame.decode(HealthRequest.self, limits: limits)
        } catch {
            sendError(.invalidArgument, error.description, to: frame.header.requestID, on: index)
            return
        }
        let status: HealthStatus
        if !request.service.isEmpty, models.model(named: request.service) == nil {
            status = .serviceUnknown
        } else {
            status = isServing ? .serving : .notServing
        }
        withMachine(index) { machine in
            machine.output.append { HealthResponse(status: status).encodeFrame(requestID: frame.header.requestID, into: &$0) }
        }
    }

    private func answerModelInfo(_ frame: Frame, on index: Int) {
        let request: ModelInfoRequest
        do {
            request = try frame.decode(ModelInfoRequest.self, limits: limits)
        } catch {
            sendError(.invalidArgument, error.description, to: frame.header.requestID, on: index)
            return
        }
        let described = models.descriptions(named: request.modelName)
        guard !described.isEmpty else {
            sendError(.notFound, "no model named '\(request.modelName)' is loaded", to: frame.header.requestID, on: index)
            return
        }
        let list = ModelListResponse(models: described)
        withMachine(index) { machine in machine.output.append { list.encodeFrame(requestID: frame.header.requestID, into: &$0) } }
    }

    /// Decodes, validates and queues a RECOMMEND, or answers it with the reason it cannot run.
    private func accept(_ frame: Frame, on index: Int, now: UInt64) {
        let id = frame.header.requestID
        guard machineInFlight(index) < configuration.maxInflightPerConnection else {
            statistics.rejectedOverload += 1
            countRefusal(.resourceExhausted, model: nil)
            sendError(.resourceExhausted, "more than \(configuration.maxInflightPerConnection) requests in flight on this "
                + "connection", to: id, on: index, notProcessed: true, retryAfterMilliseconds: retryAfterMilliseconds)
            return
        }
        do {
            // One request value is reused for every RECOMMEND: its id arrays keep their capacity. The
            // connection's negotiated version decides whether the body ends with extensions.
            try decodedRequest.decode(frame.body, limits: limits, version: withMachine(index) { $0.version })
        } catch {
            // INVALID_ARGUMENT, or UNIMPLEMENTED + NOT_PROCESSED for an unknown critical extension.
            countRefusal(error.status, model: nil)
            sendError(error.status, error.description, to: id, on: index, notProcessed: error.status == .unimplemented)
            return
        }
        switch enqueue(decodedRequest, timeoutMicroseconds: frame.header.aux, now: now) {
        case .failure(let refusal):
            sendError(refusal.status, refusal.message, to: id, on: index, notProcessed: refusal.notProcessed,
                      retryAfterMilliseconds: refusal.retryAfterMilliseconds)
        case .success(let slot):
            pool[slot].connection = connectionToken(index)
            pool[slot].requestID = id
            withMachine(index) { $0.accepted(id, slot: slot) }
        }
    }

    /// Why a request was not queued.
    struct Refusal: Error {
        var status: StatusCode
        var message: String
        var notProcessed = false
        var retryAfterMilliseconds: UInt32 = 0
    }

    /// Resolves the model, validates `request` and queues it in a fresh slot, for the binary and the
    /// JSON path alike; the caller names the slot's owner before the lock is released. A refusal is
    /// counted here, once.
    func enqueue(_ request: RecommendRequest, timeoutMicroseconds: UInt32, now: UInt64) -> Result<Int, Refusal> {
        guard let named = models.model(named: request.modelName) else {
            countRefusal(.notFound, model: nil)
            return .failure(Refusal(status: .notFound, message: "no model named '\(request.modelName)' is loaded"))
        }
        // The version: the one asked for, or the model's routing (docs/OPERATIONS.md §11.4). The slot
        // index of that loaded version is the "model" of the queues, the request slot and the runners.
        let chosen = request.modelVersion == 0
            ? models.route(model: named, sessionKey: request.sessionKey)
            : models.slot(model: named, version: request.modelVersion)
        guard let model = chosen else {
            countRefusal(.notFound, model: nil)
            let serving = models.models[named].versions.map { String($0.version) }.joined(separator: ", ")
            return .failure(Refusal(status: .notFound, message: "model '\(models.models[named].name)' has no version "
                + "\(request.modelVersion) loaded (serving: \(serving.isEmpty ? "none" : serving))"))
        }
        let backend = models[model].backend
        guard let slot = pool.acquire() else { return .failure(overload(model: model)) }
        do throws(QueryRejection) {
            try QueryBuilder.fill(&pool[slot].query, from: request, backend: backend,
                                  fallbackDefault: configuration.fallbackDefaults[backend.info.name] ?? false)
            try backend.validate(pool[slot].query)
        } catch {
            pool.release(slot)
            countRefusal(.invalidArgument, model: model)
            return .failure(Refusal(status: .invalidArgument, message: error.message))
        }
        let requested = timeoutMicroseconds == 0 ? configuration.defaultTimeoutMicroseconds : timeoutMicroseconds
        let budget = UInt64(min(requested, configuration.maxTimeoutMicroseconds)) * 1_000
        pool[slot].model = model
        pool[slot].externalIDs = request.usesExternalIDs
        pool[slot].explainContributors = request.explainContributors
        pool[slot].enqueuedAt = now
        pool[slot].deadline = now &+ budget
        pool[slot].outcome = .queued
        guard queues.enqueue(slot, model: model, now: now) else {
            pool.release(slot)
            return .failure(overload(model: model))
        }
        models.began(model)
        statistics.acceptedRequests += 1
        return .success(slot)
    }

    private func overload(model: Int) -> Refusal {
        statistics.rejectedOverload += 1
        countRefusal(.resourceExhausted, model: model)
        return Refusal(status: .resourceExhausted, message: "server queue is full; retry later or elsewhere",
                       notProcessed: true, retryAfterMilliseconds: retryAfterMilliseconds)
    }

    /// Queue-full advice (docs/PROTOCOL.md §9): the time the queued batches need at the recent model-call
    /// time, in whole milliseconds, at least 1.
    package var retryAfterMilliseconds: UInt32 {
        let batches = UInt64((queues.count + configuration.maxBatch - 1) / configuration.maxBatch)
        let workers = UInt64(configuration.workers)
        let nanoseconds = (batches + workers - 1) / workers &* recentBatchNanoseconds
        return UInt32(clamping: max(1, (nanoseconds + 999_999) / 1_000_000))
    }

    /// CANCEL: a request still waiting in the queue is answered CANCELLED + NOT_PROCESSED at once; one
    /// already running is answered with its result.
    func cancel(_ id: UInt32, slot: Int, on index: Int) {
        guard queues.withdraw(slot, model: pool[slot].model) else { return }
        models.ended(pool[slot].model)
        withMachine(index) { $0.finish(id) }
        pool.release(slot)
        sendError(.cancelled, "request cancelled by the client", to: id, on: index, notProcessed: true)
    }

    // MARK: batches

    /// Moves the most overdue due batch into `slots` and returns its model; the caller runs it (see
    /// `BatchRunner`) and hands it back with `complete`.
    package func takeDueBatch(now: UInt64, into slots: inout [Int]) -> Int? {
        queues.takeDueBatch(now: now, into: &slots)
    }

    package func hasDueBatch(now: UInt64) -> Bool { queues.hasDueBatch(now: now) }

    /// When the max-delay rule makes the next batch due (nil: nothing queued).
    package var nextDueTime: UInt64? { queues.nextDueTime }

    /// Answers every request of a batch the runner finished (`outcome` set in each slot) and frees the
    /// slots. `nanoseconds` is how long the model call took.
    package func complete(_ slots: [Int], model: Int, nanoseconds: UInt64, now: UInt64) {
        if nanoseconds > 0 {
            // An exponential mean over about 8 calls: recent enough for retry advice, steady enough.
            recentBatchNanoseconds = recentBatchNanoseconds == 0 ? nanoseconds
                : recentBatchNanoseconds - recentBatchNanoseconds / 8 + nanoseconds / 8
        }
        for slot in slots {
            // The version is released (when retired) only after its last answer has been encoded.
            defer {
                models.ended(model)
                pool.release(slot)
            }
            countFinished(slot, batchStart: now &- nanoseconds, now: now)
            if let completion = adminCompletions.removeValue(forKey: slot) {
                answerAdmin(slot, completion)
                continue
            }
            let id = pool[slot].requestID
            guard let index = index(ofToken: pool[slot].connection), machineSlot(index, id) == slot else { continue }
            withMachine(index) { $0.finish(id) }
            switch pool[slot].outcome {
            case .answered:
                statistics.answeredRequests += 1
                encodeResponse(slot, on: index)
            case .expired:
                statistics.expiredInQueue += 1
                sendError(.deadlineExceeded, "deadline passed while the request waited in the queue", to: id, on: index,
                          notProcessed: true)
            case .queued:
                sendError(.internal, "request finished without a result", to: id, on: index)
            }
            settle(index, now: now)
        }
    }

    private func encodeResponse(_ slot: Int, on index: Int) {
        let backend = models[pool[slot].model].backend
        let embedding = pool[slot].query.includeEmbedding ? pool[slot].result.embedding : []
        let externalIDs = pool[slot].externalIDs
        let requestID = pool[slot].requestID
        // The codec is inlinable, so these calls are specialised for the slot's concrete buffers and
        // allocate nothing (Benchmarks/Tests/SeqRecBenchTests/ServerAllocationTests.swift).
        // Explanations (asked for only on version 2) are built per answer: they cost an extra model
        // batch anyway. The fallback flag is written only on version 2 connections.
        let usedFallback = pool[slot].result.usedFallback
        let explanations = QueryBuilder.explanations(
            of: pool[slot].result, limit: pool[slot].explainContributors, externalIDs: externalIDs,
            token: { backend.token(of: $0) ?? "" })
        withMachine(index) { machine in
            let version = machine.version
            machine.output.append { output in
                let items = pool[slot].result.items.lazy.map { UInt32(bitPattern: $0) }
                if externalIDs {
                    RecommendResponse.encodeFrame(
                        requestID: requestID, modelName: backend.info.name, modelVersion: backend.info.version,
                        items: items, scores: pool[slot].result.scores, embedding: embedding, version: version,
                        usedFallback: usedFallback, explanations: explanations,
                        externalID: { backend.token(of: Int32(bitPattern: $0)) ?? "" }, into: &output)
                } else {
                    RecommendResponse.encodeFrame(
                        requestID: requestID, modelName: backend.info.name, modelVersion: backend.info.version,
                        items: items, scores: pool[slot].result.scores, embedding: embedding, version: version,
                        usedFallback: usedFallback, explanations: explanations, into: &output)
                }
            }
        }
    }
}

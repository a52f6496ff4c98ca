// The core's side of the operations surface (docs/OPERATIONS.md): metrics counted where requests
// finish or are refused, and JSON requests from the admin port queued through `enqueue` like
// binary ones, answered through their completion instead of a connection.
import SeqRecCore
import SeqRecOperations
import SeqRecProtocol

extension ServerCore {
    /// The owner of JSON requests' slots: generation 0 never names a connection.
    static let adminOwner = ConnectionToken(index: .max, generation: 0)

    /// Queues a JSON request; `completion` runs (under the server's lock) when it is answered or refused.
    package func acceptAdmin(_ request: RecommendRequest, timeoutMicroseconds: UInt32, now: UInt64,
                             completion: @escaping @Sendable (AdminRecommendOutcome) -> Void) {
        guard isServing else {
            countRefusal(.unavailable, model: nil)
            completion(.failed(.unavailable, message: "server is draining; retry on another replica",
                               retryAfterMilliseconds: nil))
            return
        }
        switch enqueue(request, timeoutMicroseconds: timeoutMicroseconds, now: now) {
        case .failure(let refusal):
            completion(.failed(refusal.status, message: refusal.message,
                               retryAfterMilliseconds: refusal.retryAfterMilliseconds == 0 ? nil : refusal.retryAfterMilliseconds))
        case .success(let slot):
            pool[slot].connection = Self.adminOwner
            adminCompletions[slot] = completion
        }
    }

    /// Answers a finished JSON request from its slot (the slot is released by the caller).
    func answerAdmin(_ slot: Int, _ completion: @Sendable (AdminRecommendOutcome) -> Void) {
        switch pool[slot].outcome {
        case .answered:
            statistics.answeredRequests += 1
            let backend = models[pool[slot].model].backend
            let ids = pool[slot].result.items
            let items: ItemIDs = pool[slot].externalIDs
                ? .external(ids.map { backend.token(of: $0) ?? "" })
                : .internal(ids.map { UInt32(bitPattern: $0) })
            let explanations = QueryBuilder.explanations(
                of: pool[slot].result, limit: pool[slot].explainContributors, externalIDs: pool[slot].externalIDs,
                token: { backend.token(of: $0) ?? "" })
            let response = RecommendResponse(
                modelName: backend.info.name, modelVersion: backend.info.version, items: items,
                scores: pool[slot].result.scores,
                embedding: pool[slot].query.includeEmbedding ? pool[slot].result.embedding : [],
                usedFallback: pool[slot].result.usedFallback, explanations: explanations)
            let becauseTitles = explanations == nil ? nil : QueryBuilder.contributorTitles(
                of: pool[slot].result, limit: pool[slot].explainContributors, title: { backend.title(of: $0) })
            completion(.answered(response, titles: ids.map { backend.title(of: $0) }, becauseTitles: becauseTitles))
        case .expired:
            statistics.expiredInQueue += 1
            completion(.failed(.deadlineExceeded, message: "deadline passed while the request waited in the queue",
                               retryAfterMilliseconds: nil))
        case .queued:
            completion(.failed(.internal, message: "request finished without a result", retryAfterMilliseconds: nil))
        }
    }

    // MARK: metrics

    private func series(_ model: Int?) -> Int {
        guard let model, model < models.slots.count else { return 0 }
        return models.metricsSeries(ofSlot: model)
    }

    /// A request refused before it reached a model (answered at once).
    func countRefusal(_ status: StatusCode, model: Int?) {
        metrics?.countRequest(series: series(model), code: status.rawValue, durationNanoseconds: 0)
        if status == .resourceExhausted { metrics?.count(.rejectedOverload) }
        if let operations, operations.logsRequests {
            let backend = model.map { models[$0].info }
            operations.requestFinished(requestID: 0, transport: "", model: backend?.name ?? "",
                                       version: backend?.version ?? 0, status: status, durationNanoseconds: 0)
        }
    }

    /// A request of a finished batch: its status, its time since receipt, and its queue wait.
    func countFinished(_ slot: Int, batchStart: UInt64, now: UInt64) {
        guard let metrics else { return }
        let request = pool[slot]
        let status: StatusCode = switch request.outcome {
        case .answered: .ok
        case .expired: .deadlineExceeded
        case .queued: .internal
        }
        let seriesIndex = series(request.model)
        metrics.countRequest(series: seriesIndex, code: status.rawValue, durationNanoseconds: now &- request.enqueuedAt)
        metrics.observeQueueWait(series: seriesIndex, nanoseconds: batchStart > request.enqueuedAt ? batchStart &- request.enqueuedAt : 0)
        if status == .deadlineExceeded { metrics.count(.expiredInQueue) }
        if let operations, operations.logsRequests {
            let admin = request.connection == Self.adminOwner
            operations.requestFinished(
                requestID: admin ? 0 : UInt64(request.requestID), transport: admin ? "http" : "binary",
                model: models[request.model].name, version: models[request.model].version,
                status: status, durationNanoseconds: now &- request.enqueuedAt)
        }
    }

    /// One model call: its size, its time, and what the runner's state cache did.
    package func countBatch(model: Int, ran: Int, nanoseconds: UInt64, stateCacheLookups: Int, stateCacheHits: Int,
                            scan: ExactScanStatistics = ExactScanStatistics()) {
        guard let metrics, ran > 0 else { return }
        metrics.countBatch(series: series(model), size: ran, computeNanoseconds: nanoseconds)
        if stateCacheLookups > 0 {
            metrics.countStateCache(series: series(model), lookups: stateCacheLookups, hits: stateCacheHits)
        }
        if scan.approximate > 0 || scan.fallbacks > 0 {
            metrics.countScan(series: series(model), reduced: scan.approximate, fallbacks: scan.fallbacks,
                              rescored: scan.rescored)
        }
    }

    /// Gauges for /metrics (read with the server's lock held).
    package var operationsGauges: ServerGauges {
        var gauges = ServerGauges()
        gauges.openConnections = connectionCount
        gauges.queueDepth = queues.count
        gauges.inFlightRequests = pool.capacity - pool.freeCount
        return gauges
    }
}

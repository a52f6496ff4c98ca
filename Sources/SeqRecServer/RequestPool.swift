// Fixed storage for accepted RECOMMEND requests. A request lives in one slot from decoding until
// its answer is encoded; the slot's query and result buffers are reused by the next request, so
// steady-state serving allocates no request storage.
import SeqRecCore

/// What happened to a request after it left the event loop.
package enum RequestOutcome: Sendable {
    case queued
    case answered
    /// The deadline passed while queued; the model did not run.
    case expired
}

/// One accepted RECOMMEND and, once a worker ran it, its answer.
package struct PendingRequest {
    package var connection: ConnectionToken = ConnectionToken(index: 0, generation: 0)
    package var requestID: UInt32 = 0
    package var model: Int = 0
    package var externalIDs = false
    /// The request's EXPLAIN count (protocol v2): how many contributors per item to answer; 0 = none.
    package var explainContributors = 0
    /// Monotonic nanoseconds.
    package var deadline: UInt64 = 0
    package var enqueuedAt: UInt64 = 0
    package var outcome = RequestOutcome.queued
    package var query = SessionQuery(items: [], k: 1)
    package var result = ScoredItems()
}

extension PendingRequest {
    /// Replaces every buffer whose capacity exceeds `limit` elements (`embeddingLimit` for the
    /// embedding, which every request of a wide model fills legitimately) by an empty one.
    mutating func trimBuffers(above limit: Int, embeddingAbove embeddingLimit: Int) {
        if query.items.capacity > limit { query.items = [] }
        if query.deny.capacity > limit { query.deny = [] }
        if let allow = query.allow, allow.capacity > limit { query.allow = nil }
        if let candidates = query.candidates, candidates.capacity > limit { query.candidates = nil }
        if result.items.capacity > limit { result.items = [] }
        if result.scores.capacity > limit { result.scores = [] }
        if result.embedding.capacity > embeddingLimit { result.embedding = [] }
    }
}

/// Identifies a connection across reuse of its table index: a stale token never matches.
package struct ConnectionToken: Hashable, Sendable {
    package var index: UInt32
    package var generation: UInt32
}

/// Slot storage shared by the event loop and the workers.
///
/// Ownership of a slot moves loop → batcher queue → worker → completion queue → loop; every move
/// goes through a lock, so exactly one thread touches a slot at a time. The free list belongs to
/// the event loop alone.
package final class RequestPool: @unchecked Sendable {
    package let capacity: Int
    // safe: allocated and initialised for `capacity` elements in init, released only in deinit.
    private let base: UnsafeMutablePointer<PendingRequest>
    private var free: [Int]

    /// Embedding buffers up to this many floats are kept (the widest served model's width).
    private let retainedEmbeddingWidth: Int

    package init(capacity: Int, retainedEmbeddingWidth: Int = 16_384) {
        precondition(capacity > 0, "a request pool needs at least one slot")
        self.capacity = capacity
        self.retainedEmbeddingWidth = retainedEmbeddingWidth
        base = .allocate(capacity: capacity)
        base.initialize(repeating: PendingRequest(), count: capacity)
        free = Array((0..<capacity).reversed())
    }

    deinit {
        base.deinitialize(count: capacity)
        base.deallocate()
    }

    /// Event loop only: a free slot, or nil when every slot is in use.
    package func acquire() -> Int? { free.popLast() }

    /// Buffers of a released slot that grew past this many elements are given back (issue 11.8):
    /// otherwise every slot would keep the capacity of the largest request it ever held, up to
    /// 4 lists × 10,000 ids per slot × every slot of the pool.
    package static let retainedElements = 4_096

    /// Event loop only: returns a slot whose answer has been encoded.
    package func release(_ slot: Int) {
        base[slot].trimBuffers(above: Self.retainedElements, embeddingAbove: retainedEmbeddingWidth)
        free.append(slot)
    }

    /// Slots not in use (for tests and the soak test: every slot comes back).
    package var freeCount: Int { free.count }

    /// The request in `slot`; only the thread owning the slot may use it.
    package subscript(slot: Int) -> PendingRequest {
        unsafeAddress {
            precondition(slot >= 0 && slot < capacity, "request slot out of range")
            return UnsafePointer(base + slot)
        }
        unsafeMutableAddress {
            precondition(slot >= 0 && slot < capacity, "request slot out of range")
            return base + slot
        }
    }
}

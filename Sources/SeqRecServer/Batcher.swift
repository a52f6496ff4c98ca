// Dynamic batching: per-model FIFO queues of request slots. A worker takes a batch when the model
// has max-batch requests waiting or when its oldest request has waited max-delay; requests for
// the same model that arrive meanwhile ride along in the same model call.

/// A fixed-capacity FIFO of slot indices.
private struct SlotRing {
    private var storage: [Int]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = Array(repeating: 0, count: capacity) }

    var first: Int? { count == 0 ? nil : storage[head] }

    mutating func append(_ slot: Int) -> Bool {
        guard count < storage.count else { return false }
        storage[(head + count) % storage.count] = slot
        count += 1
        return true
    }

    mutating func removeFirst() -> Int {
        let slot = storage[head]
        head = (head + 1) % storage.count
        count -= 1
        return slot
    }

    /// Removes `slot` wherever it is, keeping the order of the others.
    mutating func remove(_ slot: Int) -> Bool {
        guard let offset = (0..<count).first(where: { storage[(head + $0) % storage.count] == slot }) else { return false }
        for position in offset..<(count - 1) {
            storage[(head + position) % storage.count] = storage[(head + position + 1) % storage.count]
        }
        count -= 1
        return true
    }
}

package final class Batcher: @unchecked Sendable {
    private let monitor = Monitor()
    private let pool: RequestPool
    private let maxQueue: Int
    private let maxBatch: Int
    private let maxDelayNanoseconds: UInt64
    // Guarded by `monitor`.
    private var queues: [SlotRing]
    private var queued = 0
    private var stopping = false

    package init(pool: RequestPool, modelCount: Int, maxQueue: Int, maxBatch: Int, maxDelayMicroseconds: Int) {
        self.pool = pool
        self.maxQueue = maxQueue
        self.maxBatch = maxBatch
        maxDelayNanoseconds = UInt64(maxDelayMicroseconds) * 1_000
        queues = Array(repeating: SlotRing(capacity: maxQueue), count: modelCount)
    }

    /// Queues the request in `slot` (its `model` and `enqueuedAt` set); false when the queue is full.
    package func submit(_ slot: Int) -> Bool {
        let model = pool[slot].model
        let accepted = monitor.withLock {
            guard queued < maxQueue, queues[model].append(slot) else { return false }
            queued += 1
            return true
        }
        if accepted { monitor.signal() }
        return accepted
    }

    /// Takes a still-queued request back (CANCEL); false when a worker already has it.
    package func withdraw(_ slot: Int, model: Int) -> Bool {
        monitor.withLock {
            guard queues[model].remove(slot) else { return false }
            queued -= 1
            return true
        }
    }

    /// Makes the workers return once their current batch is done. Queued requests are dropped:
    /// the server stops only when no connection is left to answer them.
    package func stop() {
        monitor.withLock {
            stopping = true
            for model in queues.indices {
                while queues[model].count > 0 { _ = queues[model].removeFirst() }
            }
            queued = 0
        }
        monitor.broadcast()
    }

    /// Blocks until a batch is due; fills `slots` and returns the model index, or nil after `stop()`
    /// once nothing is queued.
    package func nextBatch(into slots: inout [Int]) -> Int? {
        slots.removeAll(keepingCapacity: true)
        return monitor.withLock { () -> Int? in
            while true {
                guard let (model, oldest) = oldestQueue() else {
                    if stopping { return nil }
                    monitor.wait(until: nil)
                    continue
                }
                let due = oldest &+ maxDelayNanoseconds
                if queues[model].count >= maxBatch || System.monotonicNanoseconds() >= due {
                    while slots.count < maxBatch, queues[model].count > 0 {
                        slots.append(queues[model].removeFirst())
                    }
                    queued -= slots.count
                    // Another worker may serve the rest (or another model) right away.
                    if queued > 0 { monitor.signal() }
                    return model
                }
                monitor.wait(until: due)
            }
        }
    }

    /// The model whose head request has waited longest, with that request's enqueue time.
    private func oldestQueue() -> (Int, UInt64)? {
        var best: (Int, UInt64)?
        for model in queues.indices {
            guard let head = queues[model].first else { continue }
            let time = pool[head].enqueuedAt
            if let current = best, current.1 <= time { continue }
            best = (model, time)
        }
        return best
    }
}

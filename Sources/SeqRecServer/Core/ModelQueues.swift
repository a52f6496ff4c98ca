// Dynamic batching without threads: one FIFO of request slots per model. A model's batch is due
// when it holds max-batch requests or when its oldest request has waited max-delay (0 by default:
// at once). Requests read together while the model is busy therefore share the next call. Due
// batches are taken oldest first across models, so one model's full batch never waits for
// another model's timer.

/// A fixed-capacity FIFO of (slot, enqueue time).
private struct SlotRing {
    private var slots: [Int]
    private var times: [UInt64]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        slots = Array(repeating: 0, count: capacity)
        times = Array(repeating: 0, count: capacity)
    }

    var oldest: UInt64? { count == 0 ? nil : times[head] }

    mutating func append(_ slot: Int, at time: UInt64) -> Bool {
        guard count < slots.count else { return false }
        let position = (head + count) % slots.count
        slots[position] = slot
        times[position] = time
        count += 1
        return true
    }

    mutating func removeFirst() -> Int {
        let slot = slots[head]
        head = (head + 1) % slots.count
        count -= 1
        return slot
    }

    /// Removes `slot` wherever it is, keeping the order of the others.
    mutating func remove(_ slot: Int) -> Bool {
        guard let offset = (0..<count).first(where: { slots[(head + $0) % slots.count] == slot }) else { return false }
        for position in offset..<(count - 1) {
            let to = (head + position) % slots.count
            let from = (head + position + 1) % slots.count
            slots[to] = slots[from]
            times[to] = times[from]
        }
        count -= 1
        return true
    }
}

package struct ModelQueues {
    private var queues: [SlotRing]
    package let maxQueue: Int
    package let maxBatch: Int
    package let maxDelayNanoseconds: UInt64
    /// Requests waiting, all models together (bounded by `maxQueue`).
    package private(set) var count = 0

    package init(modelCount: Int, maxQueue: Int, maxBatch: Int, maxDelayMicroseconds: Int) {
        precondition(modelCount > 0 && maxQueue > 0 && maxBatch > 0, "queues need models, room and a batch size")
        queues = Array(repeating: SlotRing(capacity: maxQueue), count: modelCount)
        self.maxQueue = maxQueue
        self.maxBatch = maxBatch
        maxDelayNanoseconds = UInt64(maxDelayMicroseconds) * 1_000
    }

    /// Makes room for `count` model versions (a reload published a version in a new slot).
    package mutating func ensureQueues(count: Int) {
        while queues.count < count { queues.append(SlotRing(capacity: maxQueue)) }
    }

    /// Queues `slot` for `model`; false when the server-wide queue is full.
    package mutating func enqueue(_ slot: Int, model: Int, now: UInt64) -> Bool {
        guard count < maxQueue, queues[model].append(slot, at: now) else { return false }
        count += 1
        return true
    }

    /// Takes a still-queued request back (CANCEL, closed connection); false when it was already taken.
    package mutating func withdraw(_ slot: Int, model: Int) -> Bool {
        guard queues[model].remove(slot) else { return false }
        count -= 1
        return true
    }

    package func waiting(model: Int) -> Int { queues[model].count }

    /// Whether a batch is due now.
    package func hasDueBatch(now: UInt64) -> Bool { dueModel(now: now) != nil }

    /// Moves the most overdue due batch into `slots` (cleared first) and returns its model.
    package mutating func takeDueBatch(now: UInt64, into slots: inout [Int]) -> Int? {
        slots.removeAll(keepingCapacity: true)
        guard let model = dueModel(now: now) else { return nil }
        while slots.count < maxBatch, queues[model].count > 0 {
            slots.append(queues[model].removeFirst())
        }
        count -= slots.count
        return model
    }

    /// When the next batch becomes due by the max-delay rule alone (nil: nothing queued).
    /// Computed on every poll: a loop, not `compactMap(…).min()`, which built an array each time (the
    /// server allocation test caught it as allocations per second of polling).
    package var nextDueTime: UInt64? {
        var oldest: UInt64?
        for queue in queues {
            if let time = queue.oldest, time < (oldest ?? .max) { oldest = time }
        }
        return oldest.map { $0 &+ maxDelayNanoseconds }
    }

    /// Drops everything (the server is stopping); returns the slots dropped.
    package mutating func removeAll(into slots: inout [Int]) {
        for model in queues.indices {
            while queues[model].count > 0 { slots.append(queues[model].removeFirst()) }
        }
        count = 0
    }

    private func dueModel(now: UInt64) -> Int? {
        var best: (model: Int, oldest: UInt64)?
        for model in queues.indices {
            guard let oldest = queues[model].oldest else { continue }
            let due = queues[model].count >= maxBatch || now >= oldest &+ maxDelayNanoseconds
            guard due else { continue }
            if let current = best, current.oldest <= oldest { continue }
            best = (model, oldest)
        }
        return best?.model
    }
}

// The batcher's queues without threads: one FIFO per model, due by size or by max-delay, most overdue
// first, so a full batch of one model never waits for another model's timer.
import Testing
@testable import SeqRecServer

@Suite struct ModelQueuesTests {
    private let ms: UInt64 = 1_000_000

    // Mutating calls cannot go inside #expect directly.
    private func add(_ queues: inout ModelQueues, _ slot: Int, model: Int, now: UInt64) -> Bool {
        queues.enqueue(slot, model: model, now: now)
    }

    private func remove(_ queues: inout ModelQueues, _ slot: Int, model: Int) -> Bool {
        queues.withdraw(slot, model: model)
    }

    @Test func aFullBatchOfOneModelDoesNotWaitForAnotherModelsTimer() {
        var queues = ModelQueues(modelCount: 2, maxQueue: 100, maxBatch: 3, maxDelayMicroseconds: 10_000)
        var batch: [Int] = []
        // Model 0's single request is older but not due for 10 ms; model 1 fills a batch at once.
        #expect(add(&queues, 100, model: 0, now: 0))
        #expect(!queues.hasDueBatch(now: 1 * ms))
        for slot in 1...3 { #expect(add(&queues, slot, model: 1, now: 1 * ms)) }
        #expect(queues.takeDueBatch(now: 1 * ms, into: &batch) == 1)
        #expect(batch == [1, 2, 3])
        #expect(queues.takeDueBatch(now: 1 * ms, into: &batch) == nil)
        #expect(queues.nextDueTime == 10 * ms)
        #expect(queues.takeDueBatch(now: 10 * ms, into: &batch) == 0)
        #expect(batch == [100])
        #expect(queues.count == 0)
    }

    @Test func dueBatchesAreTakenMostOverdueFirst() {
        var queues = ModelQueues(modelCount: 3, maxQueue: 100, maxBatch: 8, maxDelayMicroseconds: 1_000)
        var batch: [Int] = []
        #expect(add(&queues, 20, model: 2, now: 5 * ms))
        #expect(add(&queues, 10, model: 1, now: 3 * ms))
        #expect(add(&queues, 11, model: 1, now: 6 * ms))
        #expect(queues.takeDueBatch(now: 9 * ms, into: &batch) == 1)
        #expect(batch == [10, 11])
        #expect(queues.takeDueBatch(now: 9 * ms, into: &batch) == 2)
        #expect(batch == [20])
    }

    @Test func zeroDelayMakesEveryRequestDueAtOnceAndBatchesWhatWaits() {
        var queues = ModelQueues(modelCount: 1, maxQueue: 100, maxBatch: 4, maxDelayMicroseconds: 0)
        var batch: [Int] = []
        for slot in 0..<6 { #expect(add(&queues, slot, model: 0, now: 0)) }
        #expect(queues.takeDueBatch(now: 0, into: &batch) == 0)
        #expect(batch == [0, 1, 2, 3])
        #expect(queues.takeDueBatch(now: 0, into: &batch) == 0)
        #expect(batch == [4, 5])
    }

    @Test func theQueueBoundCountsEveryModelAndWithdrawKeepsOrder() {
        var queues = ModelQueues(modelCount: 2, maxQueue: 3, maxBatch: 8, maxDelayMicroseconds: 0)
        var batch: [Int] = []
        #expect(add(&queues, 1, model: 0, now: 0))
        #expect(add(&queues, 2, model: 1, now: 0))
        #expect(add(&queues, 3, model: 0, now: 0))
        #expect(!add(&queues, 4, model: 1, now: 0))
        #expect(add(&queues, 5, model: 0, now: 0) == false)
        #expect(remove(&queues, 1, model: 0))
        #expect(!remove(&queues, 1, model: 0))
        #expect(add(&queues, 6, model: 0, now: 1))
        #expect(queues.takeDueBatch(now: 1, into: &batch) == 0)
        #expect(batch == [3, 6])
    }
}

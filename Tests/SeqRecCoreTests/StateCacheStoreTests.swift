import Foundation
import Synchronization
import Testing
@testable import SeqRecCore

/// `StateCache` on its own: sizing from the budget, replacement by recency, superseding, renewal, the
/// idle time, the usage counters, and lock-free readers racing writers.
@Suite("State cache store")
struct StateCacheStoreTests {
    static func key(_ value: Int) -> WindowKey {
        var key = WindowKey()
        key.append(value)
        return key
    }

    /// A record of `floats` floats whose every float says which key wrote it.
    static func store(_ cache: StateCache, _ value: Int, floats: Int, now: UInt64 = 1, superseding: Int? = nil) {
        cache.store(key(value), floats: floats, aux: value, now: now, superseding: superseding.map(key)) { payload in
            payload.update(repeating: Float(value), count: floats)
        }
    }

    /// The key's record is found whole (every float and the aux are the key's), or nil.
    static func read(_ cache: StateCache, _ value: Int, now: UInt64 = 1, renew: Bool = false) -> Int? {
        var floats = 0, intact = true
        let found = cache.read(key(value), now: now, renew: renew) { record in
            floats = record.floats
            intact = record.aux == value && (0..<record.floats).allSatisfy { record.payload[$0] == Float(value) }
        }
        guard found else { return nil }
        #expect(intact, "record of \(value) read back changed")
        return floats
    }

    static func cache(budget: Int, floats: Int = 100, idleSeconds: Int = 60) throws -> StateCache {
        try StateCache(StateCacheSettings(budgetBytes: budget, idleSeconds: idleSeconds), minFloats: floats, maxFloats: floats,
                       model: "test")
    }

    @Test func sizesRingAndIndexFromTheBudget() throws {
        let cache = try Self.cache(budget: 1 << 20, floats: 100)
        // 100 floats → 464 bytes → one 512-byte record (header 64 + 448).
        #expect(StateCache.recordBytes(floats: 100) == 512)
        #expect(cache.ringBytes + cache.sets * StateCache.ways * 32 + cache.sets * 8 <= 1 << 20)
        #expect(cache.ringBytes > (1 << 20) * 8 / 10)
        // 1.5 index slots per record the ring holds.
        #expect(cache.sets * StateCache.ways >= cache.ringBytes / 512 * 14 / 10)
        #expect(cache.usage.budgetBytes == 1 << 20)
        #expect(throws: ModelLoadError.self) { try Self.cache(budget: 1_000, floats: 100) }
    }

    @Test func findsWhatWasStoredAndNothingElse() throws {
        let cache = try Self.cache(budget: 1 << 20)
        #expect(Self.read(cache, 1) == nil)
        Self.store(cache, 1, floats: 100)
        Self.store(cache, 2, floats: 37)
        #expect(Self.read(cache, 1) == 100)
        #expect(Self.read(cache, 2) == 37)
        #expect(Self.read(cache, 3) == nil)
        let usage = cache.usage
        #expect(usage.entries == 2 && usage.stores == 2 && usage.evictions == 0)
        #expect(usage.liveBytes == StateCache.recordBytes(floats: 100) + StateCache.recordBytes(floats: 37))
        Self.store(cache, 1, floats: 50)   // replaces its own record: not an eviction
        #expect(Self.read(cache, 1) == 50)
        #expect(cache.usage.entries == 2 && cache.usage.evictions == 0)
    }

    /// Keys stored one after another in a ring of R records: the last R are kept, every older one was
    /// evicted exactly once; reading an old record renews it so it outlives younger ones.
    @Test func keepsTheMostRecentlyUsed() throws {
        let cache = try Self.cache(budget: 64 << 10, floats: 100)
        let capacity = cache.ringBytes / 512
        let total = 3 * capacity
        for value in 0..<total { Self.store(cache, value, floats: 100) }
        let kept = (0..<total).filter { Self.read(cache, $0) != nil }
        // The ring holds the last `capacity` records; a set of the index that overflowed may have lost one.
        #expect(kept.allSatisfy { $0 >= total - capacity })
        #expect(kept.count >= capacity * 9 / 10 && kept.count <= capacity, "\(kept.count) of \(capacity)")
        #expect(cache.usage.evictions == total - kept.count)
        #expect(cache.usage.entries == kept.count)

        // The oldest kept record, read with renewal, survives the next half-ring of stores; its neighbour does not.
        let oldest = kept[0], neighbour = kept[1]
        #expect(Self.read(cache, oldest, renew: true) == 100)
        for value in total..<(total + capacity - 4) { Self.store(cache, value, floats: 100) }
        #expect(Self.read(cache, oldest) == 100)
        #expect(Self.read(cache, neighbour) == nil)
    }

    /// A session's next window supersedes its previous one: still found (another session may have the
    /// same window), but not counted as an eviction when its room is reused.
    @Test func supersededRecordsStayFindableAndAreNotEvictions() throws {
        let cache = try Self.cache(budget: 64 << 10)
        Self.store(cache, 10, floats: 100)
        Self.store(cache, 11, floats: 100, superseding: 10)
        #expect(Self.read(cache, 10) == 100)
        #expect(Self.read(cache, 11) == 100)
        #expect(cache.usage.entries == 2 && cache.usage.liveBytes == 1_024)

        // Pairs (previous window, next window): only the next windows are lost state when reused.
        let empty = try Self.cache(budget: 64 << 10)
        let capacity = empty.ringBytes / 512
        for pair in 0..<capacity {
            Self.store(empty, 2 * pair, floats: 100)
            Self.store(empty, 2 * pair + 1, floats: 100, superseding: 2 * pair)
        }
        let kept = (0..<(2 * capacity)).filter { Self.read(empty, $0) != nil }
        let lostNextWindows = (0..<capacity).filter { !kept.contains(2 * $0 + 1) }.count
        #expect(lostNextWindows > 0)
        #expect(empty.usage.evictions == lostNextWindows)
    }

    /// Records of mixed sizes wrap around the ring's end (padding) and stay intact.
    @Test func mixedSizesWrapIntact() throws {
        let cache = try StateCache(StateCacheSettings(budgetBytes: 48 << 10), minFloats: 16, maxFloats: 2_000, model: "test")
        for value in 0..<500 { Self.store(cache, value, floats: 16 + (value * 389) % 1_985) }
        var found = 0
        for value in 0..<500 where Self.read(cache, value) != nil { found += 1 }
        #expect(found > 5)
        #expect(cache.usage.entries == found)
        #expect(cache.usage.liveBytes <= cache.ringBytes)
        #expect(cache.usage.evictions == 500 - found)
    }

    @Test func idleRecordsAreNotResumed() throws {
        let cache = try Self.cache(budget: 64 << 10, idleSeconds: 1)
        Self.store(cache, 1, floats: 100, now: 1_000_000_000)
        #expect(Self.read(cache, 1, now: 1_900_000_000) == 100)   // used at 1.9 s: idle clock restarts
        #expect(Self.read(cache, 1, now: 2_800_000_000) == 100)
        #expect(Self.read(cache, 1, now: 3_900_000_000) == nil)
        // An idle record's index slot is taken first and counted as an expiration.
        for value in 2..<(2 + StateCache.ways * cache.sets) { Self.store(cache, value, floats: 100, now: 4_000_000_000) }
        #expect(cache.usage.expirations >= 1)
    }

    /// Two writers and two readers on one small cache for a while: every read that succeeds returns a
    /// whole record of the key asked for, never a torn or foreign one.
    @Test func readersRacingWritersNeverSeeATornRecord() throws {
        let cache = try StateCache(StateCacheSettings(budgetBytes: 96 << 10), minFloats: 64, maxFloats: 1_024, model: "test")
        let stop = Atomic<Bool>(false)
        let hits = Atomic<Int>(0), torn = Atomic<Int>(0), finished = Atomic<Int>(0)
        let threads = (0..<4).map { index in
            Thread {
                var value = index
                while !stop.load(ordering: .relaxed) {
                    value = (value &* 1_103_515_245 &+ 12_345) & 0xFF
                    if index < 2 {
                        Self.store(cache, value, floats: 64 + value * 3)
                    } else {
                        var intact = true
                        let found = cache.read(Self.key(value), now: 1) { record in
                            intact = record.aux == value && record.floats == 64 + value * 3
                                && (0..<record.floats).allSatisfy { record.payload[$0] == Float(value) }
                        }
                        if found { hits.add(1, ordering: .relaxed) }
                        if found && !intact { torn.add(1, ordering: .relaxed) }
                    }
                }
                finished.add(1, ordering: .releasing)
            }
        }
        threads.forEach { $0.start() }
        Thread.sleep(forTimeInterval: 0.5)
        stop.store(true, ordering: .relaxed)
        while finished.load(ordering: .acquiring) < threads.count { Thread.sleep(forTimeInterval: 0.001) }
        #expect(torn.load(ordering: .relaxed) == 0)
        #expect(hits.load(ordering: .relaxed) > 100)
    }
}

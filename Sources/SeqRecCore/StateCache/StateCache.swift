// One model's store of window states (GRU states, transformer keys and values), shared by every
// inference context, so a session's next click finds its state whichever server worker runs it.
//
// Records (a 64-byte header, then the payload floats, padded to 64 bytes) are appended to a ring of
// the budget's bytes; the oldest bytes are reused first. A session stores a record on every click and
// its previous one is marked superseded then, so the ring keeps the most recently used sessions: replacement by
// recency at byte granularity, with records only as long as their window (no slot sized for the
// longest). A hit on a record in the older half of the ring copies it to the head (renewal), so a
// window asked for again and again stays. Records idle longer than the idle time are not resumed.
//
// An index of 16-way sets maps a window key to its record (1.5 slots per smallest record the ring
// holds, 32 bytes each). Readers take no lock: each set has a
// sequence number (odd while a writer changes the set), and the ring a tail position that writers
// advance before reusing bytes; a reader copies the record out and then checks both, so a record
// changed under it is a miss, never a wrong state. Writers (one store per request) take a mutex.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

package final class StateCache: @unchecked Sendable {
    // safe to share: the ring's bytes and the index are written only with `writer` held; readers read
    // them under the validation described above; every counter is behind `writer`.
    let budgetBytes: Int
    let ringBytes: Int
    let sets: Int
    /// Floats of the largest record this cache was sized for.
    let maxFloats: Int
    private let idleNanoseconds: UInt64
    private let ring: UnsafeMutableRawPointer
    /// The ring's memory: 2 MB pages where the kernel gives them (transparent huge pages), so filling it
    /// takes one page fault per 2 MB instead of one per 4 KB (a fresh 4 KB page per SASRec record cost
    /// a few µs per request until the ring had wrapped once).
    private let ringMemory: HugePageRegion?
    /// One largest record, for renewals (used with `writer` held).
    private let scratch: UnsafeMutableRawPointer
    /// Per index slot `tagWords` words: key.a, key.b, ring position + 1 (0: empty), last use (ns, with
    /// `supersededFlag`). The record's header holds key.a, key.b, slot, record bytes, payload floats, aux.
    private let tags: UnsafeMutablePointer<Atomic<UInt64>>
    private let versions: UnsafeMutablePointer<Atomic<UInt64>>
    /// Log positions (bytes written since creation): records live in [tail, head).
    private let head = Atomic<UInt64>(0)
    private let tail = Atomic<UInt64>(0)
    private let writer = Mutex(StateCacheUsage())

    static let ways = 16
    static let tagWords = 4
    /// In a slot's last-use word: a later window of a session grew from this one. It stays findable
    /// (another session may have the same window: sessions often start on the same item), is replaced
    /// first, and is not counted as an eviction when dropped. Cleared when it is read again.
    private static let supersededFlag: UInt64 = 1 << 63
    static let headerBytes = 64
    private static let tagBytes = tagWords * MemoryLayout<UInt64>.stride

    /// A record's bytes in the ring: header and payload, rounded up to 64.
    static func recordBytes(floats: Int) -> Int { headerBytes + (floats * MemoryLayout<Float>.stride + 63) / 64 * 64 }

    /// Sizes the ring and index from `settings.budgetBytes`: 1.5 index slots per record of `minFloats`
    /// (the smallest worth counting on) the ring can hold. Throws when the budget cannot hold two of the
    /// largest records (`maxFloats`) next to the index.
    init(_ settings: StateCacheSettings, minFloats: Int, maxFloats: Int, model: String) throws(ModelLoadError) {
        precondition(settings.isEnabled && minFloats > 0 && maxFloats >= minFloats, "a state cache holds something")
        let budget = settings.budgetBytes
        let smallest = Self.recordBytes(floats: minFloats), largest = Self.recordBytes(floats: maxFloats)
        let slotBytes = 3 * Self.tagBytes / 2 + 1
        let slots = Swift.max(Self.ways, (budget / (smallest + slotBytes) * 3 / 2 + Self.ways - 1) / Self.ways * Self.ways)
        let indexBytes = slots * Self.tagBytes + slots / Self.ways * MemoryLayout<UInt64>.stride
        let ringBytes = (budget - indexBytes) / 64 * 64
        guard ringBytes >= 2 * largest else {
            throw ModelLoadError("model load: a state cache of \(budget) bytes cannot hold two windows of this \(model) model "
                + "(\(largest) bytes each, plus the index); raise --state-cache-mb or set it to 0")
        }
        budgetBytes = budget
        self.ringBytes = ringBytes
        sets = slots / Self.ways
        self.maxFloats = maxFloats
        idleNanoseconds = UInt64(settings.idleSeconds) * 1_000_000_000
        // Zeroed by calloc (fresh pages for large sizes, so untouched until used): an all-zero
        // Atomic<UInt64> is a 0, the state of an empty slot and of an unchanged set.
        guard let tagMemory = calloc(slots * Self.tagWords, MemoryLayout<UInt64>.stride) else {
            throw ModelLoadError("model load: cannot allocate the state cache's \(indexBytes)-byte index; lower --state-cache-mb")
        }
        guard let versionMemory = calloc(sets, MemoryLayout<UInt64>.stride) else {
            free(tagMemory)
            throw ModelLoadError("model load: cannot allocate the state cache's \(indexBytes)-byte index; lower --state-cache-mb")
        }
        tags = tagMemory.bindMemory(to: Atomic<UInt64>.self, capacity: slots * Self.tagWords)
        versions = versionMemory.bindMemory(to: Atomic<UInt64>.self, capacity: sets)
        // Pages of the ring are touched only when written: a large budget costs memory as it fills.
        ringMemory = HugePageRegion(bytes: ringBytes)
        ring = ringMemory?.start ?? .allocate(byteCount: ringBytes, alignment: 64)
        scratch = .allocate(byteCount: largest, alignment: 64)
        if settings.prefault {
            // Measured (Benchmarks/RESULTS.md, issue 14): until the ring had wrapped once, first touches
            // cost a fresh server's SASRec requests about half their compute time.
            memset(ring, 0, ringBytes)
            memset(tagMemory, 0, slots * Self.tagWords * MemoryLayout<UInt64>.stride)
        }
        writer.withLock { $0.budgetBytes = budget }
    }

    deinit {
        if ringMemory == nil { ring.deallocate() }
        scratch.deallocate()
        // Atomic<UInt64> is trivial: nothing to deinitialize.
        free(tags)
        free(versions)
    }

    /// A record found by `read`: valid only inside the `copy` closure.
    struct Record {
        let payload: UnsafePointer<Float>
        let floats: Int
        let aux: Int
    }

    /// Looks `key` up and, if a record is stored and not idle too long, lets `copy` copy out what it needs,
    /// then checks that no writer touched the record meanwhile. True: `copy` saw the complete record of
    /// `key`. False: a miss (whatever `copy` wrote must be ignored). `renew`: copy a record from the older
    /// half of the ring to the head, so a window asked for repeatedly is not dropped as old.
    func read(_ key: WindowKey, now: UInt64, renew: Bool = false, _ copy: (Record) -> Void) -> Bool {
        let set = self.set(of: key)
        let version = versions[set].load(ordering: .acquiring)
        guard version & 1 == 0, let slot = find(key, in: set) else { return false }
        let tag = tags + slot * Self.tagWords
        let stored = tag[2].load(ordering: .relaxed), lastUse = tag[3].load(ordering: .relaxed) & ~Self.supersededFlag
        atomicMemoryFence(ordering: .acquiring)
        // The set changed while its slot was read: the fields may belong to different records.
        guard versions[set].load(ordering: .relaxed) == version, stored != 0 else { return false }
        guard now <= lastUse || now - lastUse <= idleNanoseconds else { return false }
        let position = stored - 1
        guard position >= tail.load(ordering: .acquiring) else { return false }
        let offset = Int(position % UInt64(ringBytes))
        let header = (ring + offset).assumingMemoryBound(to: UInt64.self)
        // Read before the tail check below, like the payload: a reused header makes the whole read a miss,
        // and until then its values are only trusted to stay inside the ring.
        let floats = Int(truncatingIfNeeded: header[4]), aux = Int(truncatingIfNeeded: header[5])
        guard header[0] == key.a && header[1] == key.b, floats > 0, floats <= maxFloats,
              offset + Self.recordBytes(floats: floats) <= ringBytes else { return false }
        // safe: the record lies inside the ring (records never wrap) and holds `floats` payload floats;
        // if a writer reused its bytes during the copy, the tail check below turns the copy into a miss.
        let payload = (UnsafeMutableRawPointer(header) + Self.headerBytes).assumingMemoryBound(to: Float.self)
        copy(Record(payload: UnsafePointer(payload), floats: floats, aux: aux))
        atomicMemoryFence(ordering: .acquiring)
        guard tail.load(ordering: .relaxed) <= position else { return false }
        // A racing writer may have reused the slot: then another record's idle clock is reset, harmlessly.
        tag[3].store(now, ordering: .relaxed)
        if renew, head.load(ordering: .relaxed) - position > UInt64(ringBytes / 2) { self.renew(key, from: position, now: now) }
        return true
    }

    /// Stores `floats` payload floats for `key` (written by `fill`), replacing the record of `key` if any.
    /// `superseding`: the key of the window this one grew from (a session's previous click), marked
    /// superseded.
    func store(_ key: WindowKey, floats: Int, aux: Int, now: UInt64, superseding: WindowKey? = nil,
                       _ fill: (UnsafeMutablePointer<Float>) -> Void) {
        precondition(floats > 0 && floats <= maxFloats, "state cache record of \(floats) floats, sized for \(maxFloats)")
        let bytes = Self.recordBytes(floats: floats)
        writer.withLock { usage in
            if let superseding, superseding != key, let slot = find(superseding, in: set(of: superseding)) {
                let word = tags[slot * Self.tagWords + 3].load(ordering: .relaxed)
                tags[slot * Self.tagWords + 3].store(word | Self.supersededFlag, ordering: .relaxed)
            }
            let position = reserve(bytes, now: now, usage: &usage)
            let header = ring + Int(position % UInt64(ringBytes))
            fill((header + Self.headerBytes).assumingMemoryBound(to: Float.self))
            writeHeader(header, key: key, slot: -1, bytes: bytes, floats: floats, aux: aux)
            publish(key, at: position, bytes: bytes, now: now, header: header, usage: &usage)
        }
    }

    /// What the cache holds and has done.
    package var usage: StateCacheUsage { writer.withLock { $0 } }

    // MARK: writers (with `writer` held)

    /// Copies the record of `key` at `position` to the head, if it is still there (through `scratch`:
    /// the oldest record's bytes are the first the copy's room reuses).
    private func renew(_ key: WindowKey, from position: UInt64, now: UInt64) {
        writer.withLock { usage in
            guard let slot = find(key, in: set(of: key)), tags[slot * Self.tagWords + 2].load(ordering: .relaxed) == position + 1
            else { return }
            let source = ring + Int(position % UInt64(ringBytes))
            let bytes = Int(source.assumingMemoryBound(to: UInt64.self)[3])
            scratch.copyMemory(from: source, byteCount: bytes)
            clear(slot, usage: &usage)
            let target = reserve(bytes, now: now, usage: &usage)
            let header = ring + Int(target % UInt64(ringBytes))
            header.copyMemory(from: scratch, byteCount: bytes)
            publish(key, at: target, bytes: bytes, now: now, header: header, usage: &usage)
        }
    }

    /// Takes `bytes` at the head (after padding to the ring's end if they would wrap), reclaiming the
    /// oldest records first; returns their log position.
    private func reserve(_ bytes: Int, now: UInt64, usage: inout StateCacheUsage) -> UInt64 {
        var position = head.load(ordering: .relaxed)
        let offset = Int(position % UInt64(ringBytes))
        if offset + bytes > ringBytes {
            reclaim(until: position + UInt64(ringBytes - offset), now: now, usage: &usage)
            writeHeader(ring + offset, key: WindowKey(), slot: -1, bytes: ringBytes - offset, floats: 0, aux: 0)
            position += UInt64(ringBytes - offset)
            head.store(position, ordering: .releasing)
        }
        reclaim(until: position + UInt64(bytes), now: now, usage: &usage)
        head.store(position + UInt64(bytes), ordering: .releasing)
        return position
    }

    /// Advances the tail until the log up to `end` fits the ring, unindexing the records it passes.
    /// The new tail is visible before any of the reclaimed bytes is written again.
    private func reclaim(until end: UInt64, now: UInt64, usage: inout StateCacheUsage) {
        guard end > UInt64(ringBytes) else { return }
        var position = tail.load(ordering: .relaxed)
        let needed = end - UInt64(ringBytes)
        guard position < needed else { return }
        while position < needed {
            let header = (ring + Int(position % UInt64(ringBytes))).assumingMemoryBound(to: UInt64.self)
            let slot = Int(Int64(bitPattern: header[2])), bytes = Int(header[3])
            if slot >= 0, tags[slot * Self.tagWords + 2].load(ordering: .relaxed) == position + 1 {
                count(droppingSlot: slot, now: now, usage: &usage)
                clear(slot, usage: &usage)
            }
            position += UInt64(bytes)
        }
        tail.store(position, ordering: .releasing)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    private func writeHeader(_ header: UnsafeMutableRawPointer, key: WindowKey, slot: Int, bytes: Int, floats: Int, aux: Int) {
        let words = header.assumingMemoryBound(to: UInt64.self)
        words[0] = key.a
        words[1] = key.b
        words[2] = UInt64(bitPattern: Int64(slot))
        words[3] = UInt64(bytes)
        words[4] = UInt64(floats)
        words[5] = UInt64(bitPattern: Int64(aux))
    }

    /// Points the index slot of `key` (its own, a free one, an idle one, or the one holding the oldest
    /// record of its set) at the record just written at `position`.
    private func publish(_ key: WindowKey, at position: UInt64, bytes: Int, now: UInt64, header: UnsafeMutableRawPointer,
                         usage: inout StateCacheUsage) {
        let set = self.set(of: key), first = set * Self.ways
        var chosen = -1, oldest = UInt64.max
        for slot in first..<(first + Self.ways) {
            let tag = tags + slot * Self.tagWords
            let stored = tag[2].load(ordering: .relaxed)
            if stored != 0 && tag[0].load(ordering: .relaxed) == key.a && tag[1].load(ordering: .relaxed) == key.b {
                chosen = slot
                break
            }
            let word = tag[3].load(ordering: .relaxed), lastUse = word & ~Self.supersededFlag
            let spent = word & Self.supersededFlag != 0 || (now >= lastUse && now - lastUse > idleNanoseconds)
            let rank: UInt64 = stored == 0 ? 0 : spent ? 1 : stored + 1
            if rank < oldest { (chosen, oldest) = (slot, rank) }
        }
        let tag = tags + chosen * Self.tagWords
        if tag[2].load(ordering: .relaxed) != 0 {
            let replacingOwn = tag[0].load(ordering: .relaxed) == key.a && tag[1].load(ordering: .relaxed) == key.b
            if !replacingOwn { count(droppingSlot: chosen, now: now, usage: &usage) }
            clear(chosen, usage: &usage)
        }
        header.assumingMemoryBound(to: UInt64.self)[2] = UInt64(bitPattern: Int64(chosen))
        versions[set].wrappingAdd(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        tag[0].store(key.a, ordering: .relaxed)
        tag[1].store(key.b, ordering: .relaxed)
        tag[2].store(position + 1, ordering: .relaxed)
        tag[3].store(now, ordering: .relaxed)
        versions[set].wrappingAdd(1, ordering: .releasing)
        usage.entries += 1
        usage.liveBytes += bytes
        usage.stores += 1
    }

    /// Counts the record of `slot`, about to be dropped, as an expiration (idle too long), an eviction
    /// (still resumable), or nothing (superseded).
    private func count(droppingSlot slot: Int, now: UInt64, usage: inout StateCacheUsage) {
        let word = tags[slot * Self.tagWords + 3].load(ordering: .relaxed), lastUse = word & ~Self.supersededFlag
        if word & Self.supersededFlag != 0 { return }
        if now >= lastUse && now - lastUse > idleNanoseconds { usage.expirations += 1 } else { usage.evictions += 1 }
    }

    private func clear(_ slot: Int, usage: inout StateCacheUsage) {
        let set = slot / Self.ways, tag = tags + slot * Self.tagWords
        guard tag[2].load(ordering: .relaxed) != 0 else { return }
        usage.entries -= 1
        let position = tag[2].load(ordering: .relaxed) - 1
        usage.liveBytes -= Int((ring + Int(position % UInt64(ringBytes))).assumingMemoryBound(to: UInt64.self)[3])
        versions[set].wrappingAdd(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        tag[2].store(0, ordering: .relaxed)
        versions[set].wrappingAdd(1, ordering: .releasing)
    }

    // MARK: index

    private func set(of key: WindowKey) -> Int { Int(key.b % UInt64(sets)) }

    /// The occupied slot of `key` in `set`.
    private func find(_ key: WindowKey, in set: Int) -> Int? {
        let first = set * Self.ways
        for slot in first..<(first + Self.ways) {
            let tag = tags + slot * Self.tagWords
            if tag[0].load(ordering: .relaxed) == key.a && tag[1].load(ordering: .relaxed) == key.b
                && tag[2].load(ordering: .relaxed) != 0 {
                return slot
            }
        }
        return nil
    }
}

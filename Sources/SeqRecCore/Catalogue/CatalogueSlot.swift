// Where a model version's current `CatalogueSnapshot` lives: readers (inference contexts) take it
// without a lock, the catalogue swaps in a new one, and an old one is freed only once no reader can
// still hold it (read-copy-update with generation counters):
//   reader: mark = generation; p = current; use p; mark = 0
//   writer: old = exchange(current, new); g = generation++; retire (old, g);
//           free a retired (old, g) once every reader's non-zero mark is > g
// With sequentially consistent atomics, a reader whose mark is > g entered after the exchange and
// loads the new pointer; one whose mark is ≤ g (or not yet stored) keeps `old` alive until it leaves.
import Synchronization

public final class CatalogueSlot: @unchecked Sendable {
    /// One reader's mark: the generation it entered at, 0 while outside.
    final class Reader: Sendable {
        let mark = Atomic<UInt64>(0)
    }

    private struct Retired {
        let pointer: UInt
        let generation: UInt64
    }

    /// An `Unmanaged<CatalogueSnapshot>` retained by the slot, as bits; 0 = no snapshot.
    private let current = Atomic<UInt>(0)
    private let generation = Atomic<UInt64>(1)
    /// Readers and retired snapshots: touched by registration and by writers, never by a read.
    private let state = Mutex<(readers: [Reader], retired: [Retired])>(([], []))
    /// Tests pin the clock here (milliseconds since the epoch); 0 = the real-time clock.
    private let pinnedTime = Atomic<Int64>(0)

    public init() {}

    deinit {
        // No reader is left: every context holds its recommender, which holds this slot.
        if let pointer = UnsafeRawPointer(bitPattern: current.load(ordering: .sequentiallyConsistent)) {
            Unmanaged<CatalogueSnapshot>.fromOpaque(pointer).release()
        }
        state.withLock { state in
            for entry in state.retired { Unmanaged<CatalogueSnapshot>.fromOpaque(UnsafeRawPointer(bitPattern: entry.pointer)!).release() }
        }
    }

    /// The snapshot readers see now (a strong reference: for admin reads, not the hot path).
    public var snapshot: CatalogueSnapshot? {
        let reader = register()
        defer { unregister(reader) }
        return read(reader) { $0 }
    }

    /// Replaces the snapshot; the old one is freed once no reader holds it (maybe at a later publish or
    /// `reclaim`).
    public func publish(_ snapshot: CatalogueSnapshot?) {
        let new = snapshot.map { UInt(bitPattern: Unmanaged.passRetained($0).toOpaque()) } ?? 0
        state.withLock { state in
            let old = current.exchange(new, ordering: .sequentiallyConsistent)
            let previous = generation.add(1, ordering: .sequentiallyConsistent).oldValue
            if old != 0 { state.retired.append(Retired(pointer: old, generation: previous)) }
            Self.reclaim(&state)
        }
    }

    /// Frees the retired snapshots no reader can hold any more; returns how many are still waiting.
    @discardableResult
    public func reclaim() -> Int {
        state.withLock { state in
            Self.reclaim(&state)
            return state.retired.count
        }
    }

    private static func reclaim(_ state: inout (readers: [Reader], retired: [Retired])) {
        guard !state.retired.isEmpty else { return }
        var oldest = UInt64.max
        for reader in state.readers {
            let mark = reader.mark.load(ordering: .sequentiallyConsistent)
            if mark != 0 { oldest = Swift.min(oldest, mark) }
        }
        state.retired.removeAll { entry in
            guard entry.generation < oldest else { return false }
            // safe: retained by `publish`, and no reader entered at or before its generation is inside.
            Unmanaged<CatalogueSnapshot>.fromOpaque(UnsafeRawPointer(bitPattern: entry.pointer)!).release()
            return true
        }
    }

    func register() -> Reader {
        let reader = Reader()
        state.withLock { $0.readers.append(reader) }
        return reader
    }

    func unregister(_ reader: Reader) {
        state.withLock { state in
            state.readers.removeAll { $0 === reader }
            Self.reclaim(&state)
        }
    }

    /// Runs `body` with the current snapshot (nil when there is none); lock-free and allocation-free.
    /// `body` must not keep the snapshot beyond its return unless it retains it (Swift does, on copy).
    @inline(__always)
    func read<Result>(_ reader: Reader, _ body: (CatalogueSnapshot?) -> Result) -> Result {
        reader.mark.store(generation.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
        defer { reader.mark.store(0, ordering: .sequentiallyConsistent) }
        guard let pointer = UnsafeRawPointer(bitPattern: current.load(ordering: .sequentiallyConsistent)) else {
            return body(nil)
        }
        // safe: the mark keeps the snapshot from being released until the reader leaves.
        return Unmanaged<CatalogueSnapshot>.fromOpaque(pointer)._withUnsafeGuaranteedRef { body($0) }
    }

    /// Milliseconds since the epoch: the real-time clock, or the time a test pinned.
    public var now: Int64 {
        let pinned = pinnedTime.load(ordering: .relaxed)
        return pinned != 0 ? pinned : Timestamp.now()
    }

    /// Pins the clock expiry is judged by (nil: the real-time clock again). For tests.
    package func pinTime(_ milliseconds: Int64?) { pinnedTime.store(milliseconds ?? 0, ordering: .relaxed) }
}

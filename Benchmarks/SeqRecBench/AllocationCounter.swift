import CBenchSupport

/// Process-wide heap-allocation counts from the CBenchSupport malloc interposer (counts, not bytes).
public struct AllocationCounts: Sendable, Equatable {
    public var allocations: UInt64
    public var reallocations: UInt64
    public var frees: UInt64

    /// Reads the process-wide counters; never allocates.
    @inline(__always)
    public static func now() -> AllocationCounts {
        AllocationCounts(seqrec_malloc_counts_now())
    }

    /// Reads the calling thread's counters; never allocates.
    @inline(__always)
    public static func thisThread() -> AllocationCounts {
        AllocationCounts(seqrec_malloc_counts_this_thread())
    }

    @inline(__always)
    private init(_ counts: seqrec_malloc_counts) {
        self.init(allocations: counts.allocations, reallocations: counts.reallocations, frees: counts.frees)
    }

    public init(allocations: UInt64, reallocations: UInt64, frees: UInt64) {
        self.allocations = allocations
        self.reallocations = reallocations
        self.frees = frees
    }

    /// Calls that obtained or resized heap memory since `earlier`.
    public func allocationsSince(_ earlier: AllocationCounts) -> UInt64 {
        (allocations &- earlier.allocations) &+ (reallocations &- earlier.reallocations)
    }

    /// Whether the interposer really sees this process's allocations. It can only see them when
    /// the executable exports its `malloc` to the shared libraries (the Swift runtime allocates
    /// through libswiftCore), so this probes with an allocation made by the Swift runtime.
    public static let isActive: Bool = {
        let before = thisThread()
        let probe = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        probe.deallocate()
        return thisThread().allocationsSince(before) > 0
    }()
}

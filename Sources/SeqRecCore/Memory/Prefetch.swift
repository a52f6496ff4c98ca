// Prefetch hints for passes over thousands of random positions in tables of millions (the catalogue's
// batch updates, docs/OPERATIONS.md §12.4): a loop asks for the element it will need a few iterations
// later, so the cache and TLB misses of several elements overlap instead of each stalling the loop.
import CSeqRecKernels

/// How many iterations ahead a batch pass prefetches: enough to cover a miss (a few hundred
/// nanoseconds, with a page walk in a VM) at tens of nanoseconds per iteration, few enough that the
/// lines are still in L1/L2 when the loop reaches them.
let prefetchDistance = 32

extension Array {
    /// Hints that element `index` will be read or written soon; nothing when `index` is out of range.
    @inline(__always)
    func prefetch(_ index: Int) {
        guard index >= 0, index < count else { return }
        // safe: a prefetch never faults or changes memory, and the address is within the buffer.
        withUnsafeBufferPointer { seqrec_prefetch($0.baseAddress! + index) }
    }
}

// Load-time passes over GB-sized tables on every core (issue 18: a 10M-item file opens in < 1 s): the
// tensor data checksum beside the finiteness pass (ModelFileReader), the int8 table's per-row numbers
// (Int8ScanTable). Not for requests: those run on the caller's thread (and `--scan-threads`' workers).
import Dispatch

package enum ParallelBlocks {
    /// Calls `body(block, range)` for the blocks of `blockSize` items that cover `0 ..< count`, on every
    /// core at once, and returns when all are done. Blocks run concurrently: `body` must write only memory
    /// that belongs to its block.
    package static func run(count: Int, blockSize: Int, _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let blocks = (count + blockSize - 1) / blockSize
        withoutActuallyEscaping(body) { body in
            // safe: concurrentPerform returns only after every iteration ran, so `body` never outlives this
            // call, and the caller keeps the iterations' writes disjoint (the contract above).
            let shared = Unchecked(body: body)
            DispatchQueue.concurrentPerform(iterations: blocks) { block in
                shared.body(block, block * blockSize ..< Swift.min(count, (block + 1) * blockSize))
            }
        }
    }

    private struct Unchecked: @unchecked Sendable {
        let body: (Int, Range<Int>) -> Void
    }
}

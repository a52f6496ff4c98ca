// The scan helpers: a small fixed pool of threads, created once per process, that take row ranges of one
// request's exact int8 scan (ExactScan) so a large catalogue's B = 1 latency drops with more cores
// (docs/KERNELS.md, "Multi-core scans"). A scan takes only helpers that are idle at that moment and never
// waits for one: under load every helper is busy and each request scans on its own thread, so
// throughput does not drop (a batch still reads the table once per part). Handing work over allocates
// nothing: a job is a class reference and a part index, the wake-ups are semaphores.
import Foundation
import Synchronization

/// Something that can run part `part` of the scan it set up (ExactScan).
protocol ScanPartJob: AnyObject {
    func runPart(_ part: Int)
}

public final class ScanThreads: @unchecked Sendable {
    // @unchecked Sendable: `idle` is a Mutex; a slot's job and part are written by the one scan that
    // holds the helper (it took the bit from `idle`) before `wake.signal()` and read by the helper after
    // `wake.wait()`, so the semaphore orders every access.
    /// Threads one scan may use, the calling thread included (`seqrec serve --scan-threads`).
    public let count: Int
    private let slots: [HelperSlot]
    private let idle: Mutex<UInt64>

    /// The variable `seqrec serve` (as the default of `--scan-threads`) and the benchmarks read.
    public static let environmentVariable = "SEQREC_SCAN_THREADS"
    public static let maxCount = 64

    /// Starts `count − 1` helper threads (none for 1). `count` must lie in 1…64.
    public init(count: Int) throws(ModelLoadError) {
        guard (1...Self.maxCount).contains(count) else {
            throw ModelLoadError("scan threads: \(count) is not in 1…\(Self.maxCount); use about one per core")
        }
        self.count = count
        slots = (1..<count).map { _ in HelperSlot() }
        idle = Mutex(count > 1 ? (UInt64.max >> (65 - count)) : 0)
        for (index, slot) in slots.enumerated() {
            let thread = Thread { slot.serve() }
            thread.name = "seqrec-scan-\(index + 1)"
            thread.start()
        }
    }

    deinit {
        for slot in slots { slot.stop() }
    }

    /// The process's pool of `count` threads (nil for 1): made by the first model that asks (at start),
    /// kept for the life of the process and shared by every model and version loaded later, so the
    /// helpers stay a fixed few however many models a server holds.
    public static func shared(count: Int) throws(ModelLoadError) -> ScanThreads? {
        guard count > 1 else { return nil }
        return try pools.withLock { pools throws(ModelLoadError) in
            if let pool = pools[count] { return pool }
            let pool = try ScanThreads(count: count)
            pools[count] = pool
            return pool
        }
    }

    private static let pools = Mutex<[Int: ScanThreads]>([:])

    /// nil (unset) → 1; a number in 1…64 → that many; anything else throws.
    public static func countFromEnvironment() throws(ModelLoadError) -> Int {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable] else { return 1 }
        guard let count = Int(value), (1...maxCount).contains(count) else {
            throw ModelLoadError("\(environmentVariable)=\"\(value)\" is not a thread count; use 1…\(maxCount)")
        }
        return count
    }

    /// Takes up to `wanted` idle helpers (their indices into `helpers`) and returns how many it took.
    func acquire(upTo wanted: Int, into helpers: UnsafeMutablePointer<Int>) -> Int {
        idle.withLock { mask in
            var taken = 0
            while taken < wanted && mask != 0 {
                let helper = mask.trailingZeroBitCount
                mask &= mask - 1
                helpers[taken] = helper
                taken += 1
            }
            return taken
        }
    }

    /// Runs `job.runPart(part)` on an acquired helper.
    func start(helper: Int, job: any ScanPartJob, part: Int) {
        slots[helper].start(job, part: part)
    }

    /// Waits until the helper's part is done and returns the helper to the pool.
    func finish(helper: Int) {
        slots[helper].waitDone()
        idle.withLock { $0 |= 1 << UInt64(helper) }
    }
}

/// One helper thread's mailbox.
private final class HelperSlot: @unchecked Sendable {
    // @unchecked Sendable: see ScanThreads — the semaphores order every access to job, part and stopping.
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var job: (any ScanPartJob)?
    private var part = 0
    private var stopping = false

    func start(_ job: any ScanPartJob, part: Int) {
        self.job = job
        self.part = part
        wake.signal()
    }

    func waitDone() { done.wait() }

    func stop() {
        stopping = true
        wake.signal()
    }

    /// The helper thread's body: run each job handed over until the pool is released.
    func serve() {
        while true {
            wake.wait()
            if stopping { return }
            job?.runPart(part)
            job = nil
            done.signal()
        }
    }
}

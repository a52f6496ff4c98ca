// How the calling thread competes for a CPU. The model lifecycle thread loads and drops versions at
// "idle" priority (SCHED_IDLE: any other runnable thread of the machine preempts it at once on
// wake-up, and it gets the CPU only when no one else wants it) and holds the server's lock only at
// normal priority ("background", nice 10), so a thread the kernel keeps off the CPU never blocks
// the serving threads (docs/OPERATIONS.md §11.3).
import CLinux
import Glibc

package enum ThreadScheduling: Equatable, Sendable {
    /// SCHED_OTHER at this nice value (0 normal, 19 lowest).
    case normal(nice: Int32)
    /// SCHED_IDLE: runs only on a CPU nothing else wants; a waking thread preempts it at once.
    case idle

    /// Applies to the calling thread only (Linux: scheduling and nice values are per thread).
    package func apply() throws(SystemError) {
        var parameter = sched_param(sched_priority: 0)
        switch self {
        case .idle:
            guard sched_setscheduler(0, seqrec_sched_idle, &parameter) == 0 else {
                throw SystemError("sched_setscheduler(SCHED_IDLE)", code: errno)
            }
        case .normal(let nice):
            // Leaving SCHED_IDLE for SCHED_OTHER is allowed unprivileged when RLIMIT_NICE permits the
            // nice value (Linux ≥ 2.6.39); a positive nice is always allowed.
            guard sched_setscheduler(0, Int32(SCHED_OTHER), &parameter) == 0 else {
                throw SystemError("sched_setscheduler(SCHED_OTHER)", code: errno)
            }
            guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 else {
                throw SystemError("setpriority(\(nice))", code: errno)
            }
        }
    }

    /// The calling thread's scheduling (tests; nil when it cannot be read).
    package static func current() -> ThreadScheduling? {
        let policy = sched_getscheduler(0)
        if policy == seqrec_sched_idle { return .idle }
        guard policy == Int32(SCHED_OTHER) else { return nil }
        errno = 0
        let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return errno == 0 ? .normal(nice: nice) : nil
    }
}

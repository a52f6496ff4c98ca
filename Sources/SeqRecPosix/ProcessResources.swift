// Process-wide settings only executables change (library code never does): the open-file limit
// and the signal dispositions of a server, and the machine's processor count.
import CLinux
import Glibc

package enum ProcessResources {
    /// Raises the soft limit on open descriptors to the hard limit; returns the soft limit now in force.
    @discardableResult
    package static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }

    /// The process's resident memory in bytes (from /proc/self/statm; 0 when unreadable). With
    /// `returningFreeMemory`, freed heap pages are handed back to the kernel first (malloc_trim), so
    /// the figure is what the process holds rather than what the allocator keeps cached.
    package static func residentBytes(returningFreeMemory: Bool = false) -> Int {
        if returningFreeMemory { _ = malloc_trim(0) }
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        // "size resident shared text lib data dt", in pages.
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Online processors, at least 1.
    package static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}


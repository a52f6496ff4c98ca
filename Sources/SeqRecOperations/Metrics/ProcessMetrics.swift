// The standard `process_*` metrics of Prometheus client libraries, read from /proc/self at scrape
// time (never on a request path).
import Glibc

public struct ProcessMetrics: Sendable, Equatable {
    public var cpuSeconds: Double
    public var residentBytes: UInt64
    public var virtualBytes: UInt64
    public var openFileDescriptors: Int
    public var maxFileDescriptors: UInt64
    /// Unix time the process started, in seconds.
    public var startTimeSeconds: Double

    /// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd; nil when /proc is not there.
    public static func current() -> ProcessMetrics? {
        guard let stat = readFile("/proc/self/stat"), let system = readFile("/proc/stat") else { return nil }
        return parse(stat: stat, systemStat: system, openFileDescriptors: countOpenDescriptors(),
                     maxFileDescriptors: maxDescriptors(), ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                     pageSize: UInt64(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses).
    static func parse(stat: String, systemStat: String, openFileDescriptors: Int, maxFileDescriptors: UInt64,
                      ticksPerSecond: Double, pageSize: UInt64) -> ProcessMetrics? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of proc(5)); field N is fields[N - 3].
        guard fields.count > 21, ticksPerSecond > 0,
              let user = Double(fields[11]), let system = Double(fields[12]),
              let start = Double(fields[19]), let virtual = UInt64(fields[20]), let pages = UInt64(fields[21])
        else { return nil }
        let bootLine = systemStat.split(separator: "\n").first { $0.hasPrefix("btime ") }
        guard let bootText = bootLine?.split(separator: " ").last, let boot = Double(bootText) else { return nil }
        return ProcessMetrics(cpuSeconds: (user + system) / ticksPerSecond, residentBytes: pages &* pageSize,
                              virtualBytes: virtual, openFileDescriptors: openFileDescriptors,
                              maxFileDescriptors: maxFileDescriptors, startTimeSeconds: boot + start / ticksPerSecond)
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 20 { break }  // /proc/stat of a huge machine: the head is enough
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func countOpenDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count - 1)  // the directory stream's own descriptor
    }

    private static func maxDescriptors() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return UInt64(limit.rlim_cur)
    }
}

import CoreMetrics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics every Prometheus client library exports (the names of the Go and Java clients, so
/// stock dashboards work): CPU time, resident and virtual memory, open and maximum file descriptors, start time. Read
/// from `/proc/self` at each scrape.
final class ProcessMetrics: Sendable {
    static let descriptions = [
        MetricDescription("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
        MetricDescription("process_resident_memory_bytes", "Resident memory size in bytes."),
        MetricDescription("process_virtual_memory_bytes", "Virtual memory size in bytes."),
        MetricDescription("process_open_fds", "Number of open file descriptors."),
        MetricDescription("process_max_fds", "Maximum number of open file descriptors."),
        MetricDescription("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
    ]

    private let cpu: FloatingPointCounter
    private let cpuSeen = Mutex(0.0)
    private let resident: Gauge
    private let virtual: Gauge
    private let openFiles: Gauge
    private let maxFiles: Gauge
    private let startTime: Gauge
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    init(factory: any MetricsFactory) {
        cpu = FloatingPointCounter(label: "process_cpu_seconds_total", factory: factory)
        resident = Gauge(label: "process_resident_memory_bytes", factory: factory)
        virtual = Gauge(label: "process_virtual_memory_bytes", factory: factory)
        openFiles = Gauge(label: "process_open_fds", factory: factory)
        maxFiles = Gauge(label: "process_max_fds", factory: factory)
        startTime = Gauge(label: "process_start_time_seconds", factory: factory)
    }

    func collect() {
        if let stat = Self.readStat() {
            let cpuSeconds = Double(stat.userTicks + stat.systemTicks) / ticksPerSecond
            let delta = cpuSeen.withLock { seen in
                defer { seen = max(seen, cpuSeconds) }
                return cpuSeconds - seen
            }
            if delta > 0 { cpu.increment(by: delta) }
            resident.record(Double(stat.residentPages) * pageSize)
            virtual.record(Double(stat.virtualBytes))
            if let boot = Self.bootTime() { startTime.record(boot + Double(stat.startTicks) / ticksPerSecond) }
        }
        openFiles.record(Double(Self.countOpenFiles()))
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.record(Double(limit.rlim_cur)) }
    }

    struct Stat {
        var userTicks: UInt64
        var systemTicks: UInt64
        var startTicks: UInt64
        var virtualBytes: UInt64
        var residentPages: UInt64
    }

    /// `/proc/self/stat`, fields 14, 15, 22, 23 and 24 (proc(5)); the command name in parentheses may hold spaces, so
    /// fields are counted after its closing parenthesis.
    static func readStat() -> Stat? {
        guard let text = readFile("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ number: Int) -> UInt64? { number - 3 < fields.count ? UInt64(fields[number - 3]) : nil }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23),
              let resident = field(24) else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    /// Boot time in seconds since the epoch (`btime` in `/proc/stat`): a process's start ticks count from it.
    static func bootTime() -> Double? {
        guard let text = readFile("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: " "))
        }
        return nil
    }

    static func countOpenFiles() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in name[0] == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return count - 1  // the directory stream's own descriptor
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var result = self
        while result.first == character { result = result.dropFirst() }
        while result.last == character { result = result.dropLast() }
        return result
    }
}

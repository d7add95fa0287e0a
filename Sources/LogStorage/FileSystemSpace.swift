#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The size of the file system holding a path and the space an unprivileged writer may still use (statvfs's
/// `f_blocks` and `f_bavail` in fragment units, as Java's FileStore.getTotalSpace and getUsableSpace report).
public struct FileSystemSpace: Sendable, Equatable {
    public var totalBytes: Int64
    public var usableBytes: Int64

    /// nil when the path cannot be examined.
    public init?(path: String) {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let unit = Int64(stats.f_frsize)
        // Kafka clamps overflowing sizes to Long.MAX_VALUE (JDK-8162520).
        totalBytes = Int64(exactly: stats.f_blocks).map { $0.multipliedReportingOverflow(by: unit) }
            .map { $0.overflow ? Int64.max : $0.partialValue } ?? Int64.max
        usableBytes = Int64(exactly: stats.f_bavail).map { $0.multipliedReportingOverflow(by: unit) }
            .map { $0.overflow ? Int64.max : $0.partialValue } ?? Int64.max
    }
}

/// `path` made absolute against the working directory (Kafka reports log directories by absolute path).
public func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let cwd = getcwd(nil, 0) else { return path }
    defer { free(cwd) }
    let base = String(cString: cwd)
    let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    return base == "/" ? "/" + relative : base + "/" + relative
}

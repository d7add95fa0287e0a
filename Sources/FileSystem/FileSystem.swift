#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed POSIX call: which call, on which path, and errno. Each storage layer turns it into its own typed error.
public struct FileSystemError: Error, Equatable, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }
}

/// The directory and whole-file operations both storage engines need (the segment log and the coordinator's
/// transaction log and snapshots), written once.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and any missing parents (mkdir -p).
    public static func makeDirectory(_ path: String) throws(FileSystemError) {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if !isDirectory(prefix) && mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw FileSystemError(operation: "mkdir", path: prefix, errno: errno)
            }
        }
    }

    /// The names in a directory (without `.` and `..`), sorted.
    public static func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw FileSystemError(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Unlinks a file; one that is already gone is not an error.
    public static func remove(_ path: String) throws(FileSystemError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileSystemError(operation: "unlink", path: path, errno: errno) }
    }

    /// Removes a directory tree.
    public static func removeTree(_ path: String) throws(FileSystemError) {
        if isDirectory(path) {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw FileSystemError(operation: "rmdir", path: path, errno: errno) }
        } else {
            try remove(path)
        }
    }

    public static func rename(_ from: String, _ to: String) throws(FileSystemError) {
        #if canImport(Glibc)
        let result = Glibc.rename(from, to)
        #else
        let result = Darwin.rename(from, to)
        #endif
        guard result == 0 else { throw FileSystemError(operation: "rename", path: from, errno: errno) }
    }

    /// Makes a directory entry change (create, rename, unlink) durable.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    /// Atomically replaces `path` with `contents`: write a temporary file, fsync it, rename it over, fsync the
    /// directory. A crash leaves the old file or the new one, never a mix.
    public static func writeFileAtomically(_ path: String, contents: [UInt8]) throws(FileSystemError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError(operation: "open", path: temporary, errno: errno) }
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let failure = errno
                _ = close(fd)
                throw FileSystemError(operation: "write", path: temporary, errno: failure)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let failure = errno
            _ = close(fd)
            throw FileSystemError(operation: "fsync", path: temporary, errno: failure)
        }
        _ = close(fd)
        try rename(temporary, path)
        syncDirectory(directoryName(path))
    }

    /// The directory part of `path` ("." for a bare name).
    public static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

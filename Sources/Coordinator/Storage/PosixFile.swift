#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor with the few operations the transaction log and snapshots need; every error names the
/// call and the path. Not thread-safe: one owner at a time.
final class PosixFile {
    let path: String
    private(set) var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(CoordinatorStorageError) -> PosixFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return PosixFile(path: path, descriptor: fd)
    }

    func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Writes all of `bytes` at the current position, retrying short writes and EINTR.
    func write(_ bytes: UnsafeRawBufferPointer) throws(CoordinatorStorageError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws(CoordinatorStorageError) {
        var failure: CoordinatorStorageError?
        bytes.withUnsafeBytes { raw in
            do throws(CoordinatorStorageError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// fdatasync: the data (and the size) reach the disk.
    func sync() throws(CoordinatorStorageError) {
        guard fdatasync(descriptor) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int) throws(CoordinatorStorageError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    func readAll() throws(CoordinatorStorageError) -> [UInt8] {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }
}

/// Directory operations of the coordinator's storage.
enum StorageDirectory {
    static func make(_ path: String) throws(CoordinatorStorageError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var info = stat()
            if stat(prefix, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { continue }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: prefix, errno: errno) }
        }
    }

    static func list(_ path: String) throws(CoordinatorStorageError) -> [String] {
        guard let dir = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
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

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func remove(_ path: String) throws(CoordinatorStorageError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    /// Makes a directory entry change (create, rename, unlink) durable.
    static func sync(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = Glibc.close(fd)
    }

    /// Replaces `path` atomically: write a temporary file, fsync it, rename it over, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(CoordinatorStorageError) {
        let temporary = path + ".tmp"
        let file = try PosixFile.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.write(bytes)
        try file.sync()
        file.close()
        guard rename(temporary, path) == 0 else { throw .io(operation: "rename", path: temporary, errno: errno) }
        sync(directory(of: path))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Total size of the regular files in a directory (the `dirs` four-letter word).
    static func size(_ path: String) -> Int {
        guard let names = try? list(path) else { return 0 }
        return names.reduce(0) { total, name in
            var info = stat()
            return stat(path + "/" + name, &info) == 0 ? total + Int(info.st_size) : total
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FileSystem

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
    // Shared with the segment log's storage (FileSystem), errors mapped to the coordinator's.
    static func make(_ path: String) throws(CoordinatorStorageError) { try mapped { () throws(FileSystemError) in try FileSystem.makeDirectory(path) } }
    static func list(_ path: String) throws(CoordinatorStorageError) -> [String] {
        try mapped { () throws(FileSystemError) in try FileSystem.listDirectory(path) }
    }
    static func exists(_ path: String) -> Bool { FileSystem.exists(path) }
    static func remove(_ path: String) throws(CoordinatorStorageError) { try mapped { () throws(FileSystemError) in try FileSystem.remove(path) } }
    /// Makes a directory entry change (create, rename, unlink) durable.
    static func sync(_ path: String) { FileSystem.syncDirectory(path) }
    /// Replaces `path` atomically: write a temporary file, fsync it, rename it over, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(CoordinatorStorageError) {
        try mapped { () throws(FileSystemError) in try FileSystem.writeFileAtomically(path, contents: bytes) }
    }
    static func directory(of path: String) -> String { FileSystem.directoryName(path) }

    private static func mapped<T>(_ body: () throws(FileSystemError) -> T) throws(CoordinatorStorageError) -> T {
        do {
            return try body()
        } catch {
            throw .io(operation: error.operation, path: error.path, errno: error.errno)
        }
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

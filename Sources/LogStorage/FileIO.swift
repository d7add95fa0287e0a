#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FileSystem

/// Thin, throwing wrappers over the POSIX calls the storage layer uses. Each error names the call and the path.
enum FileIO {
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(StorageError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return fd
    }

    static func fileSize(_ fd: Int32, path: String) throws(StorageError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(StorageError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    static func sync(_ fd: Int32, path: String) throws(StorageError) {
        guard fdatasync(fd) == 0 else { throw .io(operation: "fdatasync", path: path, errno: errno) }
    }

    /// Writes all of `buffer` at `offset`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws(StorageError) {
        var written = 0
        while written < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwrite", path: path, errno: errno)
            }
            written += n
        }
    }

    static func writeAll(_ fd: Int32, bytes: [UInt8], at offset: Int, path: String) throws(StorageError) {
        var failure: StorageError?
        bytes.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            do throws(StorageError) { try writeAll(fd, raw, at: offset, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the concatenation of `vectors` at `offset` with as few pwritev calls as the kernel allows.
    static func writeAll(_ fd: Int32, vectors: inout [iovec], totalBytes: Int, at offset: Int, path: String) throws(StorageError) {
        var written = 0
        var first = 0
        while written < totalBytes {
            let count = min(vectors.count - first, 1024)  // Linux IOV_MAX
            let n = vectors.withUnsafeBufferPointer { pwritev(fd, $0.baseAddress! + first, Int32(count), off_t(offset + written)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwritev", path: path, errno: errno)
            }
            written += n
            // Skip the vectors written completely and trim a partially written one.
            var remaining = n
            while remaining > 0 && first < vectors.count {
                if remaining >= vectors[first].iov_len {
                    remaining -= vectors[first].iov_len
                    first += 1
                } else {
                    vectors[first].iov_base = vectors[first].iov_base! + remaining
                    vectors[first].iov_len -= remaining
                    remaining = 0
                }
            }
        }
    }

    static func readAll(_ fd: Int32, count: Int, at offset: Int, path: String) throws(StorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    // Directory and whole-file operations: shared with the coordinator's storage (FileSystem), errors mapped.
    static func exists(_ path: String) -> Bool { FileSystem.exists(path) }
    static func isDirectory(_ path: String) -> Bool { FileSystem.isDirectory(path) }
    static func makeDirectory(_ path: String) throws(StorageError) { try mapped { () throws(FileSystemError) in try FileSystem.makeDirectory(path) } }
    static func listDirectory(_ path: String) throws(StorageError) -> [String] {
        try mapped { () throws(FileSystemError) in try FileSystem.listDirectory(path) }
    }
    static func remove(_ path: String) throws(StorageError) { try mapped { () throws(FileSystemError) in try FileSystem.remove(path) } }
    /// Removes a directory tree (used for deleted topics).
    static func removeTree(_ path: String) throws(StorageError) { try mapped { () throws(FileSystemError) in try FileSystem.removeTree(path) } }
    static func rename(_ from: String, _ to: String) throws(StorageError) {
        try mapped { () throws(FileSystemError) in try FileSystem.rename(from, to) }
    }
    static func syncDirectory(_ path: String) { FileSystem.syncDirectory(path) }
    static func writeFileAtomically(_ path: String, contents: [UInt8]) throws(StorageError) {
        try mapped { () throws(FileSystemError) in try FileSystem.writeFileAtomically(path, contents: contents) }
    }
    static func directoryName(_ path: String) -> String { FileSystem.directoryName(path) }

    private static func mapped<T>(_ body: () throws(FileSystemError) -> T) throws(StorageError) -> T {
        do {
            return try body()
        } catch {
            throw .io(operation: error.operation, path: error.path, errno: error.errno)
        }
    }

    static func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        return try readAll(fd, count: size, at: 0, path: path)
    }

}

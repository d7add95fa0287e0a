import CSystemCalls
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system: each operation is the POSIX call it names, with EINTR and short transfers retried.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> any OpenFile {
        try PosixFile.open(path, mode)
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileSystemError(operation: "mkdir", path: path, errno: errno)
        }
    }

    public func removeDirectory(_ path: String) throws(FileSystemError) {
        guard rmdir(path) == 0 || errno == ENOENT else { throw FileSystemError(operation: "rmdir", path: path, errno: errno) }
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
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

    public func remove(_ path: String) throws(FileSystemError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileSystemError(operation: "unlink", path: path, errno: errno) }
    }

    public func rename(_ from: String, _ to: String) throws(FileSystemError) {
        #if canImport(Glibc)
        let result = Glibc.rename(from, to)
        #else
        let result = Darwin.rename(from, to)
        #endif
        guard result == 0 else { throw FileSystemError(operation: "rename", path: from, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError(operation: "open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw FileSystemError(operation: "fsync", path: path, errno: errno) }
    }
}

/// A file descriptor of ``PosixFileSystem``. Closed by ``close()`` or when released.
public final class PosixFile: OpenFile {
    public let path: String
    private let descriptor: Int32
    private let closed = Atomic<Bool>(false)

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    static func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> PosixFile {
        var flags = (mode.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC
        if mode.create { flags |= O_CREAT }
        if mode.truncate { flags |= O_TRUNC }
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw FileSystemError(operation: "open", path: path, errno: errno) }
        return PosixFile(path: path, descriptor: fd)
    }

    deinit {
        close()
    }

    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { _ = Glibc.close(descriptor) }
    }

    private func failure(_ operation: String) -> FileSystemError {
        FileSystemError(operation: operation, path: path, errno: errno)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        var written = 0
        while written < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("pwrite")
            }
            written += n
        }
    }

    public func write(vectors: inout [iovec], byteCount: Int, at offset: Int) throws(FileSystemError) {
        var written = 0
        var first = 0
        while written < byteCount {
            let count = min(vectors.count - first, 1024)  // Linux IOV_MAX
            let n = vectors.withUnsafeBufferPointer { pwritev(descriptor, $0.baseAddress! + first, Int32(count), off_t(offset + written)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("pwritev")
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

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("pread")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    public func size() throws(FileSystemError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("fstat") }
        return Int(info.st_size)
    }

    public func truncate(to size: Int) throws(FileSystemError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw failure("ftruncate") }
    }

    public func sync() throws(FileSystemError) {
        guard fdatasync(descriptor) == 0 else { throw failure("fdatasync") }
    }

    public func reserve(at offset: Int, length: Int) throws(FileSystemError) {
        while ls_reserve_keep_size(descriptor, Int64(offset), Int64(length)) != 0 {
            if errno != EINTR { throw failure("fallocate") }
        }
    }

    public func map(length: Int, writable: Bool) throws(FileSystemError) -> UnsafeMutableRawPointer {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let pointer = mmap(nil, length, protection, MAP_SHARED, descriptor, 0), pointer != MAP_FAILED else {
            throw failure("mmap")
        }
        return pointer
    }

    public func duplicate() throws(FileSystemError) -> any OpenFile {
        PosixFile(path: path, descriptor: try duplicateDescriptor())
    }

    public func duplicateDescriptor() throws(FileSystemError) -> Int32 {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw failure("dup") }
        return copy
    }

    public func tryLock() throws(FileSystemError) -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw failure("flock")
    }
}

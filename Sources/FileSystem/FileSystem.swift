#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How ``FileSystem/open(_:_:)`` opens a file. Every file is opened read-write unless `.read`.
public struct OpenMode: Sendable, Equatable {
    public var writable: Bool
    /// Create the file if it does not exist.
    public var create: Bool
    /// Cut an existing file to zero bytes.
    public var truncate: Bool

    /// Read only; the file must exist.
    public static let read = OpenMode(writable: false, create: false, truncate: false)
    /// Read-write; the file must exist.
    public static let write = OpenMode(writable: true, create: false, truncate: false)
    /// Read-write, created if missing.
    public static let create = OpenMode(writable: true, create: true, truncate: false)
    /// Read-write, created if missing, emptied if present.
    public static let replace = OpenMode(writable: true, create: true, truncate: true)
}

/// The file-system operations both storage engines use (the broker's segment log and the coordinator's transaction
/// log and snapshots), as one seam: ``PosixFileSystem`` in production, ``FaultInjectingFileSystem`` in tests, which
/// fails chosen calls, tears writes and simulates power cuts.
///
/// Only the primitives are requirements; the composite operations (mkdir -p, remove a tree, atomic replace) are
/// built on them in an extension, so a fault injected into a primitive reaches every composite that uses it.
/// Implementations are thread-safe; the files they open are used by one owner at a time except for ``OpenFile/sync()``,
/// which may run concurrently with reads of the same file.
public protocol FileSystem: Sendable {
    /// Opens `path`; the error names the call and the path.
    func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> any OpenFile
    func exists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    /// Creates one directory (its parent must exist); the new entry is not durable until its parent is synced.
    func createDirectory(_ path: String) throws(FileSystemError)
    /// Removes an empty directory; one that is already gone is not an error.
    func removeDirectory(_ path: String) throws(FileSystemError)
    /// The names in a directory (without `.` and `..`), sorted.
    func listDirectory(_ path: String) throws(FileSystemError) -> [String]
    /// Unlinks a file; one that is already gone is not an error.
    func remove(_ path: String) throws(FileSystemError)
    /// Renames atomically, replacing `to` if it exists.
    func rename(_ from: String, _ to: String) throws(FileSystemError)
    /// fsyncs a directory, making the entries created, renamed or removed in it durable. Errors are thrown: a
    /// directory whose sync failed may have lost those entries.
    func syncDirectory(_ path: String) throws(FileSystemError)
}

/// An open file of a ``FileSystem``. Positions are explicit (pread/pwrite), so one handle serves any number of
/// readers and writers that agree on who writes where.
public protocol OpenFile: AnyObject, Sendable {
    var path: String { get }
    /// Writes all of `bytes` at `offset` (short writes and EINTR retried).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError)
    /// Writes the concatenation of `vectors` (their lengths summing to `byteCount`) at `offset` with as few
    /// pwritev calls as the kernel allows. `vectors` is consumed: its entries are advanced past what was written.
    func write(vectors: inout [iovec], byteCount: Int, at offset: Int) throws(FileSystemError)
    /// Reads into `buffer` from `offset` until it is full or the file ends; returns the byte count read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileSystemError) -> Int
    func size() throws(FileSystemError) -> Int
    func truncate(to size: Int) throws(FileSystemError)
    /// Reserves disk blocks for `length` bytes from `offset` without changing the file's size (fallocate with
    /// FALLOC_FL_KEEP_SIZE), so later writes there cannot fail for want of space. Fails with ENOSPC when the disk
    /// cannot give them, and with EOPNOTSUPP on file systems that cannot reserve.
    func reserve(at offset: Int, length: Int) throws(FileSystemError)
    /// fdatasync: the data and the size reach the disk. After a failure the page cache cannot be trusted (what it
    /// holds may never reach the disk, and a retried sync may report success): callers stop writing, they do not retry.
    func sync() throws(FileSystemError)
    /// Maps `length` bytes from offset 0 shared (the caller unmaps with munmap). Stores through a writable mapping
    /// bypass this seam; ``sync()`` makes them durable.
    func map(length: Int, writable: Bool) throws(FileSystemError) -> UnsafeMutableRawPointer
    /// Another handle on the same open file that outlives this one's ``close()`` (flushing outside a lock).
    func duplicate() throws(FileSystemError) -> any OpenFile
    /// A new raw descriptor for the same file, owned by the caller (sendfile(2) through NIO's FileRegion).
    func duplicateDescriptor() throws(FileSystemError) -> Int32
    /// flock(LOCK_EX | LOCK_NB): false when another open file holds the lock.
    func tryLock() throws(FileSystemError) -> Bool
    /// Closes the descriptor; later calls fail with EBADF. Idempotent.
    func close()
}

extension OpenFile {
    public func write(_ bytes: [UInt8], at offset: Int) throws(FileSystemError) {
        var failure: FileSystemError?
        bytes.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            do throws(FileSystemError) { try write(raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    public func read(count: Int, at offset: Int) throws(FileSystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var failure: FileSystemError?
        var done = 0
        bytes.withUnsafeMutableBytes { raw in
            do throws(FileSystemError) { done = try read(into: raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
        return done == count ? bytes : Array(bytes[0..<done])
    }

    /// The whole file.
    public func readAll() throws(FileSystemError) -> [UInt8] {
        try read(count: try size(), at: 0)
    }
}

extension FileSystem {
    /// Creates `path` and any missing parents (mkdir -p), each made durable by syncing its parent directory.
    public func makeDirectory(_ path: String) throws(FileSystemError) {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + component
            if !isDirectory(prefix) {
                try createDirectory(prefix)
                try syncDirectory(parent)
            }
        }
    }

    /// Removes a file or a directory tree.
    public func removeTree(_ path: String) throws(FileSystemError) {
        if isDirectory(path) {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
            try removeDirectory(path)
        } else {
            try remove(path)
        }
    }

    /// The whole file at `path`.
    public func readFile(_ path: String) throws(FileSystemError) -> [UInt8] {
        let file = try open(path, .read)
        defer { file.close() }
        return try file.readAll()
    }

    /// Atomically replaces `path` with `contents`: write a temporary file, fsync it, rename it over, fsync the
    /// directory. A crash leaves the old file or the new one, never a mix; a failure removes the temporary file.
    public func writeFileAtomically(_ path: String, contents: [UInt8]) throws(FileSystemError) {
        let temporary = path + ".tmp"
        do {
            let file = try open(temporary, .replace)
            defer { file.close() }
            try file.write(contents, at: 0)
            try file.sync()
        } catch {
            try? remove(temporary)
            throw error
        }
        do {
            try rename(temporary, path)
        } catch {
            try? remove(temporary)
            throw error
        }
        try syncDirectory(directoryName(path))
    }

    /// Total size of the regular files directly in a directory.
    public func directorySize(_ path: String) -> Int {
        guard let names = try? listDirectory(path) else { return 0 }
        return names.reduce(0) { total, name in
            guard let file = try? open(path + "/" + name, .read) else { return total }
            defer { file.close() }
            return total + ((try? file.size()) ?? 0)
        }
    }
}

/// The directory part of `path` ("." for a bare name).
public func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

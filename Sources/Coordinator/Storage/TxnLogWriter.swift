import FileSystem
import NIOCore
import ZooKeeperProtocol

/// Appends framed records (``TxnLogFormat``) to the current log file and makes them durable.
///
/// A file is created lazily, named after the first zxid it will hold, when the first bytes arrive after opening or
/// after ``roll(nextZxid:)``. Not thread-safe: the server calls it from one flush at a time, off the event loops.
///
/// A failed write or sync is final: the writer refuses every later write (the server stops, as ZooKeeper does), since
/// after a failed fdatasync nothing says what reached the disk. Recovery on the next start truncates whatever torn
/// record the failure left.
///
/// A full disk must not come to that: the writer keeps `reserveChunk` bytes reserved ahead of the log's end
/// (fallocate, without changing the file's size), so appends write into blocks the disk already gave. When it cannot
/// renew the reservation below `lowWater`, it reports ``lowOnSpace`` and the server refuses write requests until a
/// renewal succeeds: what is already prepared, and sessions opening and closing, still fit in the reserve.
package final class TxnLogWriter {
    package let directory: String
    package let fileSystem: any FileSystem
    private var file: (any OpenFile)?
    /// Where the next record goes in `file`.
    private var end = 0
    private var nextFileZxid: Zxid
    /// The write or sync that failed, after which nothing more is written.
    private(set) var failure: CoordinatorStorageError?
    /// Bytes reserved ahead of `end` in `file` (their end offset), and whether the file system can reserve at all.
    private var reservedEnd = 0
    private var canReserve = true
    let reserveChunk: Int
    let lowWater: Int
    /// Why the reserve could not be renewed (the disk is full), nil while there is room.
    package private(set) var lowOnSpace: String?

    /// - Parameter nextZxid: the zxid the next record will carry (the first zxid of the next file).
    package init(directory: String, fileSystem: any FileSystem, nextZxid: Zxid, reserveChunk: Int = 4 << 20, lowWater: Int = 1 << 20) {
        precondition(reserveChunk > lowWater && lowWater > 0)
        self.directory = directory
        self.fileSystem = fileSystem
        nextFileZxid = nextZxid
        self.reserveChunk = reserveChunk
        self.lowWater = lowWater
    }

    /// Renews the reserve ahead of the log's end when it has run below `lowWater`; sets or clears ``lowOnSpace``.
    /// Only a full disk is tolerated: any other failure is final, as for a write.
    package func renewReserve() throws(CoordinatorStorageError) {
        if let failure { throw failure }
        guard canReserve, let file, reservedEnd - end < lowWater else {
            if file == nil || !canReserve { lowOnSpace = nil }
            return
        }
        do {
            try file.reserve(at: end, length: reserveChunk)
            reservedEnd = end + reserveChunk
            lowOnSpace = nil
        } catch where error.isOutOfSpace {
            lowOnSpace = error.description
        } catch where error.errno == EOPNOTSUPP || error.errno == ENOSYS {
            canReserve = false
            lowOnSpace = nil
        } catch {
            let failed = CoordinatorStorageError.io(operation: error.operation, path: error.path, errno: error.errno)
            failure = failed
            throw failed
        }
    }

    /// A snapshot or new file could not be written for want of space (nothing else is wrong).
    package func noteOutOfSpace(_ reason: String) {
        lowOnSpace = reason
    }

    /// Writes already framed records and fdatasyncs them: the group commit. Returns only once they are durable.
    package func writeAndSync(_ bytes: ByteBuffer) throws(CoordinatorStorageError) {
        if let failure { throw failure }
        guard bytes.readableBytes > 0 else { return }
        do {
            let file = try currentFile()
            let position = end
            try storageIO { () throws(FileSystemError) in
                var failure: FileSystemError?
                bytes.withUnsafeReadableBytes { raw in
                    do throws(FileSystemError) { try file.write(raw, at: position) } catch { failure = error }
                }
                if let failure { throw failure }
                try file.sync()
            }
            end += bytes.readableBytes
        } catch {
            failure = error
            throw error
        }
        try renewReserve()
    }

    /// Closes the current file; the next write starts `log.<nextZxid>` (after a snapshot).
    package func roll(nextZxid: Zxid) {
        file?.close()
        file = nil
        nextFileZxid = nextZxid
    }

    package func close() {
        file?.close()
        file = nil
    }

    /// The file being written, created (header written and synced, directory synced) on first use.
    private func currentFile() throws(CoordinatorStorageError) -> any OpenFile {
        if let file { return file }
        let path = directory + "/" + TxnLogFormat.fileName(firstZxid: nextFileZxid)
        let header = TxnLogFormat.header(firstZxid: nextFileZxid)
        let created = try storageIO { () throws(FileSystemError) -> any OpenFile in
            let created = try fileSystem.open(path, .replace)
            try created.write(header, at: 0)
            try created.sync()
            try fileSystem.syncDirectory(directory)
            return created
        }
        file = created
        end = header.count
        reservedEnd = end
        try renewReserve()
        return created
    }
}

/// The pipeline's log stage as the server uses it: frames each transaction into a pending buffer on the event loop;
/// the server hands the buffer to a ``TxnLogWriter`` off the loop (group commit).
public final class BufferedTxnLog: TxnLogSink {
    private var pending = ByteBuffer()
    public private(set) var pendingThrough: Zxid?
    /// Transactions appended since the last snapshot was requested.
    public private(set) var sinceSnapshot = 0

    public init() {}

    public func append(_ record: TxnRecord) {
        TxnLogFormat.append(record, to: &pending)
        pendingThrough = record.header.zxid
        sinceSnapshot += 1
    }

    public var hasPending: Bool { pending.readableBytes > 0 }

    /// Takes everything appended so far.
    public func takePending() -> ByteBuffer {
        defer {
            pending = ByteBuffer()
            pendingThrough = nil
        }
        return pending
    }

    public func snapshotTaken() {
        sinceSnapshot = 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ZooKeeperProtocol

/// Appends framed records (``TxnLogFormat``) to the current log file and makes them durable.
///
/// A file is created lazily, named after the first zxid it will hold, when the first bytes arrive after opening or
/// after ``roll(nextZxid:)``. Not thread-safe: the server calls it from one flush at a time, off the event loops.
final class TxnLogWriter {
    let directory: String
    private var file: PosixFile?
    private var nextFileZxid: Zxid

    /// - Parameter nextZxid: the zxid the next record will carry (the first zxid of the next file).
    init(directory: String, nextZxid: Zxid) {
        self.directory = directory
        nextFileZxid = nextZxid
    }

    /// Writes already framed records and fdatasyncs them: the group commit.
    func writeAndSync(_ bytes: ByteBuffer) throws(CoordinatorStorageError) {
        guard bytes.readableBytes > 0 else { return }
        let file = try currentFile()
        var failure: CoordinatorStorageError?
        bytes.withUnsafeReadableBytes { raw in
            do throws(CoordinatorStorageError) { try file.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        try file.sync()
    }

    /// Closes the current file; the next write starts `log.<nextZxid>` (after a snapshot).
    func roll(nextZxid: Zxid) {
        file?.close()
        file = nil
        nextFileZxid = nextZxid
    }

    func close() {
        file?.close()
        file = nil
    }

    private func currentFile() throws(CoordinatorStorageError) -> PosixFile {
        if let file { return file }
        let path = directory + "/" + TxnLogFormat.fileName(firstZxid: nextFileZxid)
        let created = try PosixFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
        try created.write(TxnLogFormat.header(firstZxid: nextFileZxid))
        try created.sync()
        StorageDirectory.sync(directory)
        file = created
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

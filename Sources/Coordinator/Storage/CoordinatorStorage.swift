import FileSystem
import Logging
import NIOCore
import ZooKeeperProtocol

/// The coordinator's files under `<dataDir>/coordinator/`: transaction logs, snapshots and the session secret.
/// ZooKeeper's `FileTxnSnapLog`.
///
/// Why a log plus snapshots rather than SQLite: every write must be durable before it is acknowledged, and a log
/// appended in zxid order with one fdatasync per batch (group commit) is the cheapest way to get that; the state is
/// a tree held in memory anyway, so a periodic snapshot bounds recovery time without a query engine.
///
/// Recovery (``open(dataDir:logger:)``): load the newest snapshot that reads back intact (older ones are the
/// fallback), replay the log records after it, truncating a torn tail of the newest log file; then continue. Damage
/// anywhere else is reported as ``CoordinatorStorageError``, never a crash. Not thread-safe: one owner.
public final class CoordinatorStorage {
    public let directory: String
    package let fileSystem: any FileSystem
    package let writer: TxnLogWriter
    /// Snapshots kept (ZooKeeper's `autopurge.snapRetainCount` default); older ones and the logs they cover go.
    package static let snapshotsRetained = 3

    /// What recovery found.
    public struct Recovery: Sendable {
        public var state: CoordinatorState
        public var secret: [UInt8]
        public var snapshotZxid: Zxid
        public var replayedTransactions: Int
        public var truncatedBytes: Int
    }

    private init(directory: String, fileSystem: any FileSystem, nextZxid: Zxid) {
        self.directory = directory
        self.fileSystem = fileSystem
        writer = TxnLogWriter(directory: directory, fileSystem: fileSystem, nextZxid: nextZxid)
    }

    /// Opens (creating if needed) the storage under `dataDir` and recovers the state.
    /// - Parameter fileSystem: where the files live (a fault-injecting one in tests).
    public static func open(
        dataDir: String, logger: Logger, fileSystem: any FileSystem = PosixFileSystem()
    ) throws(CoordinatorStorageError) -> (CoordinatorStorage, Recovery) {
        let directory = dataDir + "/coordinator"
        try storageIO { () throws(FileSystemError) in try fileSystem.makeDirectory(directory) }
        if fileSystem.exists(dataDir + "/version-2") {
            logger.warning("\(dataDir)/version-2 holds Apache ZooKeeper data, which ledgerstream does not read")
        }
        let secret = try loadSecret(directory, fileSystem: fileSystem)
        var recovery = try recover(directory, fileSystem: fileSystem, logger: logger)
        recovery.secret = secret
        let storage = CoordinatorStorage(directory: directory, fileSystem: fileSystem, nextZxid: recovery.state.lastZxid.next)
        return (storage, recovery)
    }

    /// The 16 random bytes session passwords are derived from; created once.
    private static func loadSecret(_ directory: String, fileSystem: any FileSystem) throws(CoordinatorStorageError) -> [UInt8] {
        let path = directory + "/session.secret"
        if fileSystem.exists(path) {
            let bytes = try storageIO { () throws(FileSystemError) in try fileSystem.readFile(path) }
            if bytes.count == 16 { return bytes }
        }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try storageIO { () throws(FileSystemError) in try fileSystem.writeFileAtomically(path, contents: secret) }
        return secret
    }

    private static func recover(_ directory: String, fileSystem: any FileSystem, logger: Logger) throws(CoordinatorStorageError) -> Recovery {
        let names = try storageIO { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
        for name in names where name.hasSuffix(".tmp") {
            try storageIO { () throws(FileSystemError) in try fileSystem.remove(directory + "/" + name) }
        }
        let snapshots = names.compactMap { name in SnapshotFormat.zxid(name) }.sorted(by: >)
        let logs = names.compactMap { TxnLogFormat.zxid(fromName: $0, prefix: "log.") }.sorted()

        var state: CoordinatorState?
        for zxid in snapshots {
            let path = directory + "/" + SnapshotFormat.fileName(lastZxid: zxid)
            switch SnapshotFormat.decode(try storageIO { () throws(FileSystemError) in try fileSystem.readFile(path) }) {
            case .success(let loaded) where loaded.lastZxid == zxid:
                state = loaded
            case .success(let loaded):
                logger.warning("ignoring snapshot whose name does not match its zxid \(loaded.lastZxid)", metadata: ["path": "\(path)"])
            case .failure(let damage):
                logger.warning("ignoring damaged snapshot", metadata: ["path": "\(path)", "reason": "\(damage)"])
            }
            if state != nil { break }
        }
        if state == nil, !snapshots.isEmpty, logs.first != Zxid(1) {
            throw .inconsistent("no snapshot could be read and the logs do not start at the first transaction")
        }
        var current = state ?? CoordinatorState()
        let snapshotZxid = current.lastZxid
        var replayed = 0
        var truncated = 0
        for (index, first) in logs.enumerated() {
            // Skip files that end before the snapshot: the next file starts at or before the snapshot's successor.
            if index + 1 < logs.count && logs[index + 1] <= current.lastZxid.next { continue }
            let path = directory + "/" + TxnLogFormat.fileName(firstZxid: first)
            let isNewest = index == logs.count - 1
            let file = try storageIO { () throws(FileSystemError) in try fileSystem.open(path, .write) }
            defer { file.close() }
            let bytes = try storageIO { () throws(FileSystemError) in try file.readAll() }
            let scan: TxnLogFormat.Scan
            do {
                scan = try TxnLogFormat.scan(bytes, path: path)
            } catch {
                // A newest file too short for its header was torn while being created: nothing in it was acknowledged.
                guard isNewest, bytes.count < TxnLogFormat.headerBytes else { throw error }
                logger.warning("removing a log file torn at creation", metadata: ["path": "\(path)"])
                file.close()
                try storageIO { () throws(FileSystemError) in
                    try fileSystem.remove(path)
                    try fileSystem.syncDirectory(directory)
                }
                continue
            }
            for record in scan.records where record.header.zxid > current.lastZxid {
                guard record.header.zxid == current.lastZxid.next else {
                    throw .inconsistent("\(path) continues at zxid \(record.header.zxid) after \(current.lastZxid)")
                }
                do {
                    _ = try current.apply(record.header, record.txn)
                } catch {
                    throw .corruptLog(path: path, offset: 0, reason: "transaction \(record.header.zxid) does not apply: \(error)")
                }
                replayed += 1
            }
            if let damage = scan.damage {
                guard isNewest else { throw .corruptLog(path: path, offset: scan.validBytes, reason: damage) }
                truncated = bytes.count - scan.validBytes
                logger.warning("truncating the torn tail of the transaction log", metadata: [
                    "path": "\(path)", "bytes": "\(truncated)", "reason": "\(damage)",
                ])
                try storageIO { () throws(FileSystemError) in
                    try file.truncate(to: scan.validBytes)
                    try file.sync()
                }
            }
        }
        if let newest = snapshots.first, newest > current.lastZxid {
            throw .inconsistent("snapshot \(newest) could not be read and the logs end at \(current.lastZxid)")
        }
        return Recovery(state: current, secret: [], snapshotZxid: snapshotZxid, replayedTransactions: replayed, truncatedBytes: truncated)
    }

    /// Writes framed records and fdatasyncs them. Called off the event loop, one call at a time.
    public func writeAndSync(_ bytes: ByteBuffer) throws(CoordinatorStorageError) {
        try writer.writeAndSync(bytes)
    }

    /// Why the disk is (nearly) full, nil while the log has room: the server then refuses write requests. See
    /// ``TxnLogWriter``.
    public var lowOnSpace: String? { writer.lowOnSpace }

    /// Tries again to reserve room for the log (the server's periodic check while writes are refused).
    public func renewReserve() throws(CoordinatorStorageError) {
        try writer.renewReserve()
    }

    /// Writes a snapshot of `state` (whose transactions are all in the log written so far), starts a new log file for
    /// the transactions after it, and purges snapshots and logs no longer needed.
    /// Refused once a log write failed: the state then holds transactions the log may not have.
    /// A snapshot that does not fit on the disk is skipped (its temporary file removed): the log keeps growing in
    /// the current file, which recovery replays, and ``lowOnSpace`` says why.
    public func snapshot(_ state: CoordinatorState) throws(CoordinatorStorageError) {
        if let failure = writer.failure { throw failure }
        let path = directory + "/" + SnapshotFormat.fileName(lastZxid: state.lastZxid)
        let bytes = SnapshotFormat.encode(state)
        do {
            try fileSystem.writeFileAtomically(path, contents: bytes)
        } catch where error.isOutOfSpace && !error.isSync {
            writer.noteOutOfSpace("snapshot skipped: \(error)")
            return
        } catch {
            throw .io(operation: error.operation, path: error.path, errno: error.errno)
        }
        writer.roll(nextZxid: state.lastZxid.next)
        try purge()
    }

    /// Keeps the newest ``snapshotsRetained`` snapshots and the logs holding transactions after the oldest of them.
    private func purge() throws(CoordinatorStorageError) {
        let names = try storageIO { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
        let snapshots = names.compactMap { SnapshotFormat.zxid($0) }.sorted(by: >)
        guard snapshots.count > Self.snapshotsRetained else { return }
        let oldestKept = snapshots[Self.snapshotsRetained - 1]
        let logs = names.compactMap { TxnLogFormat.zxid(fromName: $0, prefix: "log.") }.sorted()
        try storageIO { () throws(FileSystemError) in
            for zxid in snapshots.dropFirst(Self.snapshotsRetained) {
                try fileSystem.remove(directory + "/" + SnapshotFormat.fileName(lastZxid: zxid))
            }
            for (index, first) in logs.enumerated() where index + 1 < logs.count && logs[index + 1] <= oldestKept.next {
                try fileSystem.remove(directory + "/" + TxnLogFormat.fileName(firstZxid: first))
            }
            try fileSystem.syncDirectory(directory)
        }
    }

    public func close() {
        writer.close()
    }

    /// Whether a snapshot file exists (a fresh directory has none until the first one is written).
    public var hasSnapshot: Bool {
        ((try? fileSystem.listDirectory(directory)) ?? []).contains { SnapshotFormat.zxid($0) != nil }
    }

    /// Bytes used by snapshots and logs (the `dirs` four-letter word; both live in one directory).
    public var sizeBytes: Int { fileSystem.directorySize(directory) }
}

extension SnapshotFormat {
    package static func zxid(_ name: String) -> Zxid? { TxnLogFormat.zxid(fromName: name, prefix: "snapshot.") }
}

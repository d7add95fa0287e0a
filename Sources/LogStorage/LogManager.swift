import FileSystem
import Logging
import Synchronization
import Timekeeping

#if canImport(Glibc)
import Glibc
#endif

/// Owns a data directory: one `<topic>-<partition>/` directory per partition log, plus checkpoint files.
///
/// Startup: takes an exclusive lock on `<dir>/.lock` (two brokers on one directory would corrupt it), notes whether
/// the previous process shut down cleanly (`.clean-shutdown` marker, removed at once so a crash from now on is
/// detected), and reads the recovery points and log start offsets. Logs are opened when the broker asks for them;
/// after an unclean shutdown, segments above a log's recovery point are validated batch by batch.
///
/// Shutdown: closes every log (flush, producer snapshot, index trim), writes the checkpoints with recovery point =
/// log end offset, then writes the marker.
///
/// Faults: the directory has one ``LogDirectoryHealth``. Once a write fails there, the directory is offline: its logs
/// refuse appends, no log is opened in it, maintenance and checkpoints skip it, and shutdown leaves no clean-shutdown
/// marker, so the next start recovers every log.
public final class LogManager: Sendable {
    public let directory: String
    public let defaultConfig: LogConfig
    let clock: any TimeSource
    let logger: Logger
    let fileSystem: any FileSystem
    /// Whether the directory still takes writes.
    public let health: LogDirectoryHealth
    /// Given to every log opened: told how long each flush took.
    let onFlush: FlushObserver?
    let state: Mutex<State>

    struct State: ~Copyable {
        var logs: [OffsetCheckpoint.Key: PartitionLog] = [:]
        var recoveryPoints: [OffsetCheckpoint.Key: Int64]
        var logStartOffsets: [OffsetCheckpoint.Key: Int64]
        /// Where each compacted log's dirty section starts (`cleaner-offset-checkpoint`).
        var cleanerCheckpoints: [OffsetCheckpoint.Key: Int64]
        /// Logs whose cleaning failed in a way a retry cannot fix (a damaged batch, a batch larger than the offset
        /// map): skipped until the broker restarts or the topic is deleted, as Kafka's uncleanable partitions.
        var uncleanable: Set<OffsetCheckpoint.Key> = []
        var cleaner: LogCleaner?
        var lock: (any OpenFile)?
        var isShutDown = false
    }

    /// Whether the previous process left the directory after a clean shutdown.
    public let previousShutdownWasClean: Bool

    private var recoveryCheckpoint: OffsetCheckpoint {
        OffsetCheckpoint(path: directory + "/recovery-point-offset-checkpoint", fileSystem: fileSystem)
    }
    private var startCheckpoint: OffsetCheckpoint {
        OffsetCheckpoint(path: directory + "/log-start-offset-checkpoint", fileSystem: fileSystem)
    }
    private var cleanMarker: String { directory + "/.clean-shutdown" }

    /// - Parameter fileSystem: where the files live (a fault-injecting one in tests).
    /// - Parameter onFlush: told the duration of every log's flushes (the broker's flush-time metric).
    public init(directory: String, defaultConfig: LogConfig = LogConfig(), clock: any TimeSource = SystemTimeSource(),
                logger: Logger = Logger(label: "ledgerstream.storage"),
                fileSystem: any FileSystem = PosixFileSystem(), onFlush: FlushObserver? = nil) throws(StorageError) {
        self.directory = directory
        self.onFlush = onFlush
        self.defaultConfig = defaultConfig
        self.clock = clock
        self.logger = logger
        self.fileSystem = fileSystem
        health = LogDirectoryHealth(path: directory, logger: logger)
        if fileSystem.exists(directory) && !fileSystem.isDirectory(directory) {
            throw .unusableDirectory(path: directory, reason: "it exists and is not a directory")
        }
        let lock = try io { () throws(FileSystemError) -> any OpenFile in
            try fileSystem.makeDirectory(directory)
            return try fileSystem.open(directory + "/.lock", .create)
        }
        guard try Self.takeLock(lock) else {
            lock.close()
            throw .unusableDirectory(path: directory, reason: "another process is using it (is a broker already running on it?)")
        }
        let marker = directory + "/.clean-shutdown"
        let clean = fileSystem.exists(marker)
        previousShutdownWasClean = clean
        if clean {
            // Durably: a marker that came back after a power cut would make the next start trust unflushed data.
            try io { () throws(FileSystemError) in
                try fileSystem.remove(marker)
                try fileSystem.syncDirectory(directory)
            }
        }
        let recovery = OffsetCheckpoint(path: directory + "/recovery-point-offset-checkpoint", fileSystem: fileSystem).read()
        let starts = OffsetCheckpoint(path: directory + "/log-start-offset-checkpoint", fileSystem: fileSystem).read()
        let cleaned = OffsetCheckpoint(path: directory + "/cleaner-offset-checkpoint", fileSystem: fileSystem).read()
        state = Mutex(State(recoveryPoints: recovery, logStartOffsets: starts, cleanerCheckpoints: cleaned, lock: lock))
        // Finish topic deletions that a previous process started.
        for name in try io({ () throws(FileSystemError) in try fileSystem.listDirectory(directory) }) where name.hasSuffix("-delete") {
            try io { () throws(FileSystemError) in try fileSystem.removeTree(directory + "/" + name) }
        }
    }

    public static func partitionDirectoryName(topic: String, partition: Int32) -> String { "\(topic)-\(partition)" }

    /// (topic, partition) of every partition directory on disk.
    public func partitionsOnDisk() throws(StorageError) -> [(topic: String, partition: Int32)] {
        try io { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }.compactMap { name in
            guard fileSystem.isDirectory(directory + "/" + name), !name.hasSuffix("-delete"),
                  let dash = name.lastIndex(of: "-"), let partition = Int32(name[name.index(after: dash)...]),
                  dash != name.startIndex
            else { return nil }
            return (String(name[..<dash]), partition)
        }
    }

    /// The open log of a partition, if any.
    public func log(topic: String, partition: Int32) -> PartitionLog? {
        state.withLock { $0.logs[OffsetCheckpoint.Key(topic: topic, partition: partition)] }
    }

    public var allLogs: [PartitionLog] { state.withLock { Array($0.logs.values) } }

    /// Opens the partition's log, recovering it if the last shutdown was not clean, or creates it, and makes this
    /// broker its leader in a new leader epoch (see ``PartitionLog/becomeLeader()``).
    @discardableResult
    public func openLog(topic: String, partition: Int32, config: LogConfig) throws(StorageError) -> PartitionLog {
        let key = OffsetCheckpoint.Key(topic: topic, partition: partition)
        return try state.withLock { (state) throws(StorageError) -> PartitionLog in
            if state.isShutDown { throw .closed(directory) }
            if let log = state.logs[key] { return log }
            let path = directory + "/" + Self.partitionDirectoryName(topic: topic, partition: partition)
            let (log, report) = try PartitionLog.open(
                topic: topic, partition: partition, directory: path, config: config,
                recoveryPoint: state.recoveryPoints[key], cleanShutdown: previousShutdownWasClean,
                logStartOffset: state.logStartOffsets[key], clock: clock, logger: logger, fileSystem: fileSystem,
                health: health, onFlush: onFlush)
            if report.recoveredSegments > 0 || report.truncatedBytes > 0 {
                logger.notice("recovered log", metadata: [
                    "log": "\(log.name)", "segments": "\(report.segmentCount)",
                    "validatedSegments": "\(report.recoveredSegments)", "droppedBytes": "\(report.truncatedBytes)",
                    "logEndOffset": "\(report.logEndOffset)",
                ])
            }
            // This broker is the only replica: every open (a start, a new partition) is a new leadership. A disk that
            // cannot take the checkpoint (full, failing) must not keep the log from serving: the partition stays in
            // its last epoch, which is safe (clients just see no new epoch), and the disk's state is already known to
            // the directory's health, which refuses writes until it recovers.
            do {
                try log.becomeLeader()
            } catch {
                logger.warning("could not start a new leader epoch; the partition keeps its last one", metadata: [
                    "log": "\(log.name)", "epoch": "\(log.leaderEpoch)", "error": "\(error)",
                ])
            }
            state.logs[key] = log
            return log
        }
    }

    /// Closes and deletes every log of `topic`. The directories are first renamed with a `-delete` suffix so that a
    /// crash half way through leaves nothing that looks like a live log.
    public func deleteLogs(topic: String) throws(StorageError) {
        let removed = state.withLock { state -> [PartitionLog] in
            let keys = state.logs.keys.filter { $0.topic == topic }
            let logs = keys.compactMap { state.logs.removeValue(forKey: $0) }
            for key in keys {
                state.recoveryPoints[key] = nil
                state.logStartOffsets[key] = nil
                state.cleanerCheckpoints[key] = nil
                state.uncleanable.remove(key)
            }
            return logs
        }
        for log in removed {
            let doomed = log.directory + "." + String(UInt64.random(in: 0...UInt64.max), radix: 16) + "-delete"
            try io { () throws(FileSystemError) in try fileSystem.rename(log.directory, doomed) }
            try log.delete()
            try? fileSystem.removeTree(doomed)
        }
        // Directories of the topic that were never opened (e.g. left from an earlier run).
        for (name, partition) in try partitionsOnDisk() where name == topic {
            let path = directory + "/" + Self.partitionDirectoryName(topic: name, partition: partition)
            try io { () throws(FileSystemError) in try fileSystem.removeTree(path) }
        }
        try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
    }

    /// Writes the recovery point and log start offset checkpoints (not in an offline directory: the next start
    /// recovers from the last ones written).
    public func writeCheckpoints() throws(StorageError) {
        try health.writing { () throws(StorageError) in try writeCheckpointFiles() }
    }

    private func writeCheckpointFiles() throws(StorageError) {
        let logs = state.withLock { $0.logs }
        var recovery = state.withLock { $0.recoveryPoints }
        var starts = state.withLock { $0.logStartOffsets }
        for (key, log) in logs {
            recovery[key] = log.recoveryPoint
            starts[key] = log.logStartOffset
        }
        try recoveryCheckpoint.write(recovery)
        try startCheckpoint.write(starts)
        state.withLock {
            $0.recoveryPoints = recovery
            $0.logStartOffsets = starts
        }
    }

    /// One round of background work: retention (of `delete` logs), rolling quiet active segments of compacted logs
    /// (see ``PartitionLog/rollIfIdleForCompaction()``), policy flushes, producer expiry, checkpoints.
    /// Errors are logged per log and do not stop the others; an offline directory has no maintenance (its failure
    /// was logged once when it happened).
    public func runMaintenance(producerIdExpirationMs: Int64 = 86_400_000) {
        if health.isOffline { return }
        let now = clock.wallClockMs()
        for log in allLogs {
            do {
                try log.applyRetention()
                try log.rollIfIdleForCompaction()
                try log.flushIfDue()
                log.expireProducers(idleBefore: now - producerIdExpirationMs)
            } catch .logDirectoryOffline {
                return  // logged once by the directory's health; nothing more is written here
            } catch {
                logger.error("maintenance failed", metadata: ["log": "\(log.name)", "error": "\(error)"])
            }
        }
        do {
            try writeCheckpoints()
        } catch {
            logger.error("checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    /// The directory's exclusive lock, retried for up to ``lockPatienceMs``: a lock is shared with any child process
    /// forked between its fork and its exec (the descriptor is close-on-exec, but the lock belongs to the open file),
    /// so a process that spawns others and restarts its log manager can find its own released lock briefly held.
    /// Another broker on the directory holds it for good, and is refused after the wait.
    static func takeLock(_ lock: any OpenFile) throws(StorageError) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(lockPatienceMs)
        while true {
            if try io({ () throws(FileSystemError) in try lock.tryLock() }) { return true }
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
    }

    static let lockPatienceMs = 2_000

    /// Clean shutdown: close every log, write checkpoints, then the clean-shutdown marker; release the lock.
    public func shutdown() throws(StorageError) {
        stopCleaner()
        let logs = state.withLock { state -> [PartitionLog] in
            if state.isShutDown { return [] }
            return Array(state.logs.values)
        }
        var firstError: StorageError?
        for log in logs {
            do { try log.close() } catch {
                firstError = firstError ?? error
                logger.error("closing log failed", metadata: ["log": "\(log.name)", "error": "\(error)"])
            }
        }
        if !health.isOffline {
            do { try writeCheckpoints() } catch { firstError = firstError ?? error }
        }
        let alreadyDown = state.withLock { state -> Bool in
            defer { state.isShutDown = true }
            return state.isShutDown
        }
        if alreadyDown { return }
        // The marker only after everything above succeeded: otherwise the next start recovers the logs in full.
        if firstError == nil && !health.isOffline {
            do {
                try io { () throws(FileSystemError) in try fileSystem.writeFileAtomically(cleanMarker, contents: []) }
            } catch {
                firstError = error
            }
        }
        // Released even when shutting down failed: this process no longer writes here, and a restart in the same
        // process (or a test's) must be able to take the directory again.
        state.withLock {
            $0.lock?.close()
            $0.lock = nil
        }
        if let firstError { throw firstError }
    }
}

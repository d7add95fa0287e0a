import FileSystem
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import Timekeeping

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of appending a producer's batches.
public struct AppendResult: Sendable, Equatable {
    /// Offset assigned to the first record (for a retried idempotent batch: the offset it got the first time).
    public var baseOffset: Int64
    public var lastOffset: Int64
    /// Broker time stamped on the batches for LogAppendTime topics, else -1.
    public var logAppendTimeMs: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    public var recordCount: Int
    public var byteCount: Int
    /// True when the batch was a retry of one already in the log and nothing was written.
    public var wasDuplicate: Bool
}

/// What a read found: whole batches as zero-copy file regions, plus the partition's offsets at that moment.
public struct ReadResult: Sendable {
    /// Empty when the read starts at the log end.
    public var slices: [FileSlice]
    public var byteCount: Int
    /// Base offset of the first batch returned (may be below the requested offset: clients skip those records).
    public var firstBatchOffset: Int64?
    /// The offset after the last batch returned: with ``firstBatchOffset``, the offsets the returned batches span
    /// (their records, for a log that is not compacted; the broker's records-out metric).
    public var nextOffset: Int64?
    public var highWatermark: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// The first offset of the oldest open transaction, or the high watermark when none is open.
    public var lastStableOffset: Int64
    /// For read_committed reads: the aborted transactions overlapping the returned batches (the consumer drops
    /// their records). Nil for read_uncommitted reads.
    public var abortedTransactions: [AbortedTransaction]?
}

/// Where a transaction marker landed and which transaction it closed in this partition.
public struct MarkerAppendResult: Sendable, Equatable {
    public var offset: Int64
    /// Nil when the producer had no open transaction here (the marker changes nothing a consumer sees).
    public var completed: CompletedTransaction?
}

/// A producer as a partition knows it (DescribeProducers).
public struct ProducerDescription: Sendable, Equatable {
    public var producerId: Int64
    public var producerEpoch: Int16
    /// Last sequence number written, -1 if none is remembered.
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    public var coordinatorEpoch: Int32
    /// First offset of the producer's open transaction here, -1 if none.
    public var currentTransactionStartOffset: Int64
}

/// Receives the duration of each flush (the fdatasyncs of a log's unflushed segments).
public typealias FlushObserver = @Sendable (Duration) -> Void

/// A partition log's size and offsets at one instant (see ``PartitionLog/statistics``).
public struct LogStatistics: Sendable, Equatable {
    public var sizeInBytes: Int
    public var segmentCount: Int
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// Producers whose state this partition keeps (idempotence and transactions).
    public var producerCount: Int
}

/// Facts about one open of a log, for the startup log line.
public struct LogLoadReport: Sendable, Equatable {
    public var segmentCount: Int
    /// Segments whose batches were validated one by one (above the recovery point after an unclean shutdown).
    public var recoveredSegments: Int
    /// Bytes cut off the end because they did not form valid batches (a torn or corrupt tail).
    public var truncatedBytes: Int
    /// Whole segments removed because they followed a corrupt one.
    public var deletedSegments: Int
    public var logEndOffset: Int64
}

/// One partition's log: an ordered list of segments, the last of which takes appends.
///
/// Thread-safe: every operation runs under one lock, like Kafka's per-log lock. Operations are short (a pwritev of the
/// batches, an index lookup); the slow ones (fsync) run outside it.
///
/// Offsets: the log start offset is the first offset still readable; the log end offset (LEO) is the next offset to
/// assign. On a single broker every appended batch is committed, so the high watermark equals the LEO. The last
/// stable offset (LSO) is the first offset of the oldest open transaction (the HW when none is open): read_committed
/// readers see nothing at or above it.
///
/// Transactions: producers' transactional batches open a transaction per producer; the coordinator's
/// ``appendMarker(producerId:producerEpoch:marker:)`` closes it, and an ABORT is recorded in the segment's
/// transaction index so read_committed fetches can list the aborted ranges. Both are rebuilt from the log on
/// recovery.
///
/// Faults: every write goes through the ``LogDirectoryHealth`` of the log's directory. A failed write or sync takes
/// the directory offline (appends fail from then on, reads keep working); a full disk refuses the append, keeps
/// nothing of it, and the next append tries again. An append returns only after its bytes were written (and, when
/// `flush.messages` is due, synced): nothing is acknowledged that was not.
public final class PartitionLog: Sendable {
    public let topic: String
    public let partition: Int32
    public let directory: String
    /// The health of the log directory this log lives in (shared by its logs).
    public let health: LogDirectoryHealth
    let core: Mutex<LogCore>

    init(topic: String, partition: Int32, directory: String, health: LogDirectoryHealth, core: consuming sending LogCore) {
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.health = health
        self.core = Mutex(core)
    }

    public var name: String { "\(topic)-\(partition)" }

    /// Opens (recovering if needed) or creates the log in `directory`.
    ///
    /// - Parameters:
    ///   - recoveryPoint: offset below which data is known flushed; segments wholly below it are trusted.
    ///   - cleanShutdown: the previous process closed every log cleanly, so nothing needs validating.
    ///   - logStartOffset: the checkpointed log start offset, if any (DeleteRecords can move it inside a segment).
    ///   - fileSystem: where the files live (a fault-injecting one in tests).
    ///   - health: the log directory's health, shared with the other logs there; a log of its own when nil.
    ///   - onFlush: told how long each flush's syncs took (the broker's flush-time metric).
    public static func open(
        topic: String, partition: Int32, directory: String, config: LogConfig, recoveryPoint: Int64?,
        cleanShutdown: Bool, logStartOffset: Int64?, clock: any TimeSource, logger: Logger,
        fileSystem: any FileSystem = PosixFileSystem(), health: LogDirectoryHealth? = nil, onFlush: FlushObserver? = nil
    ) throws(StorageError) -> (log: PartitionLog, report: LogLoadReport) {
        let health = health ?? LogDirectoryHealth(path: directory, logger: logger)
        try health.ensureOnline()
        let (core, report) = try LogCore.load(
            name: "\(topic)-\(partition)", directory: directory, config: config, recoveryPoint: recoveryPoint,
            cleanShutdown: cleanShutdown, logStartOffset: logStartOffset, clock: clock, logger: logger, fileSystem: fileSystem)
        core.onFlush = onFlush
        return (PartitionLog(topic: topic, partition: partition, directory: directory, health: health, core: core), report)
    }

    /// Runs a writing step under the lock, through the directory's health (see the type's documentation).
    func writing<T: Sendable>(_ body: @Sendable (LogCore) throws(StorageError) -> T) throws(StorageError) -> T {
        try core.withLock { (core) throws(StorageError) -> T in
            try health.writing { () throws(StorageError) -> T in try body(core) }
        }
    }

    /// Validates and appends the record batches in `records` (one or more, back to back), assigning offsets.
    /// Nothing is written if any batch is invalid, too large, or refused by the idempotence checks.
    ///
    /// - Parameter leaderEpoch: the epoch stamped on the batches; the log's current one (``leaderEpoch``) when nil.
    /// - Parameter checkRecords: also walk the records of uncompressed batches (Kafka's INVALID_RECORD checks).
    /// - Parameter verify: runs under the log's lock once the batches are validated and before anything is written;
    ///   throwing refuses them. The broker checks transactional batches against the transaction coordinator here, so
    ///   that a transaction cannot end (its marker written) between the check and the append.
    public func append(
        _ records: ByteBuffer, leaderEpoch: Int32? = nil, checkRecords: Bool = true,
        verify: (@Sendable ([RecordBatchHeader]) throws(StorageError) -> Void)? = nil
    ) throws(StorageError) -> AppendResult {
        try writing { (core) throws(StorageError) -> AppendResult in
            try core.append(records, leaderEpoch: leaderEpoch, checkRecords: checkRecords, verify: verify)
        }
    }

    /// Writes a transaction marker (a control batch) for the producer: the transaction coordinator's COMMIT or
    /// ABORT. Refused if the producer's epoch here is newer than `producerEpoch`.
    public func appendMarker(producerId: Int64, producerEpoch: Int16, marker: ControlRecord) throws(StorageError) -> MarkerAppendResult {
        try writing { (core) throws(StorageError) -> MarkerAppendResult in
            try core.appendMarker(producerId: producerId, producerEpoch: producerEpoch, marker: marker)
        }
    }

    /// The aborted transactions overlapping [fetchOffset, upperBound), as a read_committed fetch would list them.
    func abortedTransactions(from fetchOffset: Int64, upperBound: Int64) -> [AbortedTransaction] {
        core.withLock { $0.abortedTransactions(from: fetchOffset, upperBound: upperBound) }
    }

    /// Whether the producer has a transaction open in this partition (its marker is still to be written).
    public func hasOpenTransaction(producerId: Int64) -> Bool {
        core.withLock { $0.producerState.openTransactions[producerId] != nil }
    }

    /// Aborts the producer's transaction left open here if, checked under the log's lock, it is still the one that
    /// began at `firstOffset`, the producer has not written since `idleBefore` (wall clock ms), and `isOrphan()`
    /// holds (the broker asks its transaction coordinator). Returns whether a marker was written.
    public func abortHangingTransaction(
        producerId: Int64, firstOffset: Int64, idleBefore cutoffMs: Int64, isOrphan: @Sendable () -> Bool
    ) throws(StorageError) -> Bool {
        try writing { (core) throws(StorageError) -> Bool in
            guard core.producerState.openTransactions[producerId] == firstOffset,
                  let entry = core.producerState.producers[producerId], entry.lastAppendMs < cutoffMs, isOrphan()
            else { return false }
            _ = try core.appendMarker(producerId: producerId, producerEpoch: entry.epoch, marker: ControlRecord(kind: .abort))
            return true
        }
    }

    /// The transactions open in this partition: producer, its epoch here, where the transaction started, and when
    /// the producer last wrote (wall clock).
    public var openTransactions: [(producerId: Int64, epoch: Int16, firstOffset: Int64, lastAppendMs: Int64)] {
        core.withLock { core in
            core.producerState.openTransactions.sorted { $0.value < $1.value }.compactMap { pid, first in
                core.producerState.producers[pid].map { (pid, $0.epoch, first, $0.lastAppendMs) }
            }
        }
    }

    /// The producers this partition remembers, oldest id first.
    public var producers: [ProducerDescription] {
        core.withLock { core in
            core.producerState.activeProducers.map { pid, entry in
                ProducerDescription(
                    producerId: pid, producerEpoch: entry.epoch, lastSequence: entry.lastSequence ?? -1,
                    lastTimestamp: entry.lastTimestamp, coordinatorEpoch: entry.coordinatorEpoch,
                    currentTransactionStartOffset: entry.currentTxnFirstOffset ?? -1)
            }
        }
    }

    /// Whole batches starting with the one containing `offset`, up to `maxBytes`.
    /// - Parameter minOneBatch: return the first batch even if it is larger than `maxBytes` (KIP-74: the first
    ///   partition of a fetch must always make progress); when false such a read returns nothing.
    /// - Parameter readCommitted: stop below the last stable offset and list the aborted transactions overlapping
    ///   what is returned (Kafka's read_committed isolation). The bytes are the same file regions either way.
    public func read(from offset: Int64, maxBytes: Int, minOneBatch: Bool = true, readCommitted: Bool = false) throws(StorageError) -> ReadResult {
        try core.withLock { (core) throws(StorageError) -> ReadResult in
            try core.read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch, readCommitted: readCommitted)
        }
    }

    /// Like ``read(from:maxBytes:)`` but copies the bytes out (for in-process readers and tests).
    public func readBytes(from offset: Int64, maxBytes: Int) throws(StorageError) -> ByteBuffer {
        try core.withLock { (core) throws(StorageError) -> ByteBuffer in try core.readBytes(from: offset, maxBytes: maxBytes) }
    }

    public var logStartOffset: Int64 { core.withLock { $0.logStartOffset } }
    public var logEndOffset: Int64 { core.withLock { $0.logEndOffset } }
    public var highWatermark: Int64 { logEndOffset }
    public var lastStableOffset: Int64 { core.withLock { $0.lastStableOffset } }
    public var recoveryPoint: Int64 { core.withLock { $0.recoveryPoint } }
    public var sizeInBytes: Int { core.withLock { $0.sizeInBytes } }
    public var segmentCount: Int { core.withLock { $0.segments.count } }

    /// Size, segments, offsets and producers in one short lock, from memory only: the broker's metrics read every
    /// partition at each scrape.
    public var statistics: LogStatistics {
        core.withLock { core in
            LogStatistics(sizeInBytes: core.sizeInBytes, segmentCount: core.segments.count, logStartOffset: core.logStartOffset,
                          logEndOffset: core.logEndOffset, producerCount: core.producerState.producers.count)
        }
    }
    public var config: LogConfig { core.withLock { $0.config } }

    /// Offsets as one consistent snapshot.
    public var offsets: (logStartOffset: Int64, logEndOffset: Int64) {
        core.withLock { ($0.logStartOffset, $0.logEndOffset) }
    }

    /// Offsets as one consistent snapshot, with the last stable offset.
    public var stableOffsets: (logStartOffset: Int64, lastStableOffset: Int64, logEndOffset: Int64) {
        core.withLock { ($0.logStartOffset, $0.lastStableOffset, $0.logEndOffset) }
    }

    /// Segment base offsets, oldest first.
    public var segmentBaseOffsets: [Int64] { core.withLock { $0.segments.map(\.baseOffset) } }

    /// The first offset whose record timestamp is >= `timestamp`, and that timestamp; nil if no record is that new.
    /// With `belowStableOffset` (read_committed) an answer at or above the last stable offset counts as none, as in
    /// Kafka.
    public func offset(forTimestamp timestamp: Int64, belowStableOffset: Bool = false) throws(StorageError) -> (offset: Int64, timestamp: Int64)? {
        try core.withLock { (core) throws(StorageError) -> (offset: Int64, timestamp: Int64)? in
            guard let found = try core.offset(forTimestamp: timestamp) else { return nil }
            return belowStableOffset && found.offset >= core.lastStableOffset ? nil : found
        }
    }

    /// The offset and timestamp of the record with the largest timestamp (ListOffsets -3); nil when empty.
    public var maxTimestampOffset: (offset: Int64, timestamp: Int64)? {
        core.withLock { core in
            core.segments.filter { $0.maxTimestamp >= 0 }.max(by: { $0.maxTimestamp < $1.maxTimestamp })
                .map { ($0.offsetOfMaxTimestamp, $0.maxTimestamp) }
        }
    }

    /// Replaces the topic config (AlterConfigs); applies from the next append or roll.
    public func updateConfig(_ config: LogConfig) {
        core.withLock { $0.config = config }
    }

    /// Moves the log start offset forward (DeleteRecords); whole segments below it are deleted.
    /// Returns the new log start offset.
    public func deleteRecords(before offset: Int64) throws(StorageError) -> Int64 {
        try writing { (core) throws(StorageError) -> Int64 in try core.deleteRecords(before: offset) }
    }

    /// Deletes segments past retention.ms / retention.bytes. Returns how many were deleted.
    @discardableResult
    public func applyRetention() throws(StorageError) -> Int {
        try writing { (core) throws(StorageError) -> Int in try core.applyRetention() }
    }

    /// Flushes if the topic's flush.messages / flush.ms policy asks for it (Kafka leaves both unset: the OS flushes).
    public func flushIfDue() throws(StorageError) {
        let due = core.withLock { $0.isFlushDue() }
        if due { try flush() }
    }

    /// fdatasync every segment holding data above the recovery point, then advance the recovery point to the LEO
    /// observed before syncing. The syncs run outside the lock so appends continue meanwhile.
    public func flush() throws(StorageError) {
        let (target, handles) = try writing { (core) throws(StorageError) -> (Int64, [SharedFileHandle]) in
            try core.prepareFlush()
        }
        let started = ContinuousClock.now
        try health.writing { () throws(StorageError) in
            for handle in handles { try handle.flush() }
        }
        if !handles.isEmpty, let onFlush = core.withLock({ $0.onFlush }) { onFlush(ContinuousClock.now - started) }
        core.withLock { $0.completeFlush(upTo: target) }
    }

    /// Forgets idle idempotent producers (producer.id.expiration.ms).
    public func expireProducers(idleBefore cutoffMs: Int64) {
        core.withLock { $0.producerState.expire(idleBefore: cutoffMs) }
    }

    /// Writes a producer state snapshot at the current LEO so the next open need not replay the whole log.
    public func snapshotProducerState() throws(StorageError) {
        try writing { (core) throws(StorageError) in try core.writeProducerSnapshot() }
    }

    /// Flushes, writes the producer snapshot, trims the active segment's indexes and closes every file. In an
    /// offline directory nothing is written: the files are just closed, and the next start recovers them.
    public func close() throws(StorageError) {
        if health.isOffline {
            core.withLock { $0.closeWithoutWriting() }
            return
        }
        try flush()
        try writing { (core) throws(StorageError) in try core.close() }
    }

    /// Closes and removes every file of this log and its directory.
    public func delete() throws(StorageError) {
        try core.withLock { (core) throws(StorageError) in try core.deleteAll() }
    }
}

/// The state behind a ``PartitionLog``'s lock. Not thread-safe on its own.
final class LogCore {
    let name: String
    let directory: String
    var config: LogConfig
    let clock: any TimeSource
    let logger: Logger
    let fileSystem: any FileSystem
    /// Oldest first; the last one is active (takes appends). Never empty while open. Replaced in place only by the
    /// cleaner's swap (``replaceSegments(_:with:)``).
    var segments: [Segment]
    private(set) var logStartOffset: Int64
    private(set) var recoveryPoint: Int64
    var producerState = ProducerStateManager()
    /// Which leader epoch wrote which offsets, mirrored in the `leader-epoch-checkpoint` file.
    var leaderEpochs = LeaderEpochCache()
    /// Told the duration of each flush (given when the log is opened).
    var onFlush: FlushObserver?
    private var unflushedMessages: Int64 = 0
    private var lastFlushMs: Int64
    private var isClosed = false
    /// Reused buffers for rewritten batch headers and iovecs, so an append allocates nothing.
    private var headerScratch: [UInt8] = []
    private var vectors: [iovec] = []

    private init(name: String, directory: String, config: LogConfig, clock: any TimeSource, logger: Logger,
                 fileSystem: any FileSystem, segments: [Segment], logStartOffset: Int64, recoveryPoint: Int64) {
        self.name = name
        self.fileSystem = fileSystem
        self.directory = directory
        self.config = config
        self.clock = clock
        self.logger = logger
        self.segments = segments
        self.logStartOffset = logStartOffset
        self.recoveryPoint = recoveryPoint
        self.lastFlushMs = clock.wallClockMs()
    }

    var active: Segment { segments[segments.count - 1] }
    var logEndOffset: Int64 { active.nextOffset }
    /// The first offset of the oldest open transaction (never below the log start), else the log end.
    var lastStableOffset: Int64 {
        guard let unstable = producerState.firstUnstableOffset else { return logEndOffset }
        return min(max(unstable, logStartOffset), logEndOffset)
    }
    var sizeInBytes: Int { segments.reduce(0) { $0 + $1.size } }

    func ensureOpen() throws(StorageError) {
        if isClosed { throw .closed(name) }
    }

    // MARK: Loading

    static func load(
        name: String, directory: String, config: LogConfig, recoveryPoint: Int64?, cleanShutdown: Bool,
        logStartOffset: Int64?, clock: any TimeSource, logger: Logger, fileSystem: any FileSystem
    ) throws(StorageError) -> (LogCore, LogLoadReport) {
        try io { () throws(FileSystemError) in try fileSystem.makeDirectory(directory) }
        let now = clock.wallClockMs()
        // A compacted segment whose swap had begun replaces the segments it was cleaned from (see LogCleaner).
        try completeInterruptedSwaps(name: name, directory: directory, fileSystem: fileSystem, logger: logger)
        let names = try io { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
        // Leftovers of interrupted operations are not part of the log (a `.swap` left here has no `.log.swap`: its
        // swap never began).
        for file in names where file.hasSuffix(".tmp") || file.hasSuffix(".deleted") || file.hasSuffix(".cleaned")
            || file.hasSuffix(".swap") {
            try io { () throws(FileSystemError) in try fileSystem.remove(directory + "/" + file) }
        }
        let bases = names.compactMap { Segment.baseOffset(ofFileName: $0) }.sorted()
        // Index files without a log file belong to nothing.
        for file in names {
            if let base = Segment.baseOffset(ofFileName: file, suffix: ".index") ?? Segment.baseOffset(ofFileName: file, suffix: ".timeindex")
                ?? Segment.baseOffset(ofFileName: file, suffix: ".txnindex"),
               !bases.contains(base) {
                try io { () throws(FileSystemError) in try fileSystem.remove(directory + "/" + file) }
            }
        }
        var report = LogLoadReport(segmentCount: 0, recoveredSegments: 0, truncatedBytes: 0, deletedSegments: 0, logEndOffset: 0)
        var segments: [Segment] = []
        var stopAt: Int?
        /// Segments whose contents recovery validated or cut: made durable before the log is used.
        var changed: [Segment] = []
        /// The first segment whose transaction index must be rebuilt (it was validated batch by batch, or its index
        /// was damaged): the producer-state replay starts at or below it.
        var rebuildTransactionsFrom: Int64?
        for (index, base) in bases.enumerated() {
            let isLast = index == bases.count - 1
            let nextBase = isLast ? Int64.max : bases[index + 1]
            let trusted = cleanShutdown || (recoveryPoint.map { nextBase <= $0 } ?? false)
            let previousEnd = segments.last?.nextOffset ?? Int64.min
            if base < previousEnd {
                // Overlapping segments can only come from damage; keep what came before.
                stopAt = index
                break
            }
            if let previous = segments.last, base > previousEnd {
                // Each segment starts where the one before ended. A gap means the one before lost its unsynced tail
                // whole in a power cut (no torn bytes to notice) while this one's file survived: what follows the
                // gap cannot be served without a hole in the offsets, so it goes like the rest of a torn tail.
                logger.warning("segment ends before the next one starts; dropping the segments after it", metadata: [
                    "log": "\(name)", "segment": "\(Segment.fileName(previous.baseOffset, ".log"))",
                    "endOffset": "\(previousEnd)", "nextSegment": "\(base)",
                ])
                stopAt = index
                break
            }
            let (segment, rebuilt, dropped) = try Segment.open(
                fileSystem: fileSystem, directory: directory, baseOffset: base, config: config, active: isLast, trusted: trusted, nowMs: now)
            if rebuilt { logger.warning("rebuilt damaged index", metadata: ["log": "\(name)", "segment": "\(base)"]) }
            if !trusted { report.recoveredSegments += 1 }
            if !trusted || rebuilt || dropped > 0 { changed.append(segment) }
            if (!trusted || rebuilt || segment.txnIndex.wasDamaged) && rebuildTransactionsFrom == nil {
                rebuildTransactionsFrom = base
            }
            segments.append(segment)
            if dropped > 0 {
                report.truncatedBytes += dropped
                logger.warning("truncated invalid tail", metadata: [
                    "log": "\(name)", "segment": "\(Segment.fileName(base, ".log"))", "droppedBytes": "\(dropped)",
                ])
                stopAt = index + 1
                break
            }
        }
        if let stopAt, stopAt < bases.count {
            for base in bases[stopAt...] where !segments.contains(where: { $0.baseOffset == base }) {
                let path = directory + "/" + Segment.fileName(base, "")
                try io { () throws(FileSystemError) in
                    try fileSystem.remove(path + ".log")
                    try fileSystem.remove(path + ".index")
                    try fileSystem.remove(path + ".timeindex")
                    try fileSystem.remove(path + ".txnindex")
                }
                report.deletedSegments += 1
            }
            if report.deletedSegments > 0 {
                logger.warning("deleted segments after a corrupt one", metadata: ["log": "\(name)", "count": "\(report.deletedSegments)"])
            }
        }
        if segments.isEmpty {
            segments.append(try Segment.create(
                fileSystem: fileSystem, directory: directory, baseOffset: max(logStartOffset ?? 0, 0), config: config, nowMs: now))
            // The new files must survive a power cut like the data synced into them later.
            try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
        } else {
            for segment in segments.dropLast() { try segment.closeForAppends() }
            try segments[segments.count - 1].reopenForAppends(config: config)
        }
        let end = segments[segments.count - 1].nextOffset
        var recovered = cleanShutdown ? end : min(recoveryPoint ?? segments[0].baseOffset, end)
        if !changed.isEmpty || report.deletedSegments > 0 {
            // What recovery accepted (and cut or deleted) is made durable before anything new is acknowledged on top
            // of it: data that survived a crash only in the page cache, a cut torn tail, or a segment deleted after a
            // gap must not come back differently after a later power cut.
            for segment in changed where !segment.isEmpty || segment.baseOffset < end { try segment.flush() }
            try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
            recovered = end
        }
        let start = min(max(logStartOffset ?? segments[0].baseOffset, segments[0].baseOffset), end)
        let core = LogCore(name: name, directory: directory, config: config, clock: clock, logger: logger,
                           fileSystem: fileSystem, segments: segments, logStartOffset: start, recoveryPoint: recovered)
        try core.loadProducerState(rebuildingTransactionsFrom: rebuildTransactionsFrom)
        try core.loadLeaderEpochs()
        report.segmentCount = segments.count
        report.logEndOffset = end
        return (core, report)
    }

    private func snapshotPath(_ offset: Int64) -> String { directory + "/" + Segment.fileName(offset, ".snapshot") }

    /// Loads the newest usable snapshot at or below the LEO (and at or below `rebuildFrom`, whose segments' transaction
    /// indexes were lost) and replays batch headers from there: data batches rebuild the idempotence and open-
    /// transaction state, markers close transactions, and every ABORT found is put back into its segment's
    /// transaction index if missing, with the last stable offset it had then.
    func loadProducerState(rebuildingTransactionsFrom rebuildFrom: Int64?) throws(StorageError) {
        let snapshots = try io { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
            .compactMap { Segment.baseOffset(ofFileName: $0, suffix: ".snapshot") }.sorted(by: >)
        // Replay covers every batch still on disk, below the log start too (DeleteRecords moves it inside a
        // segment): a marker there still closes a transaction a snapshot recorded as open.
        let firstOnDisk = segments[0].baseOffset
        var replayFrom = firstOnDisk
        let usableUpTo = min(logEndOffset, rebuildFrom ?? .max)
        for offset in snapshots where offset <= usableUpTo {
            if let bytes = try? fileSystem.readFile(snapshotPath(offset)), let state = ProducerStateManager.load(snapshot: bytes) {
                producerState = state
                replayFrom = max(offset, firstOnDisk)
                break
            }
        }
        for offset in snapshots where offset > logEndOffset {
            try io { () throws(FileSystemError) in try fileSystem.remove(snapshotPath(offset)) }
        }
        let now = clock.wallClockMs()
        for segment in segments where segment.nextOffset > replayFrom {
            var position = 0
            if let located = try segment.locate(replayFrom) { position = located.position }
            while let header = try segment.header(at: position) {
                if header.lastOffset >= replayFrom {
                    if header.isControl {
                        try replayMarker(header, at: position, in: segment, appendTimeMs: now)
                    } else {
                        producerState.record(header, appendTimeMs: now)
                    }
                }
                position += header.totalSize
            }
        }
    }

    private func replayMarker(_ header: RecordBatchHeader, at position: Int, in segment: Segment, appendTimeMs: Int64) throws(StorageError) {
        let bytes = try segment.log.bytes(from: position, count: header.totalSize)
        guard let marker = ControlRecord(controlBatch: bytes) else {
            logger.warning("unreadable control batch", metadata: ["log": "\(name)", "offset": "\(header.baseOffset)"])
            return
        }
        let completed = producerState.recordMarker(
            producerId: header.producerId, producerEpoch: header.producerEpoch, marker: marker, offset: header.baseOffset,
            timestamp: header.maxTimestamp, appendTimeMs: appendTimeMs)
        if let completed, completed.isAborted, (segment.txnIndex.lastOffset ?? Int64.min) < completed.lastOffset {
            let failure = segment.txnIndex.append(AbortedTransaction(
                producerId: completed.producerId, firstOffset: completed.firstOffset, lastOffset: completed.lastOffset,
                lastStableOffset: producerState.firstUnstableOffset ?? (completed.lastOffset + 1)))
            if let failure { logger.error("writing the aborted-transaction index failed; kept in memory", metadata: ["error": "\(failure)"]) }
        }
    }

    func writeProducerSnapshot() throws(StorageError) {
        try ensureOpen()
        let offset = logEndOffset
        let bytes = producerState.snapshotBytes()
        try io { () throws(FileSystemError) in try fileSystem.writeFileAtomically(snapshotPath(offset), contents: bytes) }
        // Recovery after a crash replays from a snapshot at or below the first segment above the recovery point, so
        // every snapshot from that segment on is kept, and the newest one below it; older ones go.
        let keepFrom = segments[segmentIndex(for: min(recoveryPoint, logEndOffset))].baseOffset
        let below = try io { () throws(FileSystemError) in try fileSystem.listDirectory(directory) }
            .compactMap { Segment.baseOffset(ofFileName: $0, suffix: ".snapshot") }.filter { $0 < keepFrom && $0 < offset }
            .sorted(by: >)
        for stale in below.dropFirst() { try io { () throws(FileSystemError) in try fileSystem.remove(snapshotPath(stale)) } }
    }

    // MARK: Appending

    func append(
        _ records: ByteBuffer, leaderEpoch: Int32?, checkRecords: Bool, verify: (@Sendable ([RecordBatchHeader]) throws(StorageError) -> Void)?
    ) throws(StorageError) -> AppendResult {
        try ensureOpen()
        let headers: [RecordBatchHeader]
        do {
            headers = try RecordBatchValidator.validateProduced(records, checkRecords: checkRecords)
            if config.cleanupPolicy.compact { try Self.requireKeys(records, headers: headers, log: name) }
        } catch {
            throw .invalidBatch(error)
        }
        for header in headers where header.totalSize > config.maxMessageBytes {
            throw .batchTooLarge(size: header.totalSize, limit: config.maxMessageBytes)
        }
        // Idempotence: check every batch against the state as it will be after the earlier ones. A producer sends one
        // batch per partition per request, so the copy of the state this needs (the whole producer table, written
        // to) is made only when a request brings several.
        var trial: ProducerStateManager?
        for header in headers {
            let decision: ProducerStateManager.Decision
            do { decision = try (trial ?? producerState).check(header) } catch { throw .producer(error) }
            if case .duplicate(let original) = decision {
                guard headers.count == 1 else {
                    throw .producer(.outOfOrderSequence(producerId: header.producerId, expected: original.lastSequence,
                                                        received: header.baseSequence))
                }
                return AppendResult(
                    baseOffset: original.firstOffset, lastOffset: original.lastOffset, logAppendTimeMs: -1,
                    logStartOffset: logStartOffset, logEndOffset: logEndOffset, recordCount: Int(header.recordCount),
                    byteCount: 0, wasDuplicate: true)
            }
            if headers.count > 1 {
                if trial == nil { trial = producerState }
                trial!.record(header, appendTimeMs: 0)
            }
        }
        try verify?(headers)

        let now = clock.wallClockMs()
        let appendTime = config.timestampType == .logAppendTime ? now : -1
        let leaderEpoch = leaderEpoch ?? currentLeaderEpoch
        try assignLeaderEpoch(leaderEpoch, startOffset: logEndOffset)
        var next = logEndOffset
        var assigned: [RecordBatchHeader] = []
        assigned.reserveCapacity(headers.count)
        for var header in headers {
            header.baseOffset = next
            header.partitionLeaderEpoch = leaderEpoch
            if appendTime >= 0 {
                header.attributes |= 0x8
                header.maxTimestamp = appendTime
            }
            next = header.nextOffset
            assigned.append(header)
        }
        let totalBytes = records.readableBytes
        let maxTimestamp = assigned.reduce(Int64(-1)) { max($0, $1.maxTimestamp) }
        if active.needsRoll(forAppending: totalBytes, lastOffset: next - 1, maxTimestamp: maxTimestamp, config: config, nowMs: now) {
            try roll(at: logEndOffset, nowMs: now)
        }
        try writeBatches(records, assigned: assigned, recomputeCRC: appendTime >= 0)
        for header in assigned { producerState.record(header, appendTimeMs: now) }
        unflushedMessages += assigned.reduce(0) { $0 + Int64($1.recordCount) }
        try flushIfMessagesDue()
        return AppendResult(
            baseOffset: assigned[0].baseOffset, lastOffset: next - 1, logAppendTimeMs: appendTime,
            logStartOffset: logStartOffset, logEndOffset: logEndOffset,
            recordCount: assigned.reduce(0) { $0 + Int($1.recordCount) }, byteCount: totalBytes, wasDuplicate: false)
    }

    /// One pwritev per append: for each batch its rewritten 61-byte header (from the scratch buffer) and its records
    /// straight from the request buffer.
    private func writeBatches(_ records: ByteBuffer, assigned: [RecordBatchHeader], recomputeCRC: Bool) throws(StorageError) {
        let headerBytes = assigned.count * RecordBatchHeader.size
        if headerScratch.count < headerBytes { headerScratch = [UInt8](repeating: 0, count: headerBytes) }
        var failure: StorageError?
        var headerArea: [UInt8] = []
        swap(&headerArea, &headerScratch)
        records.withUnsafeReadableBytes { body in
            headerArea.withUnsafeMutableBytes { headerArea in
                vectors.removeAll(keepingCapacity: true)
                var position = 0
                for (index, original) in assigned.enumerated() {
                    var header = original
                    let headerSlot = UnsafeMutableRawBufferPointer(
                        rebasing: headerArea[(index * RecordBatchHeader.size)..<((index + 1) * RecordBatchHeader.size)])
                    let recordsStart = position + RecordBatchHeader.size
                    let recordsCount = header.totalSize - RecordBatchHeader.size
                    if recomputeCRC {
                        // LogAppendTime changed attributes and maxTimestamp, which the CRC covers.
                        header.write(to: headerSlot)
                        let headerCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: headerSlot[RecordBatchHeader.crcStart...]))
                        header.crc = CRC32C.checksum(
                            UnsafeRawBufferPointer(rebasing: body[recordsStart..<(recordsStart + recordsCount)]),
                            continuing: headerCRC)
                    }
                    header.write(to: headerSlot)
                    vectors.append(iovec(iov_base: headerSlot.baseAddress, iov_len: RecordBatchHeader.size))
                    if recordsCount > 0 {
                        vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress! + recordsStart),
                                             iov_len: recordsCount))
                    }
                    position += header.totalSize
                }
                do throws(StorageError) { try active.append(&vectors, byteCount: position, batches: assigned) } catch { failure = error }
            }
        }
        headerScratch = headerArea
        if let failure { throw failure }
    }

    /// Appends a transaction marker at the log end: a control batch for the producer. An ABORT that closes a
    /// transaction with data here is added to the active segment's transaction index.
    func appendMarker(producerId: Int64, producerEpoch: Int16, marker: ControlRecord) throws(StorageError) -> MarkerAppendResult {
        try ensureOpen()
        do { try producerState.checkMarker(producerId: producerId, producerEpoch: producerEpoch) } catch { throw .producer(error) }
        let now = clock.wallClockMs()
        var batch = marker.batch(producerId: producerId, producerEpoch: producerEpoch, timestamp: now)
        guard var header = RecordBatchHeader(batch) else { preconditionFailure("a built control batch has a header") }
        let offset = logEndOffset
        // A marker never rolls by time (maxTimestamp -1): its timestamp is the broker's clock, which would roll a
        // segment per transaction when producers stamp records with older event times.
        if active.needsRoll(forAppending: batch.readableBytes, lastOffset: offset, maxTimestamp: -1, config: config, nowMs: now) {
            try roll(at: offset, nowMs: now)
        }
        header.baseOffset = offset
        header.partitionLeaderEpoch = currentLeaderEpoch
        try assignLeaderEpoch(header.partitionLeaderEpoch, startOffset: offset)
        batch.setInteger(offset, at: batch.readerIndex + RecordBatchHeader.baseOffsetPosition, endianness: .big)
        // Outside the CRC, like the base offset.
        batch.setInteger(header.partitionLeaderEpoch, at: batch.readerIndex + RecordBatchHeader.partitionLeaderEpochPosition,
                         endianness: .big)
        try batch.withUnsafeMutableReadableBytes { (bytes) throws(StorageError) in
            vectors.removeAll(keepingCapacity: true)
            vectors.append(iovec(iov_base: bytes.baseAddress!, iov_len: bytes.count))
            try active.append(&vectors, byteCount: bytes.count, batches: [header])
        }
        let completed = producerState.recordMarker(
            producerId: producerId, producerEpoch: producerEpoch, marker: marker, offset: offset, timestamp: now,
            appendTimeMs: now)
        if let completed, completed.isAborted, let failure = active.txnIndex.append(AbortedTransaction(
            producerId: producerId, firstOffset: completed.firstOffset, lastOffset: offset, lastStableOffset: lastStableOffset)) {
            // The entry is in memory and read_committed answers list it; the file is rewritten at the next flush.
            logger.error("writing the aborted-transaction index failed; kept in memory", metadata: [
                "log": "\(name)", "error": "\(failure)",
            ])
        }
        unflushedMessages += 1
        try flushIfMessagesDue()
        return MarkerAppendResult(offset: offset, completed: completed)
    }

    /// flush.messages: once that many messages (markers included, as in Kafka) are unflushed, syncs every segment
    /// holding data above the recovery point before moving the recovery point to the log end. Not only the active
    /// segment: an append that rolls leaves the previous segment's unflushed tail (a marker, or appends under a
    /// flush.messages above 1) behind, and a recovery point moved past it unsynced would let a power cut take it
    /// (and, recovery seeing the gap, every segment after it) although the log said it was durable.
    private func flushIfMessagesDue() throws(StorageError) {
        guard unflushedMessages >= config.flushMessages else { return }
        let started = ContinuousClock.now
        for segment in segments where segment.nextOffset > recoveryPoint && !segment.isEmpty { try segment.flush() }
        onFlush?(ContinuousClock.now - started)
        completeFlush(upTo: logEndOffset)
    }

    /// Closes the active segment for appends and starts a new one at `offset`.
    func roll(at offset: Int64, nowMs: Int64) throws(StorageError) {
        try active.closeForAppends()
        let segment = try Segment.create(fileSystem: fileSystem, directory: directory, baseOffset: offset, config: config, nowMs: nowMs)
        // The new files' directory entries are durable before any record is acknowledged in them: otherwise a power
        // cut could take a synced segment away whole.
        try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
        segments.append(segment)
        // As Kafka: a producer-state snapshot at every segment boundary bounds the replay after a crash to the
        // segments above the recovery point, and lets their transaction indexes be rebuilt from there.
        try writeProducerSnapshot()
        logger.debug("rolled segment", metadata: ["log": "\(name)", "baseOffset": "\(offset)"])
    }

    // MARK: Reading

    /// Index of the segment that holds `offset` (the last one whose base offset is <= it).
    func segmentIndex(for offset: Int64) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if segments[mid].baseOffset <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    private func locateRead(
        from offset: Int64, maxBytes: Int, below limit: Int64 = .max
    ) throws(StorageError) -> (segment: Segment, position: Int, length: Int, first: RecordBatchHeader, nextOffset: Int64)? {
        try ensureOpen()
        guard offset >= logStartOffset && offset <= logEndOffset else {
            throw .offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        guard offset < min(logEndOffset, limit) else { return nil }
        var index = segmentIndex(for: offset)
        var target = offset
        while index < segments.count {
            if let found = try segments[index].read(from: target, maxBytes: maxBytes, below: limit) {
                return (segments[index], found.position, found.length, found.first, found.nextOffset)
            }
            // The batch holding `target` ends at or above the limit: nothing readable below it.
            if try segments[index].locate(target) != nil { return nil }
            index += 1
            if index < segments.count { target = max(target, segments[index].baseOffset) }
        }
        return nil
    }

    func read(from offset: Int64, maxBytes: Int, minOneBatch: Bool, readCommitted: Bool) throws(StorageError) -> ReadResult {
        let stable = lastStableOffset
        var result = ReadResult(slices: [], byteCount: 0, firstBatchOffset: nil, nextOffset: nil, highWatermark: logEndOffset,
                                logStartOffset: logStartOffset, logEndOffset: logEndOffset, lastStableOffset: stable,
                                abortedTransactions: readCommitted ? [] : nil)
        guard let found = try locateRead(from: offset, maxBytes: maxBytes, below: readCommitted ? stable : .max) else {
            return result
        }
        if !minOneBatch && found.length > maxBytes { return result }
        result.slices = [try found.segment.log.slice(position: found.position, length: found.length)]
        result.byteCount = found.length
        result.firstBatchOffset = found.first.baseOffset
        result.nextOffset = found.nextOffset
        if readCommitted {
            result.abortedTransactions = abortedTransactions(from: offset, upperBound: found.nextOffset)
        }
        return result
    }

    /// Aborted transactions overlapping [fetchOffset, upperBound), from the segment holding `fetchOffset` onward,
    /// stopping as soon as an index proves no later entry can overlap.
    func abortedTransactions(from fetchOffset: Int64, upperBound: Int64) -> [AbortedTransaction] {
        var result: [AbortedTransaction] = []
        for segment in segments[segmentIndex(for: fetchOffset)...] {
            if segment.txnIndex.collect(from: fetchOffset, upperBound: upperBound, into: &result) { break }
        }
        return result
    }

    func readBytes(from offset: Int64, maxBytes: Int) throws(StorageError) -> ByteBuffer {
        guard let found = try locateRead(from: offset, maxBytes: maxBytes) else { return ByteBuffer() }
        let bytes = try found.segment.log.bytes(from: found.position, count: found.length)
        var buffer = ByteBufferAllocator().buffer(capacity: found.length)
        buffer.writeBytes(bytes)
        return buffer
    }

    func offset(forTimestamp timestamp: Int64) throws(StorageError) -> (offset: Int64, timestamp: Int64)? {
        try ensureOpen()
        for segment in segments where segment.maxTimestamp >= timestamp && segment.nextOffset > logStartOffset {
            if let found = try segment.offset(forTimestamp: timestamp, atLeast: logStartOffset) { return found }
        }
        return nil
    }

    // MARK: Retention and deletion

    func deleteRecords(before offset: Int64) throws(StorageError) -> Int64 {
        try ensureOpen()
        guard offset >= 0 && offset <= logEndOffset else {
            throw .offsetOutOfRange(requested: offset, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        }
        if offset > logStartOffset {
            logStartOffset = offset
            try deleteSegments(while: { segment, next in (next?.baseOffset ?? segment.nextOffset) <= self.logStartOffset && next != nil })
            try leaderEpochsFollowLogStart()
        }
        return logStartOffset
    }

    /// Only for logs whose cleanup.policy includes `delete`: a compact-only log keeps every segment (the cleaner
    /// shrinks it instead), as in Kafka.
    func applyRetention() throws(StorageError) -> Int {
        try ensureOpen()
        guard config.cleanupPolicy.delete else { return 0 }
        let now = clock.wallClockMs()
        var deleted = 0
        if config.retentionMs >= 0 {
            let cutoff = now - config.retentionMs
            func expired(_ segment: Segment) -> Bool {
                !segment.isEmpty && (segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.createdMs) < cutoff
            }
            // When everything, the active segment included, is past retention, roll so the active one can go too.
            if segments.allSatisfy(expired) { try roll(at: logEndOffset, nowMs: now) }
            deleted += try deleteSegments(while: { segment, next in next != nil && expired(segment) })
        }
        if config.retentionBytes >= 0 {
            var excess = Int64(sizeInBytes) - config.retentionBytes
            deleted += try deleteSegments(while: { segment, next in
                guard next != nil, excess - Int64(segment.size) >= 0 else { return false }
                excess -= Int64(segment.size)
                return true
            })
        }
        return deleted
    }

    /// Deletes segments from the oldest while `condition(segment, following segment)` holds; never the active one.
    @discardableResult
    private func deleteSegments(while condition: (Segment, Segment?) -> Bool) throws(StorageError) -> Int {
        var count = 0
        while segments.count > 1 && condition(segments[0], segments[1]) {
            try segments[0].markDeleted()
            let segment = segments.removeFirst()
            count += 1
            // The segment is out of the log: the start moves even if unlinking its files fails.
            logStartOffset = max(logStartOffset, segments[0].baseOffset)
            try segment.delete()
            logger.info("deleted segment", metadata: ["log": "\(name)", "baseOffset": "\(segment.baseOffset)"])
        }
        if count > 0 {
            producerState.truncateHead(below: logStartOffset)
            try io { () throws(FileSystemError) in try fileSystem.syncDirectory(directory) }
            try leaderEpochsFollowLogStart()
        }
        return count
    }

    // MARK: Flushing and closing

    func isFlushDue() -> Bool {
        guard !isClosed, recoveryPoint < logEndOffset else { return false }
        if unflushedMessages >= config.flushMessages { return true }
        return config.flushMs != .max && clock.wallClockMs() - lastFlushMs >= config.flushMs
    }

    func prepareFlush() throws(StorageError) -> (Int64, [SharedFileHandle]) {
        guard !isClosed else { return (recoveryPoint, []) }
        let target = logEndOffset
        var handles: [SharedFileHandle] = []
        for segment in segments where segment.nextOffset > recoveryPoint && !segment.isEmpty {
            handles.append(try segment.log.sharedHandle())
            // Small and rarely written (one entry per aborted transaction): synced here, under the lock.
            try segment.txnIndex.flush()
        }
        return (target, handles)
    }

    func completeFlush(upTo target: Int64) {
        recoveryPoint = max(recoveryPoint, target)
        unflushedMessages = 0
        lastFlushMs = clock.wallClockMs()
    }

    func close() throws(StorageError) {
        guard !isClosed else { return }
        try writeProducerSnapshot()
        try active.closeForAppends()
        for segment in segments { segment.close() }
        isClosed = true
    }

    /// Closes every file without writing anything (the directory is offline).
    func closeWithoutWriting() {
        for segment in segments { segment.close() }
        isClosed = true
    }

    func deleteAll() throws(StorageError) {
        if !isClosed { closeWithoutWriting() }
        try io { () throws(FileSystemError) in try fileSystem.removeTree(directory) }
    }
}

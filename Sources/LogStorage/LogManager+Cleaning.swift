import Dispatch
import FileSystem
import Logging
import Synchronization

/// The dirtiness of one compacted log, as Kafka's `LogCleanerManager` ranks logs.
struct CleaningCandidate {
    let log: PartitionLog
    let view: CleaningView
    let firstDirtyOffset: Int64
    /// Bytes in [first dirty offset, first uncleanable offset) over bytes in [log start, first uncleanable offset).
    let dirtyRatio: Double
    let cleanableBytes: Int
    /// max.compaction.lag.ms is exceeded: cleaned whatever its ratio.
    let isOverdue: Bool

    var isEligible: Bool { cleanableBytes > 0 && (isOverdue || dirtyRatio >= view.config.minCleanableDirtyRatio) }

    init(log: PartitionLog, view: CleaningView, checkpoint: Int64?, nowMs: Int64) {
        self.log = log
        self.view = view
        // A checkpoint below the log start (DeleteRecords, retention) or past the data (a log recreated) is stale.
        var firstDirty = checkpoint ?? view.logStartOffset
        if firstDirty < view.logStartOffset || firstDirty > (view.segments.last?.nextOffset ?? view.logStartOffset) {
            firstDirty = view.logStartOffset
        }
        firstDirtyOffset = firstDirty
        let uncleanable = view.firstUncleanableOffset
        let closed = view.segments.filter { $0.nextOffset <= uncleanable }
        let dirty = closed.filter { $0.nextOffset > firstDirty }
        cleanableBytes = dirty.reduce(0) { $0 + $1.size }
        let total = closed.reduce(0) { $0 + $1.size }
        dirtyRatio = total == 0 ? 0 : Double(cleanableBytes) / Double(total)
        let maxLag = view.config.maxCompactionLagMs
        isOverdue = maxLag != .max && dirty.first.map { $0.firstTimestamp < nowMs &- maxLag } == true
    }
}

extension LogManager {
    var cleanerCheckpoint: OffsetCheckpoint {
        OffsetCheckpoint(path: directory + "/cleaner-offset-checkpoint", fileSystem: fileSystem)
    }

    /// The compacted logs skipped after a cleaning failure a retry cannot fix, as "topic-partition" names.
    public var uncleanableLogs: [String] {
        state.withLock { $0.uncleanable.map { "\($0.topic)-\($0.partition)" }.sorted() }
    }

    /// Starts the background cleaner (`log.cleaner.enable`); ``shutdown()`` stops it. Idempotent.
    public func startCleaner(_ config: LogCleanerConfig) {
        guard config.enabled else { return }
        let cleaner = LogCleaner(manager: self, config: config, logger: logger)
        let started = state.withLock { state -> Bool in
            guard state.cleaner == nil, !state.isShutDown else { return false }
            state.cleaner = cleaner
            return true
        }
        if started { cleaner.start() }
    }

    /// Stops the background cleaner, waiting for a cleaning in progress to reach a safe point.
    func stopCleaner() {
        let cleaner = state.withLock { state -> LogCleaner? in
            defer { state.cleaner = nil }
            return state.cleaner
        }
        cleaner?.stop()
    }

    /// Cleans the dirtiest compacted log whose dirty ratio reaches its min.cleanable.dirty.ratio, or whose
    /// max.compaction.lag.ms passed, then records its progress in `cleaner-offset-checkpoint`. Returns what was done,
    /// nil when no log needed cleaning (or the directory is offline).
    @discardableResult
    public func cleanDirtiestLog(
        config: LogCleanerConfig = LogCleanerConfig(), shouldStop: @escaping @Sendable () -> Bool = { false }
    ) -> CleaningStats? {
        if health.isOffline { return nil }
        let now = clock.wallClockMs()
        let (checkpoints, uncleanable) = state.withLock { ($0.cleanerCheckpoints, $0.uncleanable) }
        let candidates = allLogs.filter { $0.config.cleanupPolicy.compact }.compactMap { log -> CleaningCandidate? in
            let key = OffsetCheckpoint.Key(topic: log.topic, partition: log.partition)
            guard !uncleanable.contains(key), let view = log.cleaningView(nowMs: now) else { return nil }
            return CleaningCandidate(log: log, view: view, checkpoint: checkpoints[key], nowMs: now)
        }.filter(\.isEligible)
        guard let chosen = candidates.max(by: { ($0.isOverdue ? 1 : 0, $0.dirtyRatio) < ($1.isOverdue ? 1 : 0, $1.dirtyRatio) }) else {
            return nil
        }
        let started = clock.monotonicNanos()
        let compaction = LogCompaction(
            log: chosen.log, view: chosen.view, firstDirtyOffset: chosen.firstDirtyOffset, cleaner: config,
            fileSystem: fileSystem, nowMs: now, shouldStop: shouldStop)
        let stats: CleaningStats
        do {
            stats = try compaction.run()
        } catch {
            let key = OffsetCheckpoint.Key(topic: chosen.log.topic, partition: chosen.log.partition)
            switch error {
            case .stopped:
                return nil
            case .storage:
                // A full disk, a descriptor shortage or a failing disk: the next round retries (an offline directory
                // stops cleaning altogether through its health).
                logger.error("cleaning failed; retrying after the backoff", metadata: [
                    "log": "\(chosen.log.name)", "error": "\(error)",
                ])
            case .batch, .bufferTooSmall:
                // Retrying would fail the same way every backoff, re-reading the log each time.
                state.withLock { _ = $0.uncleanable.insert(key) }
                logger.error("cleaning failed; the log is marked uncleanable until the broker restarts", metadata: [
                    "log": "\(chosen.log.name)", "error": "\(error)",
                ])
            }
            return nil
        }
        let key = OffsetCheckpoint.Key(topic: chosen.log.topic, partition: chosen.log.partition)
        let updated = state.withLock { state -> [OffsetCheckpoint.Key: Int64] in
            state.cleanerCheckpoints[key] = stats.cleanedUpTo
            let live = Set(state.logs.keys)
            state.cleanerCheckpoints = state.cleanerCheckpoints.filter { live.contains($0.key) }
            return state.cleanerCheckpoints
        }
        do {
            try health.writing { () throws(StorageError) in try cleanerCheckpoint.write(updated) }
        } catch {
            logger.error("writing the cleaner checkpoint failed", metadata: ["error": "\(error)"])
        }
        let seconds = Double(clock.monotonicNanos() &- started) / 1e9
        let megabytes = Double(stats.bytesRead) / 1_048_576
        logger.info("cleaned log", metadata: [
            "log": "\(chosen.log.name)", "dirtyRatio": "\(String(format2: chosen.dirtyRatio))",
            "segments": "\(stats.segmentsCleaned)", "bytesRead": "\(stats.bytesRead)", "bytesWritten": "\(stats.bytesWritten)",
            "recordsKept": "\(stats.recordsKept)", "recordsRemoved": "\(stats.recordsRemoved)",
            "cleanedUpTo": "\(stats.cleanedUpTo)", "mapBytes": "\(stats.mapMemoryBytes)",
            "MBps": "\(String(format2: seconds > 0 ? megabytes / seconds : 0))", "seconds": "\(String(format2: seconds))",
        ])
        return stats
    }
}

private extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// The background thread that runs ``LogManager/cleanDirtiestLog(config:shouldStop:)`` (Kafka's `CleanerThread`,
/// one of them): it cleans logs back to back while some need it, and otherwise waits `log.cleaner.backoff.ms`.
/// It holds no partition's lock while reading or writing segments; only the final swap takes it.
final class LogCleaner: Sendable {
    private let manager: LogManager
    private let config: LogCleanerConfig
    private let logger: Logger
    private let stopRequested = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)

    init(manager: LogManager, config: LogCleanerConfig, logger: Logger) {
        self.manager = manager
        self.config = config
        self.logger = logger
    }

    func start() {
        DispatchQueue(label: "ledgerstream.log-cleaner").async { [self] in
            defer { stopped.signal() }
            let isStopping: @Sendable () -> Bool = { [self] in stopping.load(ordering: .relaxed) }
            var backoff = false
            while true {
                if backoff {
                    if stopRequested.wait(timeout: .now() + .milliseconds(Int(min(config.backoffMs, Int64(Int32.max))))) == .success {
                        return
                    }
                } else if isStopping() {
                    return
                }
                backoff = manager.cleanDirtiestLog(config: config, shouldStop: isStopping) == nil
            }
        }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        stopRequested.signal()
        stopped.wait()
    }
}

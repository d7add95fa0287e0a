import KafkaClient
import KafkaProtocol
import Logging
import NIOPosix
import SQLiteStore
import Synchronization

/// Runs the SQLite sink: consumes topics from the offsets stored in the database, applies records in batches (by
/// count and time) through ``LedgerSink``, and keeps going until stopped (or until it has caught up, with
/// `exitAtEnd`).
///
/// Pipelined: a batch is written to SQLite on a thread of its own while the next one is fetched and decoded, so
/// fetching and JSON decoding (about a third of the work) overlap with the writes. At most two batches are in memory.
/// Offsets are also committed to a consumer group after each batch is written, for monitoring with Kafka's tools;
/// the database's own offsets are the ones that count.
public final class SinkRunner {
    public struct Options: Sendable {
        public var topics: [String]
        /// A batch (one SQLite transaction) closes at this many records or after `batchMilliseconds`, whichever
        /// comes first: small batches when the stream is slow (low latency), large ones under load (fewer commits,
        /// each rewriting the pages it touched).
        public var batchRecords = 50_000
        public var batchMilliseconds: Int64 = 200
        public var exitAtEnd = false
        /// read_committed (the default) applies only committed transactions' records and never an aborted one's;
        /// read_uncommitted applies whatever is in the log.
        public var isolationLevel: IsolationLevel = .readCommitted
        /// Group the sink commits to for monitoring (nil: none).
        public var monitoringGroup: String? = "ledgerstream-sink"

        public init(topics: [String]) {
            self.topics = topics
        }
    }

    public struct Progress: Sendable {
        public var report: ApplyReport
        public var batches: Int
    }

    let client: KafkaClient
    let writer: SinkWriter
    let options: Options
    let logger: Logger

    public init(client: KafkaClient, sink: SinkWriter, options: Options, logger: Logger) {
        self.client = client
        self.writer = sink
        self.options = options
        self.logger = logger
    }

    /// Monotonic milliseconds from the client's time source (batch periods, topology checks, disk-full backoff).
    private var nowMs: Int64 { client.time.monotonicMs() }

    /// Consumes until `shouldStop()` or (with exitAtEnd) the end of every partition. Returns the totals.
    public func run(shouldStop: @Sendable () -> Bool, onBatch: (Progress) -> Void = { _ in }) async throws -> ApplyReport {
        var config = ConsumerConfig()
        config.groupId = options.monitoringGroup
        config.enableAutoCommit = false
        config.maxPollRecords = options.batchRecords
        config.isolationLevel = options.isolationLevel
        // A poll with a fetch parked at the broker returns when that fetch does: the wait bounds how long the last
        // records of a burst sit uncommitted (and how long closing takes). 50 ms keeps them well inside a batch
        // period; an idle sink's empty fetches cost the broker next to nothing.
        config.fetchMaxWaitMs = Int32(min(options.batchMilliseconds, 50))
        let consumer = KafkaConsumer(client: client, config: config)
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        var partitionCounts: [String: Int] = [:]
        var totals = ApplyReport()
        var batches = 0
        var pending: [LedgerSink.DecodedRecord] = []
        var pendingPositions: [TopicPartition: Int64] = [:]
        /// Time spent decoding the pending records (part of their batch's duration).
        var pendingDecodeNanoseconds: Int64 = 0
        /// The batch being written, and the positions it completes.
        var writing: (task: Task<ApplyReport, any Error>, batch: [LedgerSink.DecodedRecord], positions: [TopicPartition: Int64])?
        var oldest = nowMs
        var lastTopologyCheck = nowMs
        let writer = self.writer
        let metrics = writer.metrics

        /// Waits for the batch being written, then reports it and commits its positions to the monitoring group.
        func finishWriting() async throws {
            guard let current = writing else { return }
            writing = nil
            let report: ApplyReport
            do {
                report = try await current.task.value
            } catch let error as SQLiteError where error.isFull {
                report = try await applyOnceSpaceReturns(current.batch, firstError: error)
            }
            if report.alreadyImported > 0 {
                logger.debug("file rows already applied by an earlier import were skipped", metadata: ["rows": "\(report.alreadyImported)"])
            }
            totals += report
            batches += 1
            onBatch(Progress(report: totals, batches: batches))
            if options.monitoringGroup != nil { try? await consumer.commit(current.positions) }
        }
        /// Hands the pending records to the writer thread (after the previous batch is done: batches apply in order).
        func flush() async throws {
            guard !pending.isEmpty else { return }
            let waitStart = nowMs
            try await finishWriting()
            logger.debug("batch handed to the writer", metadata: [
                "records": "\(pending.count)", "waitedForWriterMs": "\(nowMs - waitStart)",
                "collectedMs": "\(waitStart - oldest)",
            ])
            let batch = pending
            let decodeNanoseconds = pendingDecodeNanoseconds
            pending = []
            pendingDecodeNanoseconds = 0
            pending.reserveCapacity(min(options.batchRecords, 1 << 16))
            writing = (Task { try await thread.runIfActive { try writer.apply(batch, decodeNanoseconds: decodeNanoseconds) } },
                       batch, pendingPositions)
        }
        /// A full disk refuses the batch (rolled back: nothing of it is written) without stopping the sink: it retries,
        /// backing off to 5 s, until space returns (or the sink is stopped), logging the wait once and the recovery.
        func applyOnceSpaceReturns(_ batch: [LedgerSink.DecodedRecord], firstError: SQLiteError) async throws -> ApplyReport {
            logger.error("the ledger database is full: waiting for space, nothing of the batch was written", metadata: [
                "database": "\(writer.path)", "records": "\(batch.count)", "error": "\(firstError.message)",
                "fix": "free space on the database's disk (or raise its quota); the sink resumes by itself",
            ])
            var backoffMs: UInt64 = 100
            let started = nowMs
            while true {
                if shouldStop() { throw firstError }
                try await client.time.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 5000)
                do {
                    let report = try await thread.runIfActive { try writer.apply(batch) }
                    logger.notice("space is back: the sink resumed", metadata: [
                        "database": "\(writer.path)", "waitedMs": "\(nowMs - started)"])
                    return report
                } catch let error as SQLiteError where error.isFull {
                    continue
                }
            }
        }

        let checkpointer = try writer.startBackgroundCheckpoints(logger: logger)
        metrics.running(true)
        defer { metrics.running(false) }
        do {
            try await assign(consumer, counts: &partitionCounts)
            var ends = options.exitAtEnd ? try await consumer.endOffsets() : [:]
            while !shouldStop() {
                // With records pending, a poll that finds nothing new (the stream paused) commits them right away.
                let records = try await consumer.poll(timeoutMs: pending.isEmpty ? min(options.batchMilliseconds, 500) : 1)
                if pending.isEmpty { oldest = nowMs }
                let decoding = ContinuousClock.now
                for record in records {
                    pending.append(LedgerSink.DecodedRecord(SinkRecord(
                        topic: record.topic, partition: record.partition, offset: record.offset, value: record.value,
                        source: record.headers.isEmpty ? nil : EventSource(headers: record.headers))))
                    pendingPositions[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
                }
                if !records.isEmpty { pendingDecodeNanoseconds += decoding.duration(to: .now).nanoseconds }
                if metrics.isEnabled {
                    metrics.polled(handed: pendingPositions, consumed: await consumer.positions, logEnds: await consumer.logEndOffsets)
                }
                if pending.count >= options.batchRecords || (!pending.isEmpty && (records.isEmpty || nowMs - oldest >= options.batchMilliseconds)) {
                    try await flush()
                }
                if options.exitAtEnd && pending.isEmpty {
                    let positions = await consumer.positions
                    if ends.isEmpty { ends = try await consumer.endOffsets() }
                    if ends.allSatisfy({ (positions[$0.key] ?? 0) >= $0.value }) { break }
                }
                if nowMs - lastTopologyCheck > 10_000 {
                    lastTopologyCheck = nowMs
                    try await flush()
                    try await finishWriting()
                    var counts = partitionCounts
                    if (try? await assignIfGrown(consumer, counts: &counts)) == true { partitionCounts = counts }
                }
            }
            try await flush()
            try await finishWriting()
        } catch {
            // Whatever is being written either commits or rolls back on its own; wait for it before leaving.
            if let current = writing { _ = try? await current.task.value }
            await consumer.close()
            try? await thread.runIfActive { checkpointer.stop() }
            try? await thread.shutdownGracefully()
            throw error
        }
        await consumer.close()
        try? await thread.runIfActive { checkpointer.stop() }
        try? await thread.shutdownGracefully()
        return totals
    }

    /// Assigns every partition of the topics, from the stored offsets (or the beginning).
    private func assign(_ consumer: KafkaConsumer, counts: inout [String: Int]) async throws {
        var starts: [TopicPartition: StartPosition] = [:]
        for topic in options.topics {
            let info = try await client.topic(topic)
            counts[topic] = info.partitions.count
            for partition in info.partitions {
                let start = writer.resumeOffset(topic: topic, partition: partition.partition).map(StartPosition.offset) ?? .beginning
                starts[TopicPartition(topic: topic, partition: partition.partition)] = start
            }
        }
        try await consumer.assign(starts)
        if writer.metrics.isEnabled { writer.metrics.assigned(await consumer.positions) }
        logger.debug("sink assigned", metadata: ["partitions": "\(starts.count)", "topics": "\(options.topics.joined(separator: ","))"])
    }

    /// Partitions added to a topic since are picked up; existing positions are kept.
    private func assignIfGrown(_ consumer: KafkaConsumer, counts: inout [String: Int]) async throws -> Bool {
        var grown = false
        for topic in options.topics {
            let info = try await client.topic(topic)
            if info.partitions.count > counts[topic] ?? 0 { grown = true }
        }
        guard grown else { return false }
        try await assign(consumer, counts: &counts)
        return true
    }
}


/// The sink behind a lock, so the runner can hand batches to its writer thread. Only one batch is ever being written
/// (the runner waits for it before handing over the next), so the lock is uncontended; it makes the hand-over safe.
public final class SinkWriter: Sendable {
    private let sink: Mutex<LedgerSink>
    /// The sink's metrics: the runner records its partitions' positions and ends there, for the lag.
    public let metrics: SinkMetrics

    public init(_ sink: sending LedgerSink) {
        metrics = sink.metrics
        self.sink = Mutex(sink)
    }

    func apply(_ batch: [LedgerSink.DecodedRecord], decodeNanoseconds: Int64 = 0) throws -> ApplyReport {
        try sink.withLock { try $0.apply(decoded: batch, decodeNanoseconds: decodeNanoseconds) }
    }

    /// The database file's path.
    var path: String { sink.withLock { $0.database.path } }

    func resumeOffset(topic: String, partition: Int32) -> Int64? {
        sink.withLock { $0.resumeOffset(topic: topic, partition: partition) }
    }

    /// Moves WAL checkpoints off the writer: raises the writer's own automatic checkpoint to a backstop and starts
    /// a ``WALCheckpointer`` on the database file (stop it when the writer is done).
    func startBackgroundCheckpoints(logger: Logger) throws -> WALCheckpointer {
        let path = try sink.withLock { sink in
            try sink.database.execute("PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages);")
            return sink.database.path
        }
        return WALCheckpointer(path: path, logger: logger, metrics: metrics)
    }
}

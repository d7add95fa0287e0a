import KafkaClient
import KafkaProtocol
import Logging
import SQLiteStore
import Synchronization

/// Runs the sink: consumes topics from the offsets stored in the ledger, applies records in batches (by count and
/// time) through a ``LedgerStore`` (SQLite or PostgreSQL), and keeps going until stopped (or until it has caught up,
/// with `exitAtEnd`).
///
/// Pipelined: a batch is written while the next one is fetched and decoded, so fetching and JSON decoding (about a
/// third of the work) overlap with the writes. At most two batches are in memory.
///
/// Alone (no `group`), the sink reads every partition. In a group, several sinks split the partitions through the
/// Kafka consumer group protocol; on each assignment the sink claims its partitions in the ledger, which fences the
/// sinks that held them before (see ``LedgerStore/claim(_:owner:)``). Either way the ledger's offsets are the ones
/// that count; they are also committed to the consumer group after each batch, for monitoring with Kafka's tools.
public final class SinkRunner {
    public struct Options: Sendable {
        public var topics: [String]
        /// A batch (one database transaction) closes at this many records or after `batchMilliseconds`, whichever
        /// comes first: small batches when the stream is slow (low latency), large ones under load (fewer commits).
        /// 10,000 records bound the sink's memory (two batches are held: one pending, one being written) while the
        /// commits stay rare: measured on 1M rows, 50,000 drained about 5 % faster for 115 MB more peak RSS.
        public var batchRecords = 10_000
        public var batchMilliseconds: Int64 = 200
        public var exitAtEnd = false
        /// read_committed (the default) applies only committed transactions' records and never an aborted one's;
        /// read_uncommitted applies whatever is in the log.
        public var isolationLevel: IsolationLevel = .readCommitted
        /// Alone: the group the sink commits to for monitoring (nil: none).
        public var monitoringGroup: String? = "ledgerstream-sink"
        /// Several sinks sharing the work: the consumer group they join (nil: alone, every partition).
        public var group: String?
        /// With `group`: how long the group waits for a silent sink before giving its partitions to the others.
        public var sessionTimeoutMs: Int32 = 45_000
        /// This sink's name in the ledger's partition owners (host and process id by default).
        public var owner: String

        public init(topics: [String], owner: String = "sink") {
            self.topics = topics
            self.owner = owner
        }
    }

    public struct Progress: Sendable {
        public var report: ApplyReport
        public var batches: Int
    }

    let client: KafkaClient
    let store: any LedgerStore
    let options: Options
    let logger: Logger

    public init(client: KafkaClient, store: any LedgerStore, options: Options, logger: Logger) {
        self.client = client
        self.store = store
        self.options = options
        self.logger = logger
    }

    /// Monotonic milliseconds from the client's time source (batch periods, topology checks, disk-full backoff).
    private var nowMs: Int64 { client.time.monotonicMs() }

    /// Consumes until `shouldStop()` or (with exitAtEnd) the end of every partition. Returns the totals.
    public func run(shouldStop: @Sendable () -> Bool, onBatch: (Progress) -> Void = { _ in }) async throws -> ApplyReport {
        var config = ConsumerConfig()
        config.groupId = options.group ?? options.monitoringGroup
        config.enableAutoCommit = false
        config.maxPollRecords = options.batchRecords
        config.isolationLevel = options.isolationLevel
        config.sessionTimeoutMs = options.sessionTimeoutMs
        config.heartbeatIntervalMs = min(3000, Int64(options.sessionTimeoutMs) / 3)
        // A poll with a fetch parked at the broker returns when that fetch does: the wait bounds how long the last
        // records of a burst sit uncommitted (and how long closing takes). 50 ms keeps them well inside a batch
        // period; an idle sink's empty fetches cost the broker next to nothing.
        config.fetchMaxWaitMs = Int32(min(options.batchMilliseconds, 50))
        let consumer = KafkaConsumer(client: client, config: config)
        let rebalance = SinkRebalanceListener(store: store, owner: options.owner, logger: logger)
        var partitionCounts: [String: Int] = [:]
        var totals = ApplyReport()
        var batches = 0
        var pending: [LedgerSink.DecodedRecord] = []
        var pendingPositions: [TopicPartition: Int64] = [:]
        /// Time spent decoding the pending records (part of their batch's duration).
        var pendingDecodeNanoseconds: Int64 = 0
        /// The batch being written, and the positions it completes.
        var writing: (task: Task<ApplyReport, any Error>, batch: [LedgerSink.DecodedRecord], positions: [TopicPartition: Int64])?
        /// The last batch written, emptied, for the next batch to decode into: its memory is already the process's.
        /// A fresh array per batch was about half the sink's page faults, each a page the kernel zeroed
        /// (measured: 134k faults and 0.8 s of system time for 1M rows).
        var spare: [LedgerSink.DecodedRecord] = []
        var oldest = nowMs
        var lastTopologyCheck = nowMs
        var assignmentEpoch = 0
        let store = self.store
        let metrics = store.metrics
        let inGroup = options.group != nil

        /// Waits for the batch being written, then reports it and commits its positions to the consumer group. A
        /// batch fenced off (another sink owns one of its partitions now) is dropped: alone, the sink stops; in a
        /// group, it rejoins, and its next assignment says what is its own.
        func finishWriting() async throws {
            guard var current = writing else { return }
            writing = nil
            rebalance.writing(nil)
            defer {
                // Unique again once the writer is done with it (the task has finished), so emptying keeps its memory.
                spare = current.batch
                current.batch = []
                spare.removeAll(keepingCapacity: true)
            }
            let report: ApplyReport
            do {
                report = try await current.task.value
            } catch let error as SQLiteError where error.isFull {
                report = try await applyOnceSpaceReturns(current.batch, firstError: error)
            } catch let error as LedgerStoreError {
                if case .fenced = error, !inGroup { throw error }
                logger.warning("the batch was not written: \(error)", metadata: ["records": "\(current.batch.count)"])
                pending = []
                pendingPositions = [:]
                pendingDecodeNanoseconds = 0
                // A group member rejoins (its next assignment is claimed and resumed from the ledger); a lone sink
                // claims its partitions again and resumes from the ledger's offsets.
                if inGroup {
                    await consumer.rejoin()
                } else {
                    try await assign(consumer, counts: &partitionCounts)
                }
                return
            }
            if report.alreadyImported > 0 {
                logger.debug("file rows already applied by an earlier import were skipped", metadata: ["rows": "\(report.alreadyImported)"])
            }
            totals += report
            batches += 1
            onBatch(Progress(report: totals, batches: batches))
            if config.groupId != nil { try? await consumer.commit(current.positions) }
        }
        /// Hands the pending records to the writer (after the previous batch is done: batches apply in order).
        func flush() async throws {
            guard !pending.isEmpty else { return }
            let waitStart = nowMs
            try await finishWriting()
            guard !pending.isEmpty else { return }
            logger.debug("batch handed to the writer", metadata: [
                "records": "\(pending.count)", "waitedForWriterMs": "\(nowMs - waitStart)",
                "collectedMs": "\(waitStart - oldest)",
            ])
            let batch = pending
            let decodeNanoseconds = pendingDecodeNanoseconds
            pending = spare
            spare = []
            pendingDecodeNanoseconds = 0
            pending.reserveCapacity(min(options.batchRecords, 1 << 16))
            let task = Task { try await store.apply(batch, decodeNanoseconds: decodeNanoseconds) }
            writing = (task, batch, pendingPositions)
            rebalance.writing(task)
        }
        /// A full disk refuses the batch (rolled back: nothing of it is written) without stopping the sink: it retries,
        /// backing off to 5 s, until space returns (or the sink is stopped), logging the wait once and the recovery.
        func applyOnceSpaceReturns(_ batch: [LedgerSink.DecodedRecord], firstError: SQLiteError) async throws -> ApplyReport {
            logger.error("the ledger database is full: waiting for space, nothing of the batch was written", metadata: [
                "database": "\(store.location)", "records": "\(batch.count)", "error": "\(firstError.message)",
                "fix": "free space on the database's disk (or raise its quota); the sink resumes by itself",
            ])
            var backoffMs: UInt64 = 100
            let started = nowMs
            while true {
                if shouldStop() { throw firstError }
                try await client.time.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 5000)
                do {
                    let report = try await store.apply(batch, decodeNanoseconds: 0)
                    logger.notice("space is back: the sink resumed", metadata: [
                        "database": "\(store.location)", "waitedMs": "\(nowMs - started)"])
                    return report
                } catch let error as SQLiteError where error.isFull {
                    continue
                }
            }
        }

        try await store.startBackgroundWork(logger: logger)
        metrics.running(true)
        defer { metrics.running(false) }
        do {
            if inGroup {
                try await consumer.subscribe(options.topics, listener: rebalance)
            } else {
                try await assign(consumer, counts: &partitionCounts)
            }
            assignmentEpoch = rebalance.epoch
            var ends = options.exitAtEnd ? try await consumer.endOffsets() : [:]
            while !shouldStop() {
                // With records pending, a poll that finds nothing new (the stream paused) commits them right away.
                let batches = try await consumer.pollBatches(timeoutMs: pending.isEmpty ? min(options.batchMilliseconds, 500) : 1)
                if rebalance.epoch != assignmentEpoch {
                    // A new assignment, claimed in the ledger: what was fetched before it is fetched again from the
                    // ledger's offsets (the batch being written finished before the claim).
                    assignmentEpoch = rebalance.epoch
                    pending = []
                    pendingPositions = [:]
                    pendingDecodeNanoseconds = 0
                    ends = [:]
                    if metrics.isEnabled { metrics.assigned(await consumer.positions) }
                }
                if pending.isEmpty { oldest = nowMs }
                let decoding = ContinuousClock.now
                var source: EventSource?
                // Decoded straight from the fetched batches' bytes: no record value in between.
                for batch in batches {
                    if let next = LedgerSink.DecodedRecord.decode(batch, into: &pending, source: &source) {
                        pendingPositions[TopicPartition(topic: batch.topic, partition: batch.partition)] = next
                    }
                }
                if !batches.isEmpty { pendingDecodeNanoseconds += decoding.duration(to: .now).nanoseconds }
                if metrics.isEnabled {
                    metrics.polled(handed: pendingPositions, consumed: await consumer.positions, logEnds: await consumer.logEndOffsets)
                }
                if pending.count >= options.batchRecords || (!pending.isEmpty && (batches.isEmpty || nowMs - oldest >= options.batchMilliseconds)) {
                    try await flush()
                }
                if options.exitAtEnd && pending.isEmpty {
                    let positions = await consumer.positions
                    if ends.isEmpty { ends = try await consumer.endOffsets() }
                    if ends.allSatisfy({ (positions[$0.key] ?? 0) >= $0.value }) { break }
                }
                if !inGroup && nowMs - lastTopologyCheck > 10_000 {
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
            await store.stopBackgroundWork()
            throw error
        }
        await consumer.close()
        await store.stopBackgroundWork()
        return totals
    }

    /// Claims every partition of the topics in the ledger and consumes them from its offsets (or the beginning).
    private func assign(_ consumer: KafkaConsumer, counts: inout [String: Int]) async throws {
        var partitions: [TopicPartition] = []
        for topic in options.topics {
            let info = try await client.topic(topic)
            counts[topic] = info.partitions.count
            partitions += info.partitions.map { TopicPartition(topic: topic, partition: $0.partition) }
        }
        let resume = try await store.claim(partitions, owner: options.owner)
        let starts = Dictionary(uniqueKeysWithValues: partitions.map { ($0, resume[$0].map(StartPosition.offset) ?? .beginning) })
        try await consumer.assign(starts)
        if store.metrics.isEnabled { store.metrics.assigned(await consumer.positions) }
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

/// A sink in a consumer group: before giving partitions up it lets the batch being written finish (committed or
/// rolled back), and on a new assignment it claims the partitions in the ledger and starts them from its offsets.
final class SinkRebalanceListener: ConsumerRebalanceListener {
    let store: any LedgerStore
    let owner: String
    let logger: Logger
    private let state = Mutex<(writing: Task<ApplyReport, any Error>?, epoch: Int)>((nil, 0))

    init(store: any LedgerStore, owner: String, logger: Logger) {
        self.store = store
        self.owner = owner
        self.logger = logger
    }

    /// Bumped by each assignment claimed.
    var epoch: Int { state.withLock { $0.epoch } }

    func writing(_ task: Task<ApplyReport, any Error>?) {
        state.withLock { $0.writing = task }
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) async {
        if let task = state.withLock({ $0.writing }) { _ = try? await task.value }
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) async throws -> [TopicPartition: StartPosition] {
        let resume = try await store.claim(partitions, owner: owner)
        state.withLock { $0.epoch += 1 }
        logger.info("sink claimed its partitions", metadata: [
            "partitions": "\(partitions.map { "\($0.topic)/\($0.partition)" }.joined(separator: ","))", "owner": "\(owner)",
        ])
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, resume[$0].map(StartPosition.offset) ?? .beginning) })
    }
}

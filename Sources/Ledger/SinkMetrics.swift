import CoreMetrics
import KafkaProtocol
import Synchronization

/// The SQLite sink's metrics: what it applied (counted only once the SQLite transaction has committed, so the counters
/// agree with the database exactly), how long batches, commits and checkpoints take, and how far behind each partition
/// is.
///
/// Built from a swift-metrics factory; the handles are created once here and shared by the sink, its runner and the
/// checkpointer, so recording costs an atomic increment. ``disabled`` (the no-op factory) is the default everywhere:
/// then nothing is recorded and the per-partition bookkeeping is skipped. Partition gauges (lag, offsets) are set by
/// ``collect()``, which the metrics registry runs before each scrape, from positions the sink and its consumer already
/// know: no request to the broker per scrape.
public final class SinkMetrics: Sendable {
    /// Help text of every metric here, for the registry's `# HELP` lines.
    public static let descriptions: [(name: String, help: String)] = [
        ("ledgerstream_sink_records_applied_total",
         "Records applied to the ledger (counted once their SQLite transaction committed: exactly once)."),
        ("ledgerstream_sink_batches_total", "Batches applied to the ledger, each one SQLite transaction."),
        ("ledgerstream_sink_batch_duration_seconds",
         "Time to decode, apply and commit one batch (decoding overlaps with the previous batch's write)."),
        ("ledgerstream_sink_records_skipped_total",
         "Records not applied because they already were: duplicate (below the stored offset, redelivered) or "
            + "already_imported (a file row an earlier import applied)."),
        ("ledgerstream_sink_rejected_records_total",
         "Records that are not valid transaction events, kept in rejected_records, by kind of decoding error."),
        ("ledgerstream_sink_reconciliation_issues_total",
         "Applied records recorded in reconciliation_issues, by kind (balance_mismatch, negative_balance)."),
        ("ledgerstream_sink_sqlite_commit_seconds", "Time of the SQLite COMMIT of each batch (fsync included)."),
        ("ledgerstream_sink_sqlite_checkpoint_seconds", "Time of each background WAL checkpoint of the ledger database."),
        ("ledgerstream_sink_lag_records",
         "Records the sink has still to apply: the partition's end (last stable offset with read_committed, else the "
            + "high watermark, from the latest fetch response) minus the next offset to apply."),
        ("ledgerstream_sink_applied_offset", "Next offset to apply per partition, as stored in the ledger."),
        ("ledgerstream_sink_log_end_offset",
         "End of each partition as the sink's consumer last saw it (last stable offset with read_committed)."),
    ]

    /// The no-op metrics: nothing recorded, no bookkeeping.
    public static let disabled = SinkMetrics()

    /// False for the no-op factory: callers skip work that only feeds metrics.
    public let isEnabled: Bool
    private let factory: any MetricsFactory
    let recordsApplied: Counter
    let batches: Counter
    let batchDuration: Timer
    let commitDuration: Timer
    let checkpointDuration: Timer
    let skippedDuplicates: Counter
    let skippedAlreadyImported: Counter
    private let rejected: [RejectionKind: Counter]
    private let issues: [ReconciliationIssue.Kind: Counter]
    private let state = Mutex(State())

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        isEnabled = !(factory is NOOPMetricsHandler)
        recordsApplied = Counter(label: "ledgerstream_sink_records_applied_total", factory: factory)
        batches = Counter(label: "ledgerstream_sink_batches_total", factory: factory)
        batchDuration = Timer(label: "ledgerstream_sink_batch_duration_seconds", factory: factory)
        commitDuration = Timer(label: "ledgerstream_sink_sqlite_commit_seconds", factory: factory)
        checkpointDuration = Timer(label: "ledgerstream_sink_sqlite_checkpoint_seconds", factory: factory)
        let skipped = "ledgerstream_sink_records_skipped_total"
        skippedDuplicates = Counter(label: skipped, dimensions: [("reason", "duplicate")], factory: factory)
        skippedAlreadyImported = Counter(label: skipped, dimensions: [("reason", "already_imported")], factory: factory)
        // Every kind exists from the start (at 0), so a dashboard's rate() has a series before the first bad record.
        rejected = Dictionary(uniqueKeysWithValues: RejectionKind.allCases.map {
            ($0, Counter(label: "ledgerstream_sink_rejected_records_total", dimensions: [("kind", $0.rawValue)], factory: factory))
        })
        issues = Dictionary(uniqueKeysWithValues: ReconciliationIssue.Kind.allCases.map {
            ($0, Counter(label: "ledgerstream_sink_reconciliation_issues_total", dimensions: [("kind", $0.rawValue)], factory: factory))
        })
    }

    // MARK: Recording

    /// A batch's transaction committed: counts what it applied, skipped and flagged, and moves the applied offsets.
    /// `commitNanoseconds`: the SQLite COMMIT's time (nil for other stores).
    public func committed(_ report: ApplyReport, offsets: [(TopicPartition, Int64)], batchNanoseconds: Int64,
                          commitNanoseconds: Int64?) {
        guard isEnabled else { return }
        recordsApplied.increment(by: report.applied)
        batches.increment()
        batchDuration.recordNanoseconds(batchNanoseconds)
        if let commitNanoseconds { commitDuration.recordNanoseconds(commitNanoseconds) }
        if report.duplicates > 0 { skippedDuplicates.increment(by: report.duplicates) }
        if report.alreadyImported > 0 { skippedAlreadyImported.increment(by: report.alreadyImported) }
        for (kind, count) in report.rejectedByKind where count > 0 { rejected[kind]?.increment(by: count) }
        if report.mismatches > 0 { issues[.balanceMismatch]?.increment(by: report.mismatches) }
        if report.negativeBalances > 0 { issues[.negativeBalance]?.increment(by: report.negativeBalances) }
        guard !offsets.isEmpty else { return }
        state.withLock { state in
            for (partition, next) in offsets { state.partitions[partition, default: PartitionProgress()].applied = next }
        }
    }

    func checkpointed(nanoseconds: Int64) {
        guard isEnabled else { return }
        checkpointDuration.recordNanoseconds(nanoseconds)
    }

    /// The ledger database is open (readiness).
    public func databaseOpened() {
        guard isEnabled else { return }
        state.withLock { $0.databaseOpen = true }
    }

    /// The runner started or stopped consuming (readiness).
    func running(_ running: Bool) {
        guard isEnabled else { return }
        state.withLock { $0.running = running }
    }

    /// The runner assigned these partitions, starting at these positions (the stored offsets, or where the log starts
    /// for a partition the ledger has nothing from): what the sink applies next until a batch commits.
    func assigned(_ positions: [TopicPartition: Int64]) {
        guard isEnabled else { return }
        state.withLock { state in
            for (partition, position) in positions {
                var progress = state.partitions[partition, default: PartitionProgress()]
                progress.applied = progress.applied.map { max($0, position) } ?? position
                progress.consumed = position
                progress.handed = nil
                state.partitions[partition] = progress
            }
        }
    }

    /// After a poll: the offsets past the last records handed towards a batch, the consumer's positions (past
    /// transaction markers and aborted records too) and the partitions' ends from the fetch responses.
    func polled(handed: [TopicPartition: Int64], consumed: [TopicPartition: Int64], logEnds: [TopicPartition: Int64]) {
        guard isEnabled else { return }
        state.withLock { state in
            for (partition, offset) in handed { state.partitions[partition, default: PartitionProgress()].handed = offset }
            for (partition, offset) in consumed { state.partitions[partition, default: PartitionProgress()].consumed = offset }
            for (partition, offset) in logEnds { state.partitions[partition, default: PartitionProgress()].logEnd = offset }
        }
    }

    // MARK: Reading

    /// Sets the partition gauges; the registry runs it before each scrape.
    public func collect() {
        guard isEnabled else { return }
        let factory = self.factory
        state.withLock { state in
            for (partition, progress) in state.partitions {
                var gauges = state.gauges[partition] ?? PartitionGauges()
                gauges.set(PartitionGauges.applied, progress.applied, partition, \.applied, factory: factory)
                gauges.set(PartitionGauges.logEnd, progress.logEnd, partition, \.logEnd, factory: factory)
                gauges.set(PartitionGauges.lag, progress.lag, partition, \.lag, factory: factory)
                state.gauges[partition] = gauges
            }
        }
    }

    /// Each partition's progress, for readiness and tests.
    public var partitions: [TopicPartition: PartitionProgress] { state.withLock { $0.partitions } }

    /// Why the sink is not ready (nil: it is): its database must be open, its partitions assigned and fetched from,
    /// and its total lag at most `maxLag` records.
    public func notReadyReason(maxLag: Int64) -> String? {
        state.withLock { state in
            guard state.databaseOpen else { return "database not open" }
            guard state.running else { return "sink not running" }
            guard !state.partitions.isEmpty else { return "not yet assigned partitions" }
            var lag: Int64 = 0
            for (partition, progress) in state.partitions.sorted(by: { $0.key < $1.key }) {
                guard let partitionLag = progress.lag else { return "log end of \(partition) not known yet (no fetch answered)" }
                lag += partitionLag
            }
            return lag > maxLag ? "lag \(lag) records > \(maxLag)" : nil
        }
    }

    // MARK: State

    /// What the sink knows of one partition's progress.
    public struct PartitionProgress: Sendable, Equatable {
        /// Next offset to apply, as stored in the ledger (or the start position before the first commit).
        public var applied: Int64?
        /// Past the last record polled towards a batch: while `applied` is below it, records are on their way.
        public var handed: Int64?
        /// The consumer's position: past the last record polled, and past markers and aborted records after it.
        public var consumed: Int64?
        /// The partition's end from the latest fetch response (last stable offset with read_committed).
        public var logEnd: Int64?

        public init(applied: Int64? = nil, handed: Int64? = nil, consumed: Int64? = nil, logEnd: Int64? = nil) {
            self.applied = applied
            self.handed = handed
            self.consumed = consumed
            self.logEnd = logEnd
        }

        /// Where the sink is done up to: the ledger's next offset; once every record polled is applied, the consumer's
        /// position, since the transaction markers and aborted records between the two are never applied (a sink
        /// that is caught up after a transactional producer has lag 0, not 1 for the commit marker).
        public var processed: Int64? {
            guard let applied else { return consumed }
            if let handed, applied < handed { return applied }
            return max(applied, consumed ?? applied)
        }

        /// Records still to apply (0 when caught up); nil until a fetch response gave the partition's end.
        public var lag: Int64? {
            guard let logEnd, let processed else { return nil }
            return max(0, logEnd - processed)
        }
    }

    private struct State: Sendable {
        var databaseOpen = false
        var running = false
        var partitions: [TopicPartition: PartitionProgress] = [:]
        var gauges: [TopicPartition: PartitionGauges] = [:]
    }

    /// One partition's gauges, each created at the first scrape that knows its value: a gauge reads 0 until set, and
    /// a lag of 0 before the partition's end is known would say "caught up" when nothing is known.
    private struct PartitionGauges: Sendable {
        static let lag = "ledgerstream_sink_lag_records"
        static let applied = "ledgerstream_sink_applied_offset"
        static let logEnd = "ledgerstream_sink_log_end_offset"

        var lag: Gauge?
        var applied: Gauge?
        var logEnd: Gauge?

        mutating func set(_ label: String, _ value: Int64?, _ partition: TopicPartition,
                          _ gauge: WritableKeyPath<PartitionGauges, Gauge?>, factory: any MetricsFactory) {
            guard let value else { return }
            if self[keyPath: gauge] == nil {
                let labels = [("topic", partition.topic), ("partition", String(partition.partition))]
                self[keyPath: gauge] = Gauge(label: label, dimensions: labels, factory: factory)
            }
            self[keyPath: gauge]?.record(value)
        }
    }
}

/// Why a record was rejected: its decoding error's case, as the `kind` label of the rejected-records counter.
public enum RejectionKind: String, CaseIterable, Sendable {
    case notJSON = "not_json"
    case missingField = "missing_field"
    case badField = "bad_field"
}

extension TransactionEvent.DecodeError {
    public var kind: RejectionKind {
        switch self {
        case .notJSON: .notJSON
        case .missingField: .missingField
        case .badField: .badField
        }
    }
}

extension Duration {
    /// Whole nanoseconds, as swift-metrics timers take them.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

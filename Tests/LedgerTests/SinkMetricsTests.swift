import Foundation
import KafkaProtocol
import MetricsTestKit
import SQLiteStore
import Testing

@testable import Ledger

/// The sink's metrics count what committed (never what rolled back), by kind, and its lag goes to 0 exactly when
/// everything the consumer has seen is applied.
@Suite struct SinkMetricsTests {
    func withDatabase(_ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try body(path)
    }

    func records(_ csv: String, partition: Int32 = 0, from offset: Int64 = 0) -> [SinkRecord] {
        TransactionCSV(bytes: Array(csv.utf8), file: "t").rows.enumerated().map { index, row in
            SinkRecord(topic: "transactions", partition: partition, offset: offset + Int64(index), bytes: Array(row.event.jsonText.utf8))
        }
    }

    func counter(_ test: TestMetrics, _ label: String, _ dimensions: [(String, String)] = []) throws -> Int64 {
        try test.expectCounter(label, dimensions).totalValue
    }

    /// The issue's inconsistent sample: the last row states 8305 where the history gives 830.
    let inconsistent = "transaction_date;account;transaction_value;balance\n01/01/2024;C100;1000;1000\n02/01/2024;C200;2500;2500\n03/01/2024;C200;-200;2300\n04/01/2024;C100;-25;975\n05/01/2024;C100;-145;8305"

    @Test func aCommittedBatchCountsItsRecordsIssuesAndRejectionsByKind() throws {
        try withDatabase { path in
            let test = TestMetrics()
            let metrics = SinkMetrics(factory: test)
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path), metrics: metrics)
            var batch = records(inconsistent + "\n06/01/2024;D;-5;")
            let bad = ["not json", #"{"account":"A","transaction_value":"1"}"#,
                       #"{"transaction_date":"yesterday","account":"A","transaction_value":"1"}"#]
            for (index, value) in bad.enumerated() {
                batch.append(SinkRecord(topic: "transactions", partition: 0, offset: 6 + Int64(index), bytes: Array(value.utf8)))
            }
            let report = try sink.apply(batch)
            #expect(report.applied == 6 && report.rejected == 3)
            #expect(report.rejectedByKind == [.notJSON: 1, .missingField: 1, .badField: 1])

            #expect(try counter(test, "ledgerstream_sink_records_applied_total") == 6)
            #expect(try counter(test, "ledgerstream_sink_batches_total") == 1)
            #expect(try test.expectTimer("ledgerstream_sink_batch_duration_seconds").values.count == 1)
            #expect(try test.expectTimer("ledgerstream_sink_sqlite_commit_seconds").values.count == 1)
            let issues = "ledgerstream_sink_reconciliation_issues_total"
            #expect(try counter(test, issues, [("kind", "balance_mismatch")]) == 1)
            #expect(try counter(test, issues, [("kind", "negative_balance")]) == 1)
            let rejected = "ledgerstream_sink_rejected_records_total"
            for kind in ["not_json", "missing_field", "bad_field"] { #expect(try counter(test, rejected, [("kind", kind)]) == 1) }
            // The next offset to apply, as stored in the ledger.
            #expect(metrics.partitions[TopicPartition(topic: "transactions", partition: 0)]?.applied == 9)

            // The same records again (a redelivery): nothing applied, all counted as duplicates.
            #expect(try sink.apply(batch).duplicates == 9)
            #expect(try counter(test, "ledgerstream_sink_records_applied_total") == 6)
            #expect(try counter(test, "ledgerstream_sink_records_skipped_total", [("reason", "duplicate")]) == 9)
            #expect(try counter(test, "ledgerstream_sink_batches_total") == 2)
        }
    }

    /// A batch that rolls back (the database locked by another writer) counts nothing: the counters follow the
    /// database, not the attempts.
    @Test func aBatchThatRollsBackCountsNothing() throws {
        try withDatabase { path in
            let test = TestMetrics()
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path, busyTimeoutMs: 50), metrics: SinkMetrics(factory: test))
            let blocker = try SQLiteDatabase.openFile(path: path, busyTimeoutMs: 0)
            try blocker.execute("BEGIN EXCLUSIVE")
            let batch = records("transaction_date;account;transaction_value\n02/01/2024;A;5\n")
            #expect(throws: SQLiteError.self) { try sink.apply(batch) }
            #expect(try counter(test, "ledgerstream_sink_records_applied_total") == 0)
            #expect(try counter(test, "ledgerstream_sink_batches_total") == 0)
            try blocker.execute("ROLLBACK")
            #expect(try sink.apply(batch).applied == 1)
            #expect(try counter(test, "ledgerstream_sink_records_applied_total") == 1)
        }
    }

    @Test func lagIsTheEndMinusWhatIsDone() {
        typealias Progress = SinkMetrics.PartitionProgress
        // Records polled but not yet committed: the ledger's offset counts.
        #expect(Progress(applied: 10, handed: 50, consumed: 50, logEnd: 80).lag == 70)
        // Everything polled is committed and the consumer moved past a transaction's commit marker: caught up.
        #expect(Progress(applied: 50, handed: 50, consumed: 51, logEnd: 51).lag == 0)
        // Nothing polled since the start (an empty partition, or one the ledger is level with).
        #expect(Progress(applied: 7, handed: nil, consumed: 7, logEnd: 7).lag == 0)
        // The end is not known before the first fetch response.
        #expect(Progress(applied: 7, handed: nil, consumed: 7, logEnd: nil).lag == nil)
        // An end read before records the consumer has already seen is never a negative lag.
        #expect(Progress(applied: 60, handed: 60, consumed: 60, logEnd: 55).lag == 0)
    }

    @Test func readinessFollowsTheSinkFromOpeningToCaughtUp() throws {
        try withDatabase { path in
            let test = TestMetrics()
            let metrics = SinkMetrics(factory: test)
            let partition = TopicPartition(topic: "transactions", partition: 0)
            #expect(metrics.notReadyReason(maxLag: 1000) == "database not open")
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path), metrics: metrics)
            #expect(metrics.notReadyReason(maxLag: 1000) == "sink not running")
            metrics.running(true)
            #expect(metrics.notReadyReason(maxLag: 1000) == "not yet assigned partitions")
            metrics.assigned([partition: 0])
            #expect(metrics.notReadyReason(maxLag: 1000)?.hasPrefix("log end of transactions-0 not known yet") == true)
            // No lag series before the end is known (a gauge would read 0: "caught up").
            metrics.collect()
            let labels = [("topic", "transactions"), ("partition", "0")]
            #expect(throws: (any Error).self) { try test.expectGauge("ledgerstream_sink_lag_records", labels) }
            metrics.polled(handed: [partition: 5], consumed: [partition: 5], logEnds: [partition: 2005])
            #expect(metrics.notReadyReason(maxLag: 1000) == "lag 2005 records > 1000")

            metrics.collect()
            #expect(try test.expectGauge("ledgerstream_sink_lag_records", labels).lastValue == 2005)
            #expect(try test.expectGauge("ledgerstream_sink_log_end_offset", labels).lastValue == 2005)
            #expect(try test.expectGauge("ledgerstream_sink_applied_offset", labels).lastValue == 0)

            // The five polled records commit; the rest of the partition is a transaction's commit marker, which the
            // consumer moved past: lag 0.
            _ = try sink.apply(records("transaction_date;account;transaction_value\n" + String(repeating: "01/01/2024;A;1\n", count: 5)))
            metrics.polled(handed: [partition: 5], consumed: [partition: 6], logEnds: [partition: 6])
            #expect(metrics.notReadyReason(maxLag: 0) == nil)
            metrics.collect()
            #expect(try test.expectGauge("ledgerstream_sink_lag_records", labels).lastValue == 0)
            #expect(try test.expectGauge("ledgerstream_sink_applied_offset", labels).lastValue == 5)
            metrics.running(false)
            #expect(metrics.notReadyReason(maxLag: 1000) == "sink not running")
        }
    }

    /// With the no-op factory nothing is kept: no partition bookkeeping behind a sink whose metrics are off.
    @Test func disabledMetricsKeepNothing() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            _ = try sink.apply(records("transaction_date;account;transaction_value\n01/01/2024;A;1\n"))
            #expect(!SinkMetrics.disabled.isEnabled)
            #expect(SinkMetrics.disabled.partitions.isEmpty)
        }
    }
}

import Ledger
import LedgerDomain
import Logging
import NIOCore
import PostgresNIO

/// A batch's rows for one table, column by column, inserted with one statement (see ``PostgresArrayColumn``).
protocol PostgresBatchRows {
    var count: Int { get }
    func insert(on connection: PostgresConnection, logger: Logger) async throws
}

/// The position every row of a batch carries: topic, partition, offset.
struct RecordPositionColumns {
    var topic: PostgresArrayColumn
    var partition: PostgresArrayColumn
    var offset: PostgresArrayColumn

    init(capacity: Int) {
        topic = PostgresArrayColumn(.text, capacity: capacity * 16)
        partition = PostgresArrayColumn(.int4, capacity: capacity * 8)
        offset = PostgresArrayColumn(.int8, capacity: capacity * 12)
    }

    mutating func append(_ record: SinkRecord) {
        topic.append(text: record.topic)
        partition.append(record.partition)
        offset.append(record.offset)
    }
}

/// Entries for `ledger_postings`.
struct PostingRows: PostgresBatchRows {
    private var position: RecordPositionColumns
    private var date: PostgresArrayColumn
    private var account: PostgresArrayColumn
    private var type: PostgresArrayColumn
    private var amount: PostgresArrayColumn
    private var balance: PostgresArrayColumn
    private var statedBalance: PostgresArrayColumn
    private var sourceID: PostgresArrayColumn
    private var sourceLine: PostgresArrayColumn

    init(capacity: Int) {
        position = RecordPositionColumns(capacity: capacity)
        date = PostgresArrayColumn(.timestamp, capacity: capacity * 12)
        account = PostgresArrayColumn(.text, capacity: capacity * 12)
        type = PostgresArrayColumn(.text, capacity: capacity * 14)
        amount = PostgresArrayColumn(.int8, capacity: capacity * 12)
        balance = PostgresArrayColumn(.int8, capacity: capacity * 12)
        statedBalance = PostgresArrayColumn(.int8, capacity: capacity * 12)
        sourceID = PostgresArrayColumn(.int8, capacity: capacity * 12)
        sourceLine = PostgresArrayColumn(.int8, capacity: capacity * 12)
    }

    var count: Int { position.offset.count }

    mutating func append(_ record: SinkRecord, _ entry: LedgerBatchPlanner.Entry) {
        let event = entry.event
        position.append(record)
        date.append(event.date)
        account.append(text: event.account)
        type.append(text: event.type == .deposit ? "deposit" : "withdrawal")
        amount.append(event.amount.cents)
        balance.append(entry.balance.cents)
        statedBalance.append(event.statedBalance?.cents)
        sourceID.append(entry.source?.id)
        sourceLine.append(entry.source?.line)
    }

    func insert(on connection: PostgresConnection, logger: Logger) async throws {
        guard count > 0 else { return }
        try await connection.statement("""
            INSERT INTO ledger_postings (topic, partition, "offset", transaction_date, account, transaction_type, amount_cents,
                                         balance_cents, stated_balance_cents, source_id, source_line)
            SELECT * FROM unnest(\(position.topic), \(position.partition), \(position.offset), \(date), \(account), \(type),
                                 \(amount), \(balance), \(statedBalance), \(sourceID), \(sourceLine))
            """, logger: logger)
    }
}

/// Reconciliation issues for `reconciliation_issues`.
struct IssueRows: PostgresBatchRows {
    private var position = RecordPositionColumns(capacity: 0)
    private var kind = PostgresArrayColumn(.text)
    private var account = PostgresArrayColumn(.text)
    private var date = PostgresArrayColumn(.timestamp)
    private var statedBalance = PostgresArrayColumn(.int8)
    private var derivedBalance = PostgresArrayColumn(.int8)

    var count: Int { position.offset.count }

    mutating func append(_ record: SinkRecord, _ entry: LedgerBatchPlanner.Entry, kind: String) {
        position.append(record)
        self.kind.append(text: kind)
        account.append(text: entry.event.account)
        date.append(entry.event.date)
        statedBalance.append(entry.event.statedBalance?.cents)
        derivedBalance.append(entry.balance.cents)
    }

    func insert(on connection: PostgresConnection, logger: Logger) async throws {
        guard count > 0 else { return }
        try await connection.statement("""
            INSERT INTO reconciliation_issues (topic, partition, "offset", kind, account, transaction_date, stated_balance_cents,
                                               derived_balance_cents)
            SELECT * FROM unnest(\(position.topic), \(position.partition), \(position.offset), \(kind), \(account), \(date),
                                 \(statedBalance), \(derivedBalance))
            """, logger: logger)
    }
}

/// Records the sink could not apply, for `rejected_records`.
struct RejectedRows: PostgresBatchRows {
    private var position = RecordPositionColumns(capacity: 0)
    private var reason = PostgresArrayColumn(.text)
    private var value = PostgresArrayColumn(.text)

    var count: Int { position.offset.count }

    /// The value is kept as text, its first 4 KiB (invalid UTF-8 repaired), to show what was wrong with it.
    mutating func append(_ record: SinkRecord, reason: String) {
        position.append(record)
        self.reason.append(text: reason)
        value.append(text: record.value.map { String(decoding: $0.readableBytesView.prefix(4096), as: UTF8.self) })
    }

    func insert(on connection: PostgresConnection, logger: Logger) async throws {
        guard count > 0 else { return }
        try await connection.statement("""
            INSERT INTO rejected_records (topic, partition, "offset", reason, value)
            SELECT * FROM unnest(\(position.topic), \(position.partition), \(position.offset), \(reason), \(value))
            """, logger: logger)
    }
}

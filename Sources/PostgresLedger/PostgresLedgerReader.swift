import Ledger
import Logging
import PostgresNIO
import Synchronization

/// `report` and `shell` on a PostgreSQL ledger: the same reads as ``LedgerQueries`` on SQLite, with the same results
/// for the same ledger, on one connection.
///
/// Read-only: the connection's transactions are read-only by default and the schema is never migrated (a database
/// the sink has not filled is ``PostgresLedgerError/noLedger(_:)``). Where SQLite's results depend on SQLite's ways,
/// the queries here reproduce them:
/// - names sort by bytes (`COLLATE "C"`), as SQLite's default collation does, whatever the database's locale;
/// - dates are read as text with `to_char(…, 'YYYY-MM-DD HH24:MI:SS')`, the text the SQLite sink stores;
/// - a day range is [from 00:00, to + 1 day 00:00), what SQLite's text comparison with `date(to, '+1 day')` selects;
/// - the balance series' slices are computed from SQLite's Julian day (integer milliseconds divided by 86 400 000 in
///   double precision), so every entry lands in the same slice.
public final class PostgresLedgerReader: LedgerReading, Sendable {
    /// The server and database, without password, for messages.
    public let location: String
    let logger: Logger
    private let connector: PostgresConnector
    /// The connection, replaced when the server closed it, and whether a snapshot (a transaction) is open on it.
    private let state: Mutex<(connection: PostgresConnection, inSnapshot: Bool, lost: Bool)>

    /// Read-only by default: a reader that tried to write would be refused by the server.
    static let sessionSettings = ["SET default_transaction_read_only = on"]

    /// Connects and checks that the database holds a ledger. `applicationName` is what pg_stat_activity shows
    /// (`ledgerstream-report`, `ledgerstream-shell`).
    public init(url: PostgresURL, environment: [String: String], applicationName: String, logger: Logger) async throws {
        location = url.description
        self.logger = logger
        connector = PostgresConnector(url: url, environment: environment, applicationName: applicationName,
                                      sessionSettings: Self.sessionSettings, logger: logger)
        let connection = try await connector.connect(logger: logger)
        state = Mutex((connection, false, false))
        do {
            let rows = try await connection.query("SELECT to_regclass('ledger_postings') IS NOT NULL", logger: logger)
            var found = false
            for try await exists in rows.decode(Bool.self) { found = exists }
            guard found else { throw PostgresLedgerError.noLedger(location) }
        } catch {
            try? await connection.close()
            throw PostgresLedgerStore.describe(error, server: location)
        }
    }

    public func close() async {
        try? await state.withLock { $0.connection }.close()
    }

    /// The connection, or a new one when the server has closed it (it stopped or restarted, or ended the session):
    /// postgres-nio writes a query to a closed connection and then waits forever for its answer, so a long-running
    /// reader (`report --follow`, the web dashboard) would hang where it should carry on once the server is back. A
    /// snapshot cannot move to another connection: inside one, a closed connection is an error.
    func currentConnection() async throws -> PostgresConnection {
        let (connection, inSnapshot, lost) = state.withLock { ($0.connection, $0.inSnapshot, $0.lost) }
        guard connection.isClosed else { return connection }
        guard !inSnapshot else { throw PostgresLedgerError.unreachable(location, "the connection closed during a read") }
        if !lost {
            logger.warning("the PostgreSQL connection was closed: reconnecting at the next read", metadata: ["server": "\(location)"])
            state.withLock { $0.lost = true }
        }
        let fresh = try await connector.connect(logger: logger)
        logger.warning("reconnected to PostgreSQL", metadata: ["server": "\(location)"])
        state.withLock {
            $0.connection = fresh
            $0.lost = false
        }
        return fresh
    }

    /// Runs `body` with a PostgreSQL error turned into one that names the server.
    func reading<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw PostgresLedgerStore.describe(error, server: location)
        }
    }

    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await currentConnection().query(query, logger: logger)
    }

    /// One REPEATABLE READ, READ ONLY transaction: every read in `body` sees the snapshot its first read took.
    public func withSnapshot<T>(_ body: () async throws -> T) async throws -> T {
        _ = try await reading { try await query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") }
        state.withLock { $0.inSnapshot = true }
        defer { state.withLock { $0.inSnapshot = false } }
        do {
            let value = try await body()
            _ = try await reading { try await query("COMMIT") }
            return value
        } catch {
            _ = try? await query("ROLLBACK")
            throw error
        }
    }

    /// The sum of every partition's next offset. It catches every commit that changes what `report` shows: a sink
    /// writes its entries, issues, rejected records and account totals in the same transaction as the next offsets
    /// of the records they came from, and those only move forward, so each such commit raises the sum. It reads
    /// one row per partition.
    public func changeCounter() async throws -> Int64 {
        try await reading {
            try await single(query("SELECT COALESCE(SUM(next_offset), 0)::bigint FROM sink_offsets"), Int64.self)
        }
    }

    /// The value of a query that returns one row of one column.
    func single<T: PostgresDecodable & Sendable>(_ rows: PostgresRowSequence, _ type: T.Type) async throws -> T {
        var value: T?
        for try await decoded in rows.decode(T.self) { value = decoded }
        guard let value else { throw PostgresLedgerError.server(location, "a query that returns one row returned none") }
        return value
    }

    public func ledgerSize() async throws -> (entries: Int, accounts: Int) {
        try await reading {
            let rows = try await query("SELECT COALESCE(SUM(entries), 0)::bigint, COUNT(*) FROM account_balances")
            for try await (entries, accounts) in rows.decode((Int64, Int64).self) { return (Int(entries), Int(accounts)) }
            return (0, 0)
        }
    }

    public func rejectedCount() async throws -> Int {
        try await reading { Int(try await single(query("SELECT COUNT(*) FROM rejected_records"), Int64.self)) }
    }

    /// `updated_at` in UTC with milliseconds, as SQLite's `strftime('%Y-%m-%d %H:%M:%f', 'now')` writes it.
    public func sinkPositions() async throws -> [SinkPosition] {
        try await reading {
            let rows = try await query("""
                SELECT topic, partition, next_offset, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')
                FROM sink_offsets ORDER BY topic COLLATE "C", partition
                """)
            var result: [SinkPosition] = []
            for try await (topic, partition, next, updated) in rows.decode((String, Int32, Int64, String).self) {
                result.append(SinkPosition(topic: topic, partition: partition, nextOffset: next, updatedAt: updated))
            }
            return result
        }
    }

    /// `last_transaction_date` as text ("" when unknown), the way the SQLite ledger stores it.
    public func accounts() async throws -> [AccountSummary] {
        try await reading {
            let rows = try await query("""
                SELECT account, balance_cents, entries, to_char(last_transaction_date, 'YYYY-MM-DD HH24:MI:SS')
                FROM account_balances ORDER BY account COLLATE "C"
                """)
            var result: [AccountSummary] = []
            for try await (account, balance, entries, last) in rows.decode((String, Int64, Int64, String?).self) {
                result.append(AccountSummary(account: account, balance: Money(cents: balance), entries: Int(entries), lastDate: last ?? ""))
            }
            return result
        }
    }

    /// Reads the primary key backwards and stops at the `count`th entry of the account, as SQLite does. A negative
    /// count is no limit (SQLite's `LIMIT -1`).
    public func history(account: String, count: Int) async throws -> [LedgerEntry] {
        let limit: Int64? = count < 0 ? nil : Int64(count)
        return try await reading {
            try await entries(query("""
                SELECT \(unescaped: Self.entryColumns) FROM (
                    SELECT * FROM ledger_entries WHERE account = \(account) ORDER BY entry_id DESC LIMIT \(limit)) AS latest
                ORDER BY entry_id
                """))
        }
    }

    /// The columns of a ``LedgerEntry``, in ``entries(_:)``'s order.
    static let entryColumns = """
        to_char(transaction_date, 'YYYY-MM-DD HH24:MI:SS'), account, transaction_type, amount_cents, balance_cents, \
        stated_balance_cents, topic, partition, "offset"
        """

    /// Decodes rows of ``entryColumns``, calling `body` with each.
    func forEachEntry(_ rows: PostgresRowSequence, _ body: (LedgerEntry) throws -> Void) async throws {
        for try await (date, account, type, amount, balance, stated, topic, partition, offset)
            in rows.decode((String, String, String, Int64, Int64, Int64?, String, Int32, Int64).self) {
            try body(LedgerEntry(
                date: TransactionDate(parsing: date) ?? TransactionDate(year: 1, month: 1, day: 1), account: account,
                type: TransactionType(rawValue: type) ?? .deposit, amount: Money(cents: amount), balance: Money(cents: balance),
                statedBalance: stated.map { Money(cents: $0) }, topic: topic, partition: partition, offset: offset))
        }
    }

    func entries(_ rows: PostgresRowSequence) async throws -> [LedgerEntry] {
        var result: [LedgerEntry] = []
        try await forEachEntry(rows) { result.append($0) }
        return result
    }
}

import SQLiteStore

/// One point of an account's balance history: the balance after the entry applied last in its time slice.
public struct BalancePoint: Sendable, Equatable {
    public var date: TransactionDate
    public var balance: Money

    public init(date: TransactionDate, balance: Money) {
        self.date = date
        self.balance = balance
    }
}

/// An account's balance over a period, thinned to at most a fixed number of points (see
/// ``LedgerQueries/balanceSeries(accounts:from:to:slices:)``).
public struct BalanceSeries: Sendable, Equatable {
    public var account: String
    /// Entries of the account in the period (all of them, not only those kept as points).
    public var entries: Int
    /// Oldest first.
    public var points: [BalancePoint]

    public init(account: String, entries: Int, points: [BalancePoint]) {
        self.account = account
        self.entries = entries
        self.points = points
    }
}

/// Counts of reconciliation issues by kind.
public struct IssueCounts: Sendable, Equatable {
    public var balanceMismatches: Int
    public var negativeBalances: Int

    public init(balanceMismatches: Int, negativeBalances: Int) {
        self.balanceMismatches = balanceMismatches
        self.negativeBalances = negativeBalances
    }
}

/// Queries for `ledgerstream report`. Each is bounded in what it returns (a page of rows, a thinned series, counts),
/// so a report on a ledger of millions of entries stays small; those with dates scan `ledger_entries` once (it has no
/// secondary index, see ``LedgerDatabase``), those without read the maintained `account_balances` instead.
extension LedgerQueries {
    /// Entries and accounts from `account_balances`, kept in step with `ledger_entries` by the sink: no table scan.
    public func ledgerSize() throws -> (entries: Int, accounts: Int) {
        let statement = try database.prepare("SELECT COALESCE(SUM(entries), 0), COUNT(*) FROM account_balances")
        _ = try statement.step()
        return (statement.int(0), statement.int(1))
    }

    /// Runs `body`'s queries in one read transaction, so they all see the same committed state even while the sink
    /// writes (WAL readers keep their snapshot): a report's header, tables and charts then agree with each other.
    public func withSnapshot<T>(_ body: () throws -> T) throws -> T {
        try database.execute("BEGIN DEFERRED")
        do {
            let value = try body()
            try database.execute("COMMIT")
            return value
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    /// A number that changes whenever another connection commits to the database (SQLite's `data_version`): a
    /// change check that costs no read of any table, for `report --follow` to poll.
    public func changeCounter() throws -> Int64 {
        let statement = try database.prepare("PRAGMA data_version")
        _ = try statement.step()
        return statement.int64(0)
    }

    private static let reportEntryColumns = """
        transaction_date, account, transaction_type, amount_cents, balance_cents, stated_balance_cents, topic, partition, offset
        """

    private static func entry(_ statement: Statement) -> LedgerEntry {
        LedgerEntry(
            date: TransactionDate(parsing: statement.string(0) ?? "") ?? TransactionDate(year: 1, month: 1, day: 1),
            account: statement.string(1) ?? "", type: TransactionType(rawValue: statement.string(2) ?? "") ?? .deposit,
            amount: Money(cents: statement.int64(3)), balance: Money(cents: statement.int64(4)),
            statedBalance: statement.isNull(5) ? nil : Money(cents: statement.int64(5)),
            topic: statement.string(6) ?? "", partition: Int32(statement.int64(7)), offset: statement.int64(8))
    }

    /// The WHERE clause for an inclusive day range ("YYYY-MM-DD"), and its values to bind in order.
    private static func dateRange(from: String?, to: String?) -> (sql: String, values: [String]) {
        var conditions: [String] = []
        var values: [String] = []
        if let from {
            conditions.append("transaction_date >= ?")
            values.append(from)
        }
        if let to {
            conditions.append("transaction_date < date(?, '+1 day')")
            values.append(to)
        }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), values)
    }

    /// The `limit` latest entries between two days (inclusive, "YYYY-MM-DD"; nil is open), by date then by the order
    /// applied, returned oldest first; `limit` nil returns them all. One scan keeping only the latest `limit`.
    public func latestTransactions(from: String? = nil, to: String? = nil, limit: Int?) throws -> [LedgerEntry] {
        let range = Self.dateRange(from: from, to: to)
        let sql: String
        if let limit {
            sql = """
                SELECT \(Self.reportEntryColumns) FROM (
                    SELECT \(Self.reportEntryColumns), entry_id FROM ledger_entries\(range.sql)
                    ORDER BY transaction_date DESC, entry_id DESC LIMIT \(max(0, limit)))
                ORDER BY transaction_date, entry_id
                """
        } else {
            sql = "SELECT \(Self.reportEntryColumns) FROM ledger_entries\(range.sql) ORDER BY transaction_date, entry_id"
        }
        let statement = try database.prepare(sql)
        for (index, value) in range.values.enumerated() { try statement.bind(Int32(index + 1), value) }
        var result: [LedgerEntry] = []
        while try statement.step() { result.append(Self.entry(statement)) }
        return result
    }

    /// One page of the entries between two days (inclusive; nil is open) in `sort`'s order, after `offset` of them.
    /// There is no index on the sorted columns (the sink's write speed comes first): SQLite scans the period once,
    /// keeping the best `offset + limit` rows.
    public func transactionPage(from: String? = nil, to: String? = nil, sort: TransactionSort, offset: Int, limit: Int) throws -> [LedgerEntry] {
        let range = Self.dateRange(from: from, to: to)
        let statement = try database.prepare(
            "SELECT \(Self.reportEntryColumns) FROM ledger_entries\(range.sql) ORDER BY \(sort.orderBy()) LIMIT \(max(0, limit)) OFFSET \(max(0, offset))")
        for (index, value) in range.values.enumerated() { try statement.bind(Int32(index + 1), value) }
        var result: [LedgerEntry] = []
        while try statement.step() { result.append(Self.entry(statement)) }
        return result
    }

    /// Calls `body` with every entry between two days (inclusive; nil is open), by date then by the order applied,
    /// without holding them all in memory (`report --format csv` of a whole ledger).
    public func forEachTransaction(from: String? = nil, to: String? = nil, _ body: (LedgerEntry) throws -> Void) throws {
        let range = Self.dateRange(from: from, to: to)
        let statement = try database.prepare(
            "SELECT \(Self.reportEntryColumns) FROM ledger_entries\(range.sql) ORDER BY transaction_date, entry_id")
        for (index, value) in range.values.enumerated() { try statement.bind(Int32(index + 1), value) }
        while try statement.step() { try body(Self.entry(statement)) }
    }

    /// How many entries lie between two days (inclusive; nil is open). Without dates this is ``ledgerSize()``'s
    /// count, read without a scan.
    public func transactionCount(from: String? = nil, to: String? = nil) throws -> Int {
        if from == nil && to == nil { return try ledgerSize().entries }
        let range = Self.dateRange(from: from, to: to)
        let statement = try database.prepare("SELECT COUNT(*) FROM ledger_entries\(range.sql)")
        for (index, value) in range.values.enumerated() { try statement.bind(Int32(index + 1), value) }
        _ = try statement.step()
        return statement.int(0)
    }

    /// The balance history of some accounts (nil: every account) between two days (inclusive; nil is open), in the
    /// order of `accounts` (by name for every account).
    ///
    /// The period the accounts' entries span is cut into `slices` equal time slices, and each slice keeps the
    /// balance after the entry applied last in it (SQLite returns the other columns of the row that gives `MAX()`):
    /// at most `slices` points per account whatever the ledger's size, in two scans of `ledger_entries`. An account
    /// named without entries in the period gets an empty series.
    public func balanceSeries(accounts: [String]?, from: String? = nil, to: String? = nil, slices: Int) throws -> [BalanceSeries] {
        if accounts?.isEmpty == true { return [] }
        var range = Self.dateRange(from: from, to: to)
        if let accounts {
            let placeholders = Array(repeating: "?", count: accounts.count).joined(separator: ", ")
            let accountCondition = "account IN (\(placeholders))"
            range.sql += range.sql.isEmpty ? " WHERE \(accountCondition)" : " AND \(accountCondition)"
            range.values += accounts
        }

        let span = try database.prepare(
            "SELECT julianday(MIN(transaction_date)), julianday(MAX(transaction_date)) FROM ledger_entries\(range.sql)")
        for (index, value) in range.values.enumerated() { try span.bind(Int32(index + 1), value) }
        _ = try span.step()
        var byAccount: [String: BalanceSeries] = [:]
        if !span.isNull(0) {
            let first = span.double(0)
            let length = span.double(1) - first
            let scale = length > 0 ? Double(max(1, slices)) / length : 0
            let statement = try database.prepare("""
                SELECT account, MIN(CAST((julianday(transaction_date) - ?) * ? AS INTEGER), ?) AS slice, MAX(entry_id),
                       transaction_date, balance_cents, COUNT(*)
                FROM ledger_entries\(range.sql) GROUP BY account, slice ORDER BY account, slice
                """)
            try statement.bind(1, first)
            try statement.bind(2, scale)
            try statement.bind(3, max(0, slices - 1))
            for (index, value) in range.values.enumerated() { try statement.bind(Int32(index + 4), value) }
            while try statement.step() {
                let account = statement.string(0) ?? ""
                let date = TransactionDate(parsing: statement.string(3) ?? "") ?? TransactionDate(year: 1, month: 1, day: 1)
                var series = byAccount[account] ?? BalanceSeries(account: account, entries: 0, points: [])
                series.points.append(BalancePoint(date: date, balance: Money(cents: statement.int64(4))))
                series.entries += statement.int(5)
                byAccount[account] = series
            }
        }
        guard let accounts else { return byAccount.values.sorted { $0.account < $1.account } }
        return accounts.map { byAccount[$0] ?? BalanceSeries(account: $0, entries: 0, points: []) }
    }

    /// Reconciliation issues by kind (from the issues table, which only holds what went wrong).
    public func issueCounts() throws -> IssueCounts {
        let statement = try database.prepare("""
            SELECT COALESCE(SUM(kind = 'balance_mismatch'), 0), COALESCE(SUM(kind = 'negative_balance'), 0)
            FROM reconciliation_issues
            """)
        _ = try statement.step()
        return IssueCounts(balanceMismatches: statement.int(0), negativeBalances: statement.int(1))
    }

    /// The `limit` latest reconciliation issues (all when nil), oldest first, in ``issues()``'s order.
    public func latestIssues(limit: Int?) throws -> [ReconciliationIssue] {
        let columns = "kind, account, transaction_date, stated_balance_cents, derived_balance_cents, topic, partition, offset"
        let sql = limit.map { limit in
            """
            SELECT * FROM (SELECT \(columns) FROM reconciliation_issues
                           ORDER BY transaction_date DESC, topic DESC, partition DESC, offset DESC, kind DESC LIMIT \(max(0, limit)))
            ORDER BY transaction_date, topic, partition, offset, kind
            """
        } ?? "SELECT \(columns) FROM reconciliation_issues ORDER BY transaction_date, topic, partition, offset, kind"
        let statement = try database.prepare(sql)
        var result: [ReconciliationIssue] = []
        while try statement.step() {
            result.append(ReconciliationIssue(
                kind: ReconciliationIssue.Kind(rawValue: statement.string(0) ?? "") ?? .balanceMismatch,
                account: statement.string(1) ?? "", date: statement.string(2) ?? "",
                stated: statement.isNull(3) ? nil : Money(cents: statement.int64(3)), derived: Money(cents: statement.int64(4)),
                topic: statement.string(5) ?? "", partition: Int32(statement.int64(6)), offset: statement.int64(7)))
        }
        return result
    }
}

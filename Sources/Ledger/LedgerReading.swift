/// What `report` and `shell` read from a ledger, whichever database holds it: ``LedgerQueries`` for SQLite, the
/// PostgreSQL reader for PostgreSQL. Every implementation returns the same values for the same ledger — the same
/// order, the same date filters, the same text for dates — so both commands print the same output on either.
///
/// `async` so that a networked database needs no blocking; SQLite's synchronous methods satisfy it as they are.
/// Dates are days "YYYY-MM-DD", inclusive; nil is open. Not `Sendable`: one reader serves one command, in order.
public protocol LedgerReading {
    /// Runs `body`'s reads so that they all see one committed state even while a sink writes: a report's header,
    /// tables and charts then agree with each other.
    func withSnapshot<T>(_ body: () async throws -> T) async throws -> T

    /// A number that changes whenever a sink commits to the ledger, cheap enough for `report --follow` to poll
    /// twice a second (no table scan).
    func changeCounter() async throws -> Int64

    /// Entries and accounts, from the maintained per-account totals (no scan of the entries).
    func ledgerSize() async throws -> (entries: Int, accounts: Int)
    func rejectedCount() async throws -> Int
    /// Each partition's next offset to apply and when it last moved (UTC, "YYYY-MM-DD HH:MM:SS.SSS"), by topic
    /// then partition.
    func sinkPositions() async throws -> [SinkPosition]
    func issueCounts() async throws -> IssueCounts
    /// The `limit` latest reconciliation issues (all when nil), oldest first, by date, topic, partition, offset, kind.
    func latestIssues(limit: Int?) async throws -> [ReconciliationIssue]

    /// The `limit` latest entries of the period (all when nil), by date then by the order applied, oldest first.
    func latestTransactions(from: String?, to: String?, limit: Int?) async throws -> [LedgerEntry]
    /// Calls `body` with every entry of the period in ``latestTransactions(from:to:limit:)``'s order, without holding
    /// them all in memory.
    func forEachTransaction(from: String?, to: String?, _ body: (LedgerEntry) throws -> Void) async throws
    func transactionCount(from: String?, to: String?) async throws -> Int
    /// One page of the period's entries in `sort`'s order, after skipping `offset` of them: the web dashboard's
    /// sortable, paged table.
    func transactionPage(from: String?, to: String?, sort: TransactionSort, offset: Int, limit: Int) async throws -> [LedgerEntry]
    /// Deposited and withdrawn per account in the period, by account name (byte order).
    func totals(from: String?, to: String?) async throws -> [AccountTotals]
    /// Each account's balance over the period, thinned to at most `slices` points (see
    /// ``LedgerQueries/balanceSeries(accounts:from:to:slices:)``, whose result every reader reproduces exactly).
    func balanceSeries(accounts: [String]?, from: String?, to: String?, slices: Int) async throws -> [BalanceSeries]

    /// Every account with its balance, entries and last date ("YYYY-MM-DD HH:MM:SS"), by name (byte order).
    func accounts() async throws -> [AccountSummary]
    /// The last `count` entries of an account, newest last.
    func history(account: String, count: Int) async throws -> [LedgerEntry]

    /// Releases the connection (the reader is not used after).
    func close() async
}

/// A column the transactions table can be sorted by, and the direction.
public struct TransactionSort: Sendable, Hashable {
    public enum Column: String, Sendable, CaseIterable {
        case date, account, type, amount, balance
    }

    public var column: Column
    public var descending: Bool

    public init(_ column: Column, descending: Bool) {
        self.column = column
        self.descending = descending
    }

    /// Newest first: what a dashboard shows before anyone sorts.
    public static let newestFirst = TransactionSort(.date, descending: true)

    /// The ORDER BY clause, the same for SQLite and PostgreSQL (`nameCollation` is PostgreSQL's ` COLLATE "C"`,
    /// which sorts names by bytes as SQLite does). Ties go by date, then by the order applied, in the same direction.
    public func orderBy(nameCollation: String = "") -> String {
        let direction = descending ? "DESC" : "ASC"
        let tail = "transaction_date \(direction), entry_id \(direction)"
        switch column {
        case .date: return tail
        case .account: return "account\(nameCollation) \(direction), " + tail
        case .type: return "transaction_type \(direction), " + tail
        case .amount: return "amount_cents \(direction), " + tail
        case .balance: return "balance_cents \(direction), " + tail
        }
    }
}

extension LedgerQueries: LedgerReading {
    public func withSnapshot<T>(_ body: () async throws -> T) async throws -> T {
        try database.execute("BEGIN DEFERRED")
        do {
            let value = try await body()
            try database.execute("COMMIT")
            return value
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    /// Nothing to do: the database closes when its last reference goes.
    public func close() async {}
}

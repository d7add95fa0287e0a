import Ledger

/// What a report covers: the period, the account charted, how many rows and accounts it shows. The text report, its
/// JSON and the web dashboard read the ledger through the same ``ReportData/load(from:query:)``, so they agree.
public struct ReportQuery: Sendable, Hashable {
    /// Inclusive days ("YYYY-MM-DD"); nil is open.
    public var period: ReportPeriod
    /// The account whose balance is charted; nil charts the `top` most active.
    public var account: String?
    /// Transactions and issues listed: the latest N; nil lists all.
    public var pageSize: Int?
    /// Accounts in the charts: the N most active in the period; 0 keeps them all.
    public var top: Int
    /// Where the ledger is, for the header (without password).
    public var location: String
    /// The `consume --sink` kind that fills the ledger ("sqlite", "postgres").
    public var sink: String
    /// Whether the latest transactions are listed (the web dashboard pages its own table instead, and saves the scan).
    public var listsTransactions = true

    /// The balance history keeps at most this many points per account (the charts are far narrower).
    public static let seriesSlices = 1000

    public init(period: ReportPeriod = ReportPeriod(), account: String? = nil, pageSize: Int? = 20, top: Int = 8,
                location: String, sink: String) {
        self.period = period
        self.account = account
        self.pageSize = pageSize
        self.top = top
        self.location = location
        self.sink = sink
    }
}

extension ReportData {
    /// Everything the report shows, read in one snapshot of the ledger: its header, tables and charts agree with each
    /// other even while a sink writes. Aggregated by the database; every list is bounded by `query`.
    public static func load(from reader: any LedgerReading, query: ReportQuery) async throws -> ReportData {
        try await reader.withSnapshot { try await loadSections(reader, query: query) }
    }

    private static func loadSections(_ reader: any LedgerReading, query: ReportQuery) async throws -> ReportData {
        let size = try await reader.ledgerSize()
        let header = ReportHeader(databasePath: query.location, entries: size.entries, accounts: size.accounts,
                                  rejectedRecords: try await reader.rejectedCount(),
                                  sinkPositions: try await reader.sinkPositions(), sink: query.sink)
        let period = query.period
        let reconciliation = ReconciliationSummary(counts: try await reader.issueCounts(),
                                                   latest: try await reader.latestIssues(limit: query.pageSize))
        guard size.entries > 0 else {
            let none = TransactionPage(entries: [], total: 0)
            return ReportData(header: header, recent: none, period: period, filtered: none,
                              activity: AccountActivity(accounts: [], omitted: 0),
                              balances: BalanceHistories(series: [], omitted: 0, chosenAccount: query.account),
                              reconciliation: reconciliation)
        }
        func latest(from: String?, to: String?) async throws -> [LedgerEntry] {
            query.listsTransactions ? try await reader.latestTransactions(from: from, to: to, limit: query.pageSize) : []
        }
        let recent = TransactionPage(entries: try await latest(from: nil, to: nil), total: size.entries)
        let filtered = period.isWholeLedger ? recent : TransactionPage(
            entries: try await latest(from: period.from, to: period.to),
            total: try await reader.transactionCount(from: period.from, to: period.to))
        let activity = AccountActivity.mostActive(try await reader.totals(from: period.from, to: period.to), count: query.top)
        let balances: BalanceHistories
        if let account = query.account {
            let series = try await reader.balanceSeries(accounts: [account], from: period.from, to: period.to,
                                                        slices: ReportQuery.seriesSlices)
            balances = BalanceHistories(series: series, omitted: 0, chosenAccount: account)
        } else {
            // Every active account drawn: one scan with no account list (which could outgrow SQLite's parameters).
            let series = try await reader.balanceSeries(accounts: activity.omitted == 0 ? nil : activity.accounts.map(\.account),
                                                        from: period.from, to: period.to, slices: ReportQuery.seriesSlices)
            balances = BalanceHistories(series: series, omitted: activity.omitted)
        }
        return ReportData(header: header, recent: recent, period: period, filtered: filtered, activity: activity,
                          balances: balances, reconciliation: reconciliation)
    }
}

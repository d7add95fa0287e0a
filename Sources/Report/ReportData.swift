import Ledger

/// Everything a report shows, read from the ledger database by the `report` command and handed to the renderers as
/// plain values (the renderers do no I/O, so each chart can be tested on fixed data).
///
/// Lists are already bounded by the command's options (`--limit`, `--top`): the counts of what was left out travel
/// with them, so every format can say so.
public struct ReportData: Sendable, Equatable {
    public var header: ReportHeader
    /// Section 1: the latest transactions of the whole ledger.
    public var recent: TransactionPage
    /// Section 2: the latest transactions of the chosen period (the whole ledger when no dates were given).
    public var period: ReportPeriod
    public var filtered: TransactionPage
    /// Sections 3 and 4: deposits and withdrawals (counts and amounts) of the most active accounts in the period.
    public var activity: AccountActivity
    /// Section 5: balance histories in the period.
    public var balances: BalanceHistories
    public var reconciliation: ReconciliationSummary

    public init(header: ReportHeader, recent: TransactionPage, period: ReportPeriod, filtered: TransactionPage,
                activity: AccountActivity, balances: BalanceHistories, reconciliation: ReconciliationSummary) {
        self.header = header
        self.recent = recent
        self.period = period
        self.filtered = filtered
        self.activity = activity
        self.balances = balances
        self.reconciliation = reconciliation
    }

    /// Nothing applied yet: the report is one line saying so.
    public var isEmpty: Bool { header.entries == 0 }
}

/// The database and the sink's progress.
public struct ReportHeader: Sendable, Equatable {
    public var databasePath: String
    public var entries: Int
    public var accounts: Int
    public var rejectedRecords: Int
    /// Per partition, the next offset the sink will apply.
    public var sinkPositions: [SinkPosition]
    /// The `consume --sink` kind that fills this database ("sqlite", "postgres"), for the empty ledger's hint.
    public var sink: String

    public init(databasePath: String, entries: Int, accounts: Int, rejectedRecords: Int, sinkPositions: [SinkPosition],
                sink: String = "sqlite") {
        self.databasePath = databasePath
        self.sink = sink
        self.entries = entries
        self.accounts = accounts
        self.rejectedRecords = rejectedRecords
        self.sinkPositions = sinkPositions
    }
}

/// The latest entries of a list, oldest first, and how many the list holds in all.
public struct TransactionPage: Sendable, Equatable {
    public var entries: [LedgerEntry]
    public var total: Int

    public init(entries: [LedgerEntry], total: Int) {
        self.entries = entries
        self.total = total
    }

    /// Earlier entries not shown.
    public var omitted: Int { max(0, total - entries.count) }
}

/// Inclusive days ("YYYY-MM-DD"); nil ends are open.
public struct ReportPeriod: Sendable, Hashable {
    public var from: String?
    public var to: String?

    public init(from: String? = nil, to: String? = nil) {
        self.from = from
        self.to = to
    }

    public var isWholeLedger: Bool { from == nil && to == nil }

    /// "all dates", "2024-01-02 to 2024-01-04", "from 2024-01-02", "up to 2024-01-04".
    public var description: String {
        switch (from, to) {
        case (nil, nil): return "all dates"
        case (let from?, nil): return "from \(from)"
        case (nil, let to?): return "up to \(to)"
        case (let from?, let to?): return from == to ? "on \(from)" : "\(from) to \(to)"
        }
    }
}

/// Per-account totals of the accounts shown, and how many others had activity in the period.
public struct AccountActivity: Sendable, Equatable {
    /// By account name.
    public var accounts: [AccountTotals]
    public var omitted: Int

    public init(accounts: [AccountTotals], omitted: Int) {
        self.accounts = accounts
        self.omitted = omitted
    }

    /// The `count` most active accounts (most transactions, then largest amounts, then name), by account name, and
    /// how many were left out; `count` 0 keeps them all.
    public static func mostActive(_ totals: [AccountTotals], count: Int) -> AccountActivity {
        let active = totals.filter { $0.deposits + $0.withdrawals > 0 }
        guard count > 0, active.count > count else {
            return AccountActivity(accounts: active.sorted { $0.account < $1.account }, omitted: 0)
        }
        let ranked = active.sorted { lhs, rhs in
            let (left, right) = (lhs.deposits + lhs.withdrawals, rhs.deposits + rhs.withdrawals)
            if left != right { return left > right }
            let (leftVolume, rightVolume) = (lhs.deposited + lhs.withdrawn, rhs.deposited + rhs.withdrawn)
            if leftVolume != rightVolume { return leftVolume > rightVolume }
            return lhs.account < rhs.account
        }
        return AccountActivity(accounts: ranked.prefix(count).sorted { $0.account < $1.account }, omitted: active.count - count)
    }
}

/// Balance histories of the accounts drawn.
public struct BalanceHistories: Sendable, Equatable {
    /// By account name.
    public var series: [BalanceSeries]
    /// Accounts with activity in the period that are not drawn.
    public var omitted: Int
    /// The account asked for with `--account`, if any.
    public var chosenAccount: String?

    public init(series: [BalanceSeries], omitted: Int, chosenAccount: String? = nil) {
        self.series = series
        self.omitted = omitted
        self.chosenAccount = chosenAccount
    }
}

/// Balance mismatches and negative balances: the counts, and the latest issues.
public struct ReconciliationSummary: Sendable, Equatable {
    public var counts: IssueCounts
    /// Oldest first.
    public var latest: [ReconciliationIssue]

    public init(counts: IssueCounts, latest: [ReconciliationIssue]) {
        self.counts = counts
        self.latest = latest
    }

    public var total: Int { counts.balanceMismatches + counts.negativeBalances }
    public var omitted: Int { max(0, total - latest.count) }
}

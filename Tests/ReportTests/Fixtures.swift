import Report

@testable import Ledger

/// Fixed report data: the original sample (data/client_transactions.csv) as the sink applies it, built as plain
/// values so each renderer's output can be compared with a snapshot.
enum Fixtures {
    static func date(_ text: String) -> TransactionDate { TransactionDate(parsing: text)! }

    static func entry(_ day: String, _ account: String, _ type: TransactionType, _ amount: Int64, _ balance: Int64,
                      stated: Int64? = nil, offset: Int64) -> LedgerEntry {
        LedgerEntry(date: date(day), account: account, type: type, amount: Money(cents: amount), balance: Money(cents: balance),
                    statedBalance: Money(cents: stated ?? balance), topic: "transactions", partition: 0, offset: offset)
    }

    /// The sample's five rows (amounts in cents).
    static let sampleEntries = [
        entry("2024-01-01", "C100", .deposit, 100_000, 100_000, offset: 0),
        entry("2024-01-02", "C200", .deposit, 250_000, 250_000, offset: 1),
        entry("2024-01-03", "C200", .withdrawal, 20_000, 230_000, offset: 2),
        entry("2024-01-04", "C100", .withdrawal, 2_500, 97_500, offset: 3),
        entry("2024-01-05", "C100", .withdrawal, 14_500, 83_000, offset: 4),
    ]

    static let sampleTotals = [
        AccountTotals(account: "C100", deposited: Money(cents: 100_000), withdrawn: Money(cents: 17_000), deposits: 1, withdrawals: 2),
        AccountTotals(account: "C200", deposited: Money(cents: 250_000), withdrawn: Money(cents: 20_000), deposits: 1, withdrawals: 1),
    ]

    static let sampleSeries = [
        BalanceSeries(account: "C100", entries: 3, points: [
            BalancePoint(date: date("2024-01-01"), balance: Money(cents: 100_000)),
            BalancePoint(date: date("2024-01-04"), balance: Money(cents: 97_500)),
            BalancePoint(date: date("2024-01-05"), balance: Money(cents: 83_000)),
        ]),
        BalanceSeries(account: "C200", entries: 2, points: [
            BalancePoint(date: date("2024-01-02"), balance: Money(cents: 250_000)),
            BalancePoint(date: date("2024-01-03"), balance: Money(cents: 230_000)),
        ]),
    ]

    static let header = ReportHeader(
        databasePath: "ledger.db", entries: 5, accounts: 2, rejectedRecords: 0,
        sinkPositions: [SinkPosition(topic: "transactions", partition: 0, nextOffset: 5, updatedAt: "2024-05-02 21:31:29.000")])

    static var sample: ReportData {
        let page = TransactionPage(entries: sampleEntries, total: 5)
        return ReportData(
            header: header, recent: page, period: ReportPeriod(), filtered: page,
            activity: AccountActivity(accounts: sampleTotals, omitted: 0),
            balances: BalanceHistories(series: sampleSeries, omitted: 0),
            reconciliation: ReconciliationSummary(counts: IssueCounts(balanceMismatches: 0, negativeBalances: 0), latest: []))
    }

    /// The sample with its known inconsistency: the last row states 8305 where the history gives 830.
    static var inconsistent: ReportData {
        var data = sample
        data.recent.entries[4].statedBalance = Money(cents: 830_500)
        data.filtered = data.recent
        data.reconciliation = ReconciliationSummary(
            counts: IssueCounts(balanceMismatches: 1, negativeBalances: 0),
            latest: [ReconciliationIssue(kind: .balanceMismatch, account: "C100", date: "2024-01-05 00:00:00",
                                         stated: Money(cents: 830_500), derived: Money(cents: 83_000),
                                         topic: "transactions", partition: 0, offset: 4)])
        return data
    }

    static var empty: ReportData {
        let none = TransactionPage(entries: [], total: 0)
        return ReportData(
            header: ReportHeader(databasePath: "ledger.db", entries: 0, accounts: 0, rejectedRecords: 0, sinkPositions: []),
            recent: none, period: ReportPeriod(), filtered: none, activity: AccountActivity(accounts: [], omitted: 0),
            balances: BalanceHistories(series: [], omitted: 0),
            reconciliation: ReconciliationSummary(counts: IssueCounts(balanceMismatches: 0, negativeBalances: 0), latest: []))
    }
}

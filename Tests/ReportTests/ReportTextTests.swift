import Testing

@testable import Ledger
@testable import Report

/// The whole text report: header, the five dashboards, reconciliation; the empty case; widths.
@Suite struct ReportTextTests {
    @Test func sampleAt100Columns() {
        expectSnapshot(ReportText.render(Fixtures.sample, width: 100, style: .plain), """
            ledgerstream report · ledger.db
            5 entries · 2 accounts · 0 rejected records
            sink next offsets: transactions-0 5

            ── Transactions ────────────────────────────────────────────────────────────────────────────────────
            date                 account  type          amount   balance
            ───────────────────  ───────  ──────────  ────────  ────────
            2024-01-01 00:00:00  C100     deposit     1,000.00  1,000.00
            2024-01-02 00:00:00  C200     deposit     2,500.00  2,500.00
            2024-01-03 00:00:00  C200     withdrawal    200.00  2,300.00
            2024-01-04 00:00:00  C100     withdrawal     25.00    975.00
            2024-01-05 00:00:00  C100     withdrawal    145.00    830.00

            ── Transactions by date ────────────────────────────────────────────────────────────────────────────
            No period chosen: --from YYYY-MM-DD and --to YYYY-MM-DD (inclusive) pick one; the charts below
            follow it.

            ── Transactions per account and type, all dates ────────────────────────────────────────────────────
            account     deposit       withdrawal
            C100     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ █████ 2 ██████
            C200     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ ▒▒▒▒▒ 1 ▒▒▒▒▒▒
            ░ ≤25% ▒ ≤50% ▓ ≤75% █ ≤100% of the largest count (2)

            ── Deposited and withdrawn per account, all dates ──────────────────────────────────────────────────
            account  █ deposited  ░ withdrawn                                               deposited  withdrawn
            C100     ██████████████████████████░░░░                                          1,000.00     170.00
            C200     ████████████████████████████████████████████████████████████████░░░░░   2,500.00     200.00

            ── Balance over time, all dates ────────────────────────────────────────────────────────────────────
            C100 · 3 entries · 1,000.00 → 830.00
            1,000.00 ┤⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠑⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠢⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀
                     │                                                                    ⠉⠑⠒⠤⣀⡀
                     │                                                                         ⠈⠉⠒⠢⠤⣀
                     │                                                                               ⠉⠑⠒⠤⢄⣀
              830.00 ┤                                                                                     ⠉⠒⠢⠤⣀
                     └──────────────────────────────────────────────────────────────────────────────────────────
                      2024-01-01                                                                      2024-01-05

            C200 · 2 entries · 2,500.00 → 2,300.00
            2,500.00 ┤⠉⠉⠑⠒⠒⠒⠒⠢⠤⠤⠤⠤⣀⣀⣀⣀⡀
                     │                ⠈⠉⠉⠉⠉⠑⠒⠒⠒⠒⠤⠤⠤⠤⠤⣀⣀⣀⣀⡀
                     │                                   ⠈⠉⠉⠉⠉⠑⠒⠒⠒⠒⠤⠤⠤⠤⢄⣀⣀⣀⣀⡀
                     │                                                      ⠈⠉⠉⠉⠉⠒⠒⠒⠒⠒⠤⠤⠤⠤⢄⣀⣀⣀⣀⡀
            2,300.00 ┤                                                                         ⠈⠉⠉⠉⠉⠒⠒⠒⠒⠢⠤⠤⠤⠤⢄⣀⣀
                     └──────────────────────────────────────────────────────────────────────────────────────────
                      2024-01-02                                                                      2024-01-03

            ── Reconciliation ──────────────────────────────────────────────────────────────────────────────────
            No balance mismatches and no negative balances.
            """)
    }

    /// An empty ledger is one line, not empty charts.
    @Test func emptyLedgerIsOneLine() {
        expectSnapshot(ReportText.render(Fixtures.empty, width: 100, style: TextStyle(colored: true)), """
            No transactions in ledger.db yet: they appear once `ledgerstream consume --sink sqlite --db ledger.db` applies some.
            """)
    }

    @Test func emptyLedgerMentionsRejectedRecords() {
        var data = Fixtures.empty
        data.header.rejectedRecords = 3
        expectSnapshot(ReportText.render(data, width: 100, style: .plain), """
            No transactions in ledger.db yet: they appear once `ledgerstream consume --sink sqlite --db ledger.db` applies some. (3 records were rejected: see its rejected_records table.)
            """)
    }

    /// A period: its table replaces the hint, and the chart titles name it (on a line of their own when narrow).
    @Test func periodAt40Columns() {
        var data = Fixtures.sample
        data.period = ReportPeriod(from: "2024-01-02", to: "2024-01-03")
        data.filtered = TransactionPage(entries: Array(Fixtures.sampleEntries[1...2]), total: 2)
        data.activity = AccountActivity(accounts: [
            AccountTotals(account: "C200", deposited: Money(cents: 250_000), withdrawn: Money(cents: 20_000), deposits: 1, withdrawals: 1),
        ], omitted: 0)
        data.balances = BalanceHistories(series: [Fixtures.sampleSeries[1]], omitted: 0)
        let lines = ReportText.render(data, width: 40, style: .plain)
        expectSnapshot(Array(lines[4...]), """

            ── Transactions ────────────────────────
            date        account    amount   balance
            ──────────  ───────  ────────  ────────
            2024-01-01  C100     1,000.00  1,000.00
            2024-01-02  C200     2,500.00  2,500.00
            2024-01-03  C200      -200.00  2,300.00
            2024-01-04  C100       -25.00    975.00
            2024-01-05  C100      -145.00    830.00

            ── Transactions ────────────────────────
            2024-01-02 to 2024-01-03
            date        account    amount   balance
            ──────────  ───────  ────────  ────────
            2024-01-02  C200     2,500.00  2,500.00
            2024-01-03  C200      -200.00  2,300.00

            ── Transactions per account and type ───
            2024-01-02 to 2024-01-03
            account     deposit       withdrawal
            C200     █████ 1 ██████ █████ 1 ██████
            ░ ≤25% ▒ ≤50% ▓ ≤75% █ ≤100%
            of the largest count (1)

            ── Deposited and withdrawn per account ─
            2024-01-02 to 2024-01-03
            account  deposited  withdrawn
            C200      2,500.00     200.00
              ███████████████████████████████████░░░
            █ deposited  ░ withdrawn

            ── Balance over time ───────────────────
            2024-01-02 to 2024-01-03
            C200 · 2 entries · 2,500.00 → 2,300.00
            2,500.00 ┤⠑⠢⢄⡀
                     │   ⠈⠑⠢⢄⡀
                     │       ⠈⠑⠢⣀
                     │           ⠉⠒⠤⣀
                     │               ⠉⠒⠤⣀
                     │                   ⠉⠢⢄⡀
                     │                      ⠈⠑⠢⢄⡀
            2,300.00 ┤                          ⠈⠑⠢⢄
                     └──────────────────────────────
                      2024-01-02          2024-01-03

            ── Reconciliation ──────────────────────
            No balance mismatches and no negative
            balances.
            """)
    }

    @Test func periodWithoutTransactions() {
        var data = Fixtures.sample
        data.period = ReportPeriod(from: "2023-01-01")
        data.filtered = TransactionPage(entries: [], total: 0)
        data.activity = AccountActivity(accounts: [], omitted: 0)
        data.balances = BalanceHistories(series: [], omitted: 0)
        let lines = ReportText.render(data, width: 80, style: .plain)
        expectSnapshot(Array(lines[lines.firstIndex { $0.hasPrefix("── Transactions, from") }!...]), """
            ── Transactions, from 2023-01-01 ───────────────────────────────────────────────
            No transactions in this period.

            ── Transactions per account and type, from 2023-01-01 ──────────────────────────
            No transactions in this period.

            ── Deposited and withdrawn per account, from 2023-01-01 ────────────────────────
            No transactions in this period.

            ── Balance over time, from 2023-01-01 ──────────────────────────────────────────
            No transactions in this period.

            ── Reconciliation ──────────────────────────────────────────────────────────────
            No balance mismatches and no negative balances.
            """)
    }

    @Test func headerListsEverySinkPartition() {
        var header = Fixtures.header
        header.rejectedRecords = 1
        header.entries = 1_234_567
        header.sinkPositions = (0..<6).map {
            SinkPosition(topic: "transactions", partition: $0, nextOffset: 200_000 + Int64($0), updatedAt: "")
        }
        expectSnapshot(ReportText.header(header, width: 60, style: .plain), """
            ledgerstream report · ledger.db
            1,234,567 entries · 2 accounts · 1 rejected record
            sink next offsets: transactions-0 200,000
                               transactions-1 200,001
                               transactions-2 200,002
                               transactions-3 200,003
                               transactions-4 200,004
                               transactions-5 200,005
            """)
    }

    @Test(arguments: [30, 33, 40, 47, 60, 80, 100, 120, 160])
    func everyLineFitsTheWidth(width: Int) {
        var data = Fixtures.inconsistent
        data.period = ReportPeriod(from: "2024-01-01", to: "2024-01-05")
        for line in ReportText.render(data, width: width, style: .plain) {
            #expect(line.count <= width, "\(line)")
        }
    }

    @Test func colourOnlyWhenAsked() {
        let plain = ReportText.render(Fixtures.inconsistent, width: 100, style: .plain).joined(separator: "\n")
        let colored = ReportText.render(Fixtures.inconsistent, width: 100, style: TextStyle(colored: true)).joined(separator: "\n")
        #expect(!plain.contains("\u{1B}"))
        #expect(colored.contains("\u{1B}[48;5;"))
        // The same text once the escapes are taken out (shading aside: colour replaces the heatmap's ░▒▓█).
        #expect(plain.split(separator: "\n").count == colored.split(separator: "\n").count)
    }
}

import Testing

@testable import Ledger
@testable import Report

/// Sections 1 and 2: the transactions table at various widths.
@Suite struct TransactionsTableTests {
    let page = TransactionPage(entries: Fixtures.sampleEntries, total: 5)

    @Test func sampleAt120Columns() {
        expectSnapshot(TransactionsTable.render(page, width: 120, style: .plain), """
            date                 account  type          amount   balance
            ───────────────────  ───────  ──────────  ────────  ────────
            2024-01-01 00:00:00  C100     deposit     1,000.00  1,000.00
            2024-01-02 00:00:00  C200     deposit     2,500.00  2,500.00
            2024-01-03 00:00:00  C200     withdrawal    200.00  2,300.00
            2024-01-04 00:00:00  C100     withdrawal     25.00    975.00
            2024-01-05 00:00:00  C100     withdrawal    145.00    830.00
            """)
    }

    /// Narrow: dates lose their time, the type column goes and withdrawals show as negative amounts.
    @Test func sampleAt40Columns() {
        expectSnapshot(TransactionsTable.render(page, width: 40, style: .plain), """
            date        account    amount   balance
            ──────────  ───────  ────────  ────────
            2024-01-01  C100     1,000.00  1,000.00
            2024-01-02  C200     2,500.00  2,500.00
            2024-01-03  C200      -200.00  2,300.00
            2024-01-04  C100       -25.00    975.00
            2024-01-05  C100      -145.00    830.00
            """)
    }

    /// At 30 columns the balance goes too.
    @Test func sampleAt30Columns() {
        expectSnapshot(TransactionsTable.render(page, width: 30, style: .plain), """
            date        account    amount
            ──────────  ───────  ────────
            2024-01-01  C100     1,000.00
            2024-01-02  C200     2,500.00
            2024-01-03  C200      -200.00
            2024-01-04  C100       -25.00
            2024-01-05  C100      -145.00
            """)
    }

    /// A stated balance that disagrees with the derived one gets a column of its own.
    @Test func statedBalanceMismatchIsShown() {
        expectSnapshot(TransactionsTable.render(Fixtures.inconsistent.recent, width: 100, style: .plain), """
            date                 account  type          amount   balance      stated
            ───────────────────  ───────  ──────────  ────────  ────────  ──────────
            2024-01-01 00:00:00  C100     deposit     1,000.00  1,000.00
            2024-01-02 00:00:00  C200     deposit     2,500.00  2,500.00
            2024-01-03 00:00:00  C200     withdrawal    200.00  2,300.00
            2024-01-04 00:00:00  C100     withdrawal     25.00    975.00
            2024-01-05 00:00:00  C100     withdrawal    145.00    830.00  ≠ 8,305.00
            """)
    }

    /// A large ledger shows its latest rows and says how many came before.
    @Test func saysHowManyEarlierTransactionsAreNotShown() {
        let latest = TransactionPage(entries: Array(Fixtures.sampleEntries.suffix(2)), total: 1_000_000)
        expectSnapshot(TransactionsTable.render(latest, width: 60, style: .plain), """
            … 999,998 earlier transactions not shown (--limit N shows
            the latest N, --limit 0 all)
            date                 account  type        amount  balance
            ───────────────────  ───────  ──────────  ──────  ───────
            2024-01-04 00:00:00  C100     withdrawal   25.00   975.00
            2024-01-05 00:00:00  C100     withdrawal  145.00   830.00
            """)
    }

    @Test func colouredTypesAndHeaders() {
        expectSnapshot(TransactionsTable.render(TransactionPage(entries: Array(Fixtures.sampleEntries.prefix(3)), total: 3),
                                                width: 100, style: TextStyle(colored: true)), """
            ⎋[1mdate               ⎋[0m  ⎋[1maccount⎋[0m  ⎋[1mtype      ⎋[0m  ⎋[1m  amount⎋[0m  ⎋[1m balance⎋[0m
            ⎋[2m───────────────────⎋[0m  ⎋[2m───────⎋[0m  ⎋[2m──────────⎋[0m  ⎋[2m────────⎋[0m  ⎋[2m────────⎋[0m
            2024-01-01 00:00:00  C100     ⎋[32mdeposit   ⎋[0m  1,000.00  1,000.00
            2024-01-02 00:00:00  C200     ⎋[32mdeposit   ⎋[0m  2,500.00  2,500.00
            2024-01-03 00:00:00  C200     ⎋[31mwithdrawal⎋[0m    200.00  2,300.00
            """)
    }

    /// Long account names are cut with "…" so the table keeps its shape.
    @Test func longAccountNamesAreCut() {
        var entries = Array(Fixtures.sampleEntries.prefix(1))
        entries[0].account = "A-VERY-LONG-ACCOUNT-NAME-0001"
        expectSnapshot(TransactionsTable.render(TransactionPage(entries: entries, total: 1), width: 100, style: .plain), """
            date                 account               type       amount   balance
            ───────────────────  ────────────────────  ───────  ────────  ────────
            2024-01-01 00:00:00  A-VERY-LONG-ACCOUNT…  deposit  1,000.00  1,000.00
            """)
    }

    @Test(arguments: [30, 35, 40, 50, 60, 70, 80, 100, 120])
    func everyLineFits(width: Int) {
        for line in TransactionsTable.render(Fixtures.inconsistent.recent, width: width, style: .plain) {
            #expect(line.count <= width, "\(line)")
        }
    }
}

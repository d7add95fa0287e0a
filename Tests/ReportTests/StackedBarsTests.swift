import Testing

@testable import Ledger
@testable import Report

/// Section 4: deposited and withdrawn per account as stacked bars on one scale, with exact amounts.
@Suite struct StackedBarsTests {
    let sample = AccountActivity(accounts: Fixtures.sampleTotals, omitted: 0)

    @Test func sampleAt100Columns() {
        expectSnapshot(StackedBars.render(sample, width: 100, style: .plain), """
            account  █ deposited  ░ withdrawn                                               deposited  withdrawn
            C100     ██████████████████████████░░░░                                          1,000.00     170.00
            C200     ████████████████████████████████████████████████████████████████░░░░░   2,500.00     200.00
            """)
    }

    /// Too narrow for bars beside the amounts: each bar gets its own line.
    @Test func sampleAt40Columns() {
        expectSnapshot(StackedBars.render(sample, width: 40, style: .plain), """
            account  deposited  withdrawn
            C100      1,000.00     170.00
              ██████████████░░
            C200      2,500.00     200.00
              ███████████████████████████████████░░░
            █ deposited  ░ withdrawn
            """)
    }

    @Test func colouredBars() {
        expectSnapshot(StackedBars.render(sample, width: 64, style: TextStyle(colored: true)), """
            ⎋[1maccount⎋[0m  ⎋[32m█⎋[0m deposited  ⎋[31m█⎋[0m withdrawn           ⎋[1mdeposited  withdrawn⎋[0m
            C100     ⎋[32m████████████⎋[0m⎋[31m██⎋[0m                      1,000.00     170.00
            C200     ⎋[32m███████████████████████████████⎋[0m⎋[31m██⎋[0m   2,500.00     200.00
            """)
    }

    /// Amounts are printed exactly however large; a tiny withdrawal next to a huge deposit still gets a cell.
    @Test func exactAmountsAndVisibleSmallParts() {
        let activity = AccountActivity(accounts: [
            AccountTotals(account: "BIG", deposited: Money(cents: 123_456_789_012_34), withdrawn: Money(cents: 1),
                          deposits: 1, withdrawals: 1),
            AccountTotals(account: "SMALL", deposited: Money(cents: 5), withdrawn: .zero, deposits: 1, withdrawals: 0),
        ], omitted: 3)
        expectSnapshot(StackedBars.render(activity, width: 80, style: .plain), """
            account  █ deposited  ░ withdrawn                           deposited  withdrawn
            BIG      ███████████████████████████████████████░  123,456,789,012.34       0.01
            SMALL    █                                                       0.05       0.00
            … 3 less active accounts not shown (--top N, --top 0 for all)
            """)
    }

    /// Amounts too wide to sit beside the account name go on lines of their own rather than being cut.
    @Test func largeAmountsAt30Columns() {
        let activity = AccountActivity(accounts: [
            AccountTotals(account: "C100", deposited: Money(cents: 987_654_321_00), withdrawn: Money(cents: 123_456_789_00),
                          deposits: 1, withdrawals: 1),
        ], omitted: 0)
        expectSnapshot(StackedBars.render(activity, width: 30, style: .plain), """
            C100
              █████████████████████████░░░
              deposited 987,654,321.00
              withdrawn 123,456,789.00
            █ deposited  ░ withdrawn
            """)
    }

    @Test(arguments: [30, 36, 40, 50, 64, 80, 100])
    func everyLineFits(width: Int) {
        let activity = AccountActivity(accounts: Fixtures.sampleTotals + [
            AccountTotals(account: "BIG", deposited: Money(cents: 123_456_789_012), withdrawn: Money(cents: 1), deposits: 1, withdrawals: 1),
        ], omitted: 12)
        for line in StackedBars.render(activity, width: width, style: .plain) {
            #expect(line.count <= width, "\(line)")
        }
    }

    @Test func barCellsAddUpToTheScaledTotal() {
        let totals = AccountTotals(account: "A", deposited: Money(cents: 300), withdrawn: Money(cents: 100), deposits: 1, withdrawals: 1)
        let bar = StackedBars.bar(totals, largest: 800, width: 40, style: .plain)
        #expect(bar.deposited == 15 && bar.withdrawn == 5)
        #expect(bar.text == String(repeating: "█", count: 15) + String(repeating: "░", count: 5) + String(repeating: " ", count: 20))
    }
}

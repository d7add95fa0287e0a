import Testing

@testable import Ledger
@testable import Report

/// Which accounts the charts show when there are more than --top.
@Suite struct AccountActivityTests {
    func totals(_ account: String, _ deposits: Int, _ withdrawals: Int, cents: Int64 = 100) -> AccountTotals {
        AccountTotals(account: account, deposited: Money(cents: cents), withdrawn: .zero, deposits: deposits, withdrawals: withdrawals)
    }

    @Test func keepsTheMostActiveByName() {
        let all = [totals("D", 1, 0), totals("A", 5, 5), totals("C", 2, 8), totals("B", 3, 0), totals("E", 0, 0)]
        let top = AccountActivity.mostActive(all, count: 2)
        #expect(top.accounts.map(\.account) == ["A", "C"])
        #expect(top.omitted == 2)  // B and D; E had no activity in the period
    }

    @Test func tiesGoToTheLargerAmountsThenTheName() {
        let all = [totals("Z", 1, 0, cents: 500), totals("Y", 1, 0, cents: 100), totals("X", 1, 0, cents: 100)]
        #expect(AccountActivity.mostActive(all, count: 2).accounts.map(\.account) == ["X", "Z"])
    }

    @Test func zeroKeepsAll() {
        let all = [totals("B", 1, 0), totals("A", 1, 0)]
        let every = AccountActivity.mostActive(all, count: 0)
        #expect(every.accounts.map(\.account) == ["A", "B"] && every.omitted == 0)
    }
}

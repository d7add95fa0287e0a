import Testing

@testable import Ledger
@testable import Report

/// Section 3: counts per account and type, shaded, numbers always printed.
@Suite struct HeatmapTests {
    let sample = AccountActivity(accounts: Fixtures.sampleTotals, omitted: 0)

    @Test func sampleAt120Columns() {
        expectSnapshot(Heatmap.render(sample, width: 120, style: .plain), """
            account     deposit       withdrawal
            C100     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ █████ 2 ██████
            C200     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ ▒▒▒▒▒ 1 ▒▒▒▒▒▒
            ░ ≤25% ▒ ≤50% ▓ ≤75% █ ≤100% of the largest count (2)
            """)
    }

    @Test func sampleAt40Columns() {
        expectSnapshot(Heatmap.render(sample, width: 40, style: .plain), """
            account     deposit       withdrawal
            C100     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ █████ 2 ██████
            C200     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ ▒▒▒▒▒ 1 ▒▒▒▒▒▒
            ░ ≤25% ▒ ≤50% ▓ ≤75% █ ≤100%
            of the largest count (2)
            """)
    }

    /// With colour the shading is a 256-colour background behind the number.
    @Test func colouredCells() {
        expectSnapshot(Heatmap.render(sample, width: 60, style: TextStyle(colored: true)), """
            ⎋[1maccount⎋[0m  ⎋[1m   deposit    ⎋[0m ⎋[1m  withdrawal  ⎋[0m
            C100     ⎋[48;5;125;38;5;255m      1       ⎋[0m ⎋[48;5;223;38;5;16m      2       ⎋[0m
            C200     ⎋[48;5;125;38;5;255m      1       ⎋[0m ⎋[48;5;125;38;5;255m      1       ⎋[0m
            ⎋[48;5;53;38;5;255m  ⎋[0m ≤25% ⎋[48;5;125;38;5;255m  ⎋[0m ≤50% ⎋[48;5;203;38;5;16m  ⎋[0m ≤75% ⎋[48;5;223;38;5;16m  ⎋[0m ≤100% of the largest count (2)
            """)
    }

    /// Zero counts are printed without shading; accounts left out are counted.
    @Test func zeroCountsAndOmittedAccounts() {
        let activity = AccountActivity(accounts: [
            AccountTotals(account: "A", deposited: Money(cents: 100), withdrawn: .zero, deposits: 12, withdrawals: 0),
            AccountTotals(account: "B", deposited: Money(cents: 100), withdrawn: Money(cents: 100), deposits: 3, withdrawals: 1_234),
        ], omitted: 7)
        expectSnapshot(Heatmap.render(activity, width: 60, style: .plain), """
            account     deposit       withdrawal
            A        ░░░░░ 12 ░░░░░       0
            B        ░░░░░ 3 ░░░░░░ ███ 1,234 ████
            ░ ≤25% ▒ ≤50% ▓ ≤75% █ ≤100% of the largest count (1,234)
            … 7 less active accounts not shown (--top N, --top 0 for
            all)
            """)
    }

    @Test func shadeLevelIsTheQuarterOfTheLargestCount() {
        #expect((0...8).map { Heatmap.level($0, largest: 8) } == [0, 1, 1, 2, 2, 3, 3, 4, 4])
        #expect(Heatmap.level(1, largest: 1_000_000) == 1)
    }

    @Test func noActivity() {
        expectSnapshot(Heatmap.render(AccountActivity(accounts: [], omitted: 0), width: 60, style: .plain), """
            No transactions in this period.
            """)
    }
}

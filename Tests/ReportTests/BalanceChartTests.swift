import Testing

@testable import Ledger
@testable import Report

/// Section 5: balances over time as braille line charts, one per account.
@Suite struct BalanceChartTests {
    func point(_ day: String, _ cents: Int64) -> BalancePoint { BalancePoint(date: Fixtures.date(day), balance: Money(cents: cents)) }

    /// The original dashboard's chart: account C100 (1000, 975, 830) over the first days of 2024.
    @Test func oneAccountAt60Columns() {
        let histories = BalanceHistories(series: [Fixtures.sampleSeries[0]], omitted: 0, chosenAccount: "C100")
        expectSnapshot(BalanceChart.render(histories, width: 60, style: .plain), """
            C100 · 3 entries · 1,000.00 → 830.00
            1,000.00 ┤⠉⠉⠉⠉⠒⠒⠒⠒⠒⠒⠒⠢⠤⠤⠤⠤⠤⠤⢄⣀⣀⣀⣀⣀⣀⣀
                     │                          ⠉⠉⠉⠉⠉⠉⠉⠑⠒⠒⠒⠢⡀
                     │                                      ⠈⠢⡀
                     │                                        ⠈⠢⡀
                     │                                          ⠈⢢
                     │                                            ⠑⢄
                     │                                              ⠑⢄
              830.00 ┤                                                ⠑⢄
                     └──────────────────────────────────────────────────
                      2024-01-01                              2024-01-05
            """)
    }

    @Test func twoAccountsAt40Columns() {
        expectSnapshot(BalanceChart.render(BalanceHistories(series: Fixtures.sampleSeries, omitted: 0), width: 40, style: .plain), """
            C100 · 3 entries · 1,000.00 → 830.00
            1,000.00 ┤⠉⠉⠉⠉⠒⠒⠒⠒⠒⠒⠒⠤⠤⠤⠤⠤⠤⠤⢄⣀⣀⣀⡀
                     │                      ⠈⠢⡀
                     │                        ⠈⠢⡀
                     │                          ⠑⢄
              830.00 ┤                            ⠑⢄
                     └──────────────────────────────
                      2024-01-01          2024-01-05

            C200 · 2 entries · 2,500.00 → 2,300.00
            2,500.00 ┤⠉⠒⠢⠤⣀⡀
                     │     ⠈⠉⠒⠒⠤⢄⣀
                     │            ⠉⠑⠒⠤⢄⣀
                     │                  ⠉⠑⠒⠤⠤⣀⡀
            2,300.00 ┤                        ⠈⠉⠒⠢⠤⣀
                     └──────────────────────────────
                      2024-01-02          2024-01-03
            """)
    }

    /// A balance that never changes is a flat line labelled once; a single entry is a single dot.
    @Test func flatAndSinglePointSeries() {
        let histories = BalanceHistories(series: [
            BalanceSeries(account: "FLAT", entries: 2, points: [point("2024-02-01", 500), point("2024-02-09", 500)]),
            BalanceSeries(account: "ONE", entries: 1, points: [point("2024-03-01 10:30:00", -1_250)]),
        ], omitted: 0)
        expectSnapshot(BalanceChart.render(histories, width: 40, style: .plain), """
            FLAT · 2 entries · 5.00 → 5.00
                 │
                 │
            5.00 ┤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤
                 │
                 │
                 └──────────────────────────────────
                  2024-02-01              2024-02-09

            ONE · 1 entry · -12.50 → -12.50
                   │
                   │
            -12.50 ┤⠄
                   │
                   │
                   └────────────────────────────────
                    2024-03-01 10:30
            """)
    }

    /// Within one day the time axis shows times.
    @Test func negativeBalancesWithinOneDay() {
        let histories = BalanceHistories(series: [
            BalanceSeries(account: "D", entries: 3, points: [
                point("2024-04-01 09:00:00", 10_000), point("2024-04-01 12:00:00", -5_000), point("2024-04-01 18:00:00", 2_500),
            ]),
        ], omitted: 0)
        expectSnapshot(BalanceChart.render(histories, width: 40, style: .plain), """
            D · 3 entries · 100.00 → 25.00
            100.00 ┤⠱⡀
                   │ ⠘⢄
                   │  ⠈⢢
                   │    ⠱⡀
                   │     ⠈⢆                    ⣀⠤⠔⠒⠉
                   │       ⠣⡀            ⣀⡠⠤⠒⠊⠉
                   │        ⠑⡄     ⢀⣀⠤⠔⠒⠉
            -50.00 ┤         ⠈⢆⡠⠤⠒⠉⠁
                   └────────────────────────────────
                    2024-04-01 09:00           18:00
            """)
    }

    @Test func saysHowManyAccountsAreNotDrawn() {
        let histories = BalanceHistories(series: [Fixtures.sampleSeries[1]], omitted: 42)
        expectSnapshot(BalanceChart.render(histories, width: 50, style: .plain), """
            C200 · 2 entries · 2,500.00 → 2,300.00
            2,500.00 ┤⠉⠒⠤⢄⡀
                     │    ⠈⠉⠒⠢⢄⣀
                     │          ⠉⠒⠢⢄⣀
                     │               ⠉⠒⠢⢄⣀
                     │                    ⠉⠑⠢⠤⣀
                     │                         ⠉⠑⠢⠤⣀
                     │                              ⠉⠑⠢⠤⣀⡀
            2,300.00 ┤                                   ⠈⠑⠒⠤⣀
                     └────────────────────────────────────────
                      2024-01-02                    2024-01-03
            … 42 more accounts not drawn: --account ACCOUNT
            draws one, --top N the N most active
            """)
    }

    @Test func chosenAccountWithoutEntries() {
        let histories = BalanceHistories(series: [BalanceSeries(account: "C999", entries: 0, points: [])], omitted: 0, chosenAccount: "C999")
        expectSnapshot(BalanceChart.render(histories, width: 80, style: .plain), """
            No transactions for account C999 in this period.
            """)
    }

    @Test func colouredChart() {
        let histories = BalanceHistories(series: [Fixtures.sampleSeries[1]], omitted: 0)
        expectSnapshot(BalanceChart.render(histories, width: 36, style: TextStyle(colored: true)), """
            ⎋[1mC200⎋[0m · 2 entries
            2,500.00 → 2,300.00
            ⎋[2m2,500.00 ┤⎋[0m⎋[36m⠑⠢⢄⎋[0m
            ⎋[2m         │⎋[0m⎋[36m   ⠉⠒⢄⡀⎋[0m
            ⎋[2m         │⎋[0m⎋[36m      ⠈⠒⠤⡀⎋[0m
            ⎋[2m         │⎋[0m⎋[36m         ⠈⠑⠢⣀⎋[0m
            ⎋[2m         │⎋[0m⎋[36m             ⠉⠢⢄⡀⎋[0m
            ⎋[2m         │⎋[0m⎋[36m                ⠈⠒⠤⡀⎋[0m
            ⎋[2m         │⎋[0m⎋[36m                   ⠈⠑⠤⣀⎋[0m
            ⎋[2m2,300.00 ┤⎋[0m⎋[36m                       ⠑⠢⢄⎋[0m
                    ⎋[2m └──────────────────────────⎋[0m
                      2024-01-02      2024-01-03
            """)
    }

    @Test func brailleDotsAndLines() {
        var canvas = BrailleCanvas(columns: 3, rows: 1)
        canvas.set(x: 0, y: 0)
        canvas.set(x: 1, y: 3)
        canvas.line(from: (x: 2, y: 0), to: (x: 5, y: 3))
        canvas.set(x: 99, y: 99)  // outside: ignored
        #expect(canvas.lines() == ["\u{2881}\u{2811}\u{2884}"])
        #expect(BrailleCanvas(columns: 2, rows: 1).lines() == ["  "])
    }
}

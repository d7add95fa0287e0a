import Testing

@testable import Ledger
@testable import Report

/// The reconciliation section: balance mismatches and negative balances from `reconciliation_issues`.
@Suite struct ReconciliationTableTests {
    @Test func nothingToReport() {
        expectSnapshot(ReconciliationTable.render(Fixtures.sample.reconciliation, width: 100, style: .plain), """
            No balance mismatches and no negative balances.
            """)
    }

    @Test func theSampleInconsistencyAt100Columns() {
        expectSnapshot(ReconciliationTable.render(Fixtures.inconsistent.reconciliation, width: 100, style: .plain), """
            1 balance mismatch, 0 negative balances
            date        account  issue               stated  derived  record
            ──────────  ───────  ────────────────  ────────  ───────  ────────────────
            2024-01-05  C100     balance mismatch  8,305.00   830.00  transactions-0@4
            """)
    }

    @Test func theSampleInconsistencyAt40Columns() {
        expectSnapshot(ReconciliationTable.render(Fixtures.inconsistent.reconciliation, width: 40, style: .plain), """
            1 balance mismatch, 0 negative balances
            date        account  issue     derived
            ──────────  ───────  ────────  ───────
            2024-01-05  C100     mismatch   830.00
            """)
    }

    @Test func manyIssuesShowTheLatest() {
        let negative = ReconciliationIssue(kind: .negativeBalance, account: "A", date: "2024-06-30 23:59:59", stated: nil,
                                           derived: Money(cents: -1_050), topic: "transactions", partition: 3, offset: 77)
        let summary = ReconciliationSummary(counts: IssueCounts(balanceMismatches: 2, negativeBalances: 1_500), latest: [negative])
        expectSnapshot(ReconciliationTable.render(summary, width: 100, style: TextStyle(colored: true)), """
            ⎋[33m2 balance mismatches⎋[0m, ⎋[31m1,500 negative balances⎋[0m
            ⎋[2m… 1,501 earlier issues not shown (--limit N shows the latest N, --limit 0 all)⎋[0m
            ⎋[1mdate      ⎋[0m  ⎋[1maccount⎋[0m  ⎋[1missue           ⎋[0m  ⎋[1mstated⎋[0m  ⎋[1mderived⎋[0m  ⎋[1mrecord⎋[0m
            ⎋[2m──────────⎋[0m  ⎋[2m───────⎋[0m  ⎋[2m────────────────⎋[0m  ⎋[2m──────⎋[0m  ⎋[2m───────⎋[0m  ⎋[2m─────────────────⎋[0m
            2024-06-30  A        ⎋[31mnegative balance⎋[0m          ⎋[31m -10.50⎋[0m  transactions-3@77
            """)
    }
}

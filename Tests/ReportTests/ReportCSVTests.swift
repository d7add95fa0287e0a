import Testing

@testable import Ledger
@testable import Report

/// `--format csv`: RFC 4180 lines with exact decimal amounts.
@Suite struct ReportCSVTests {
    @Test func sampleRows() {
        expectSnapshot([ReportCSV.header] + Fixtures.inconsistent.recent.entries.map(ReportCSV.line), """
            transaction_date,account,transaction_type,amount,balance,stated_balance,topic,partition,offset
            2024-01-01 00:00:00,C100,deposit,1000.00,1000.00,1000.00,transactions,0,0
            2024-01-02 00:00:00,C200,deposit,2500.00,2500.00,2500.00,transactions,0,1
            2024-01-03 00:00:00,C200,withdrawal,200.00,2300.00,2300.00,transactions,0,2
            2024-01-04 00:00:00,C100,withdrawal,25.00,975.00,975.00,transactions,0,3
            2024-01-05 00:00:00,C100,withdrawal,145.00,830.00,8305.00,transactions,0,4
            """)
    }

    @Test func fieldsWithSeparatorsAreQuoted() {
        var entry = Fixtures.sampleEntries[0]
        entry.account = #"ACME, "the" bank"#
        entry.statedBalance = nil
        #expect(ReportCSV.line(entry) == #"2024-01-01 00:00:00,"ACME, ""the"" bank",deposit,1000.00,1000.00,,transactions,0,0"#)
    }
}

import Foundation
import SQLiteStore
import Testing

@testable import Ledger

/// The sink applies each record once, derives balances in stream order and records what does not reconcile.
@Suite struct LedgerSinkTests {
    func withDatabase(_ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try body(path)
    }

    func records(_ csv: String, topic: String = "transactions", partition: Int32 = 0, from offset: Int64 = 0) -> [SinkRecord] {
        TransactionCSV(bytes: Array(csv.utf8), file: "t").rows.enumerated().map { index, row in
            SinkRecord(topic: topic, partition: partition, offset: offset + Int64(index), bytes: Array(row.event.jsonText.utf8))
        }
    }

    /// Groups of rows whose partition, topic or file changes inside the group go through the statement that binds
    /// every column per row, groups that agree through the one that binds them once, and a batch's remainder row by
    /// row: every entry and every issue lands with its own values whichever way it went.
    @Test func everyRowKeepsItsValuesWhateverGroupItWasInsertedWith() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            var batch: [SinkRecord] = []
            var expectedEntries: [String] = []
            var expectedIssues: [String] = []
            var nextOffset: [String: Int64] = [:]
            // Runs of 40, 64, 23, 200 and 7 rows over two topics and three partitions; rows 0..<150 from two files.
            var row = 0
            for (topic, partition, count) in [("a", 0, 40), ("a", 1, 64), ("b", 0, 23), ("a", 0, 200), ("a", 2, 7)] {
                for _ in 0..<count {
                    let key = "\(topic)/\(partition)"
                    let offset = nextOffset[key, default: 0]
                    nextOffset[key] = offset + 1
                    let account = "R\(row)"
                    let source = row < 150 ? EventSource(fileDigest: row < 90 ? "f1" : "f2", line: Int64(row + 2)) : nil
                    // A withdrawal from an empty account: negative, and a stated balance that disagrees.
                    let event = TransactionEvent(date: TransactionDate(year: 2024, month: 1 + row % 12, day: 1 + row % 28),
                                                 account: account, amount: Money(cents: Int64(row + 1)), type: .withdrawal,
                                                 statedBalance: Money(cents: 1))
                    batch.append(SinkRecord(topic: topic, partition: Int32(partition), offset: offset,
                                            bytes: Array(event.jsonText.utf8), source: source))
                    expectedEntries.append("\(topic) \(partition) \(offset) \(account) \(row + 1) \(source.map { "\($0.line)" } ?? "NULL")")
                    for kind in ["balance_mismatch", "negative_balance"] {
                        expectedIssues.append("\(topic) \(partition) \(offset) \(kind) \(account) \(event.date) -\(row + 1)")
                    }
                    row += 1
                }
            }
            let report = try sink.apply(batch)
            #expect(report.applied == 334 && report.mismatches == 334 && report.negativeBalances == 334)
            let check = try SQLiteDatabase.openFile(path: path, readOnly: true)
            let entries = try check.prepare("""
                SELECT topic, partition, offset, account, amount_cents, source_line, source_id FROM ledger_postings ORDER BY entry_id
                """)
            var seenEntries: [String] = []
            var sources: [Int64?] = []
            while try entries.step() {
                seenEntries.append((0..<6).map { entries.string($0) ?? "NULL" }.joined(separator: " "))
                sources.append(entries.isNull(6) ? nil : entries.int64(6))
            }
            #expect(seenEntries == expectedEntries)
            // Each file's rows name its source, the rest none.
            #expect(Set(sources[0..<90]).count == 1 && Set(sources[90..<150]).count == 1 && sources[0] != sources[90])
            #expect(sources[150...].allSatisfy { $0 == nil } && sources[0] != nil && sources[90] != nil)
            let issues = try check.prepare("""
                SELECT topic, partition, offset, kind, account, transaction_date, derived_balance_cents FROM reconciliation_issues
                ORDER BY rowid
                """)
            var seenIssues: [String] = []
            while try issues.step() { seenIssues.append((0..<7).map { issues.string($0) ?? "NULL" }.joined(separator: " ")) }
            #expect(seenIssues == expectedIssues)
        }
    }

    /// The issue's inconsistent sample: the last row states 8305 where the history gives 830.
    let inconsistent = "transaction_date;account;transaction_value;balance\n01/01/2024;C100;1000;1000\n02/01/2024;C200;2500;2500\n03/01/2024;C200;-200;2300\n04/01/2024;C100;-25;975\n05/01/2024;C100;-145;8305"

    @Test func derivesBalancesAndFlagsTheStatedMismatch() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            let report = try sink.apply(records(inconsistent))
            #expect(report.applied == 5 && report.mismatches == 1 && report.negativeBalances == 0)
            let queries = LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true))
            #expect(try queries.accounts().map { "\($0.account)=\($0.balance)" } == ["C100=830.00", "C200=2300.00"])
            let issues = try queries.issues()
            #expect(issues.count == 1)
            #expect(issues[0].kind == .balanceMismatch && issues[0].account == "C100")
            #expect(issues[0].stated == Money(cents: 830_500) && issues[0].derived == Money(cents: 83_000))
            // The original table has exactly its five rows, with the derived balance.
            #expect(try queries.originalRowCount() == 5)
            let original = try SQLiteDatabase(path: path).prepare("SELECT balance FROM transactions")
            var balances: [Int64] = []
            while try original.step() { balances.append(original.int64(0)) }
            #expect(balances == [1000, 2500, 2300, 975, 830])
        }
    }

    @Test func negativeBalancesAreAppliedAndFlagged() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            let report = try sink.apply(records("transaction_date;account;transaction_value\n01/01/2024;A;10\n02/01/2024;A;-25.50\n"))
            #expect(report.applied == 2 && report.negativeBalances == 1)
            #expect(sink.balance(of: "A") == Money(cents: -1550))
        }
    }

    /// Redelivered records (a restart after a crash before the client committed anywhere else) are skipped: the
    /// database's own offsets decide.
    /// Issues are inserted 64 at a time: a batch flagging 300 (every row twice), then one flagging 10 (row by row),
    /// after a batch that failed with issues staged, are each recorded exactly once with their values.
    @Test func everyIssueOfLargeAndSmallBatchesIsRecordedOnce() throws {
        func csv(_ rows: Range<Int>) -> String {
            // Each row withdraws 1.00 and states a balance of 7: always negative, never matching.
            "transaction_date;account;transaction_value;balance\n" + rows.map { "01/01/2024;A\($0 % 3);-1;7" }.joined(separator: "\n")
        }
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path, busyTimeoutMs: 50))
            let first = try sink.apply(records(csv(0..<150)))
            #expect(first.applied == 150 && first.mismatches == 150 && first.negativeBalances == 150)
            let blocker = try SQLiteDatabase.openFile(path: path, busyTimeoutMs: 0)
            try blocker.execute("BEGIN EXCLUSIVE")
            #expect(throws: SQLiteError.self) { try sink.apply(records(csv(150..<250), from: 150)) }
            try blocker.execute("ROLLBACK")
            let second = try sink.apply(records(csv(150..<155), from: 150))
            #expect(second.applied == 5 && second.mismatches == 5 && second.negativeBalances == 5)
            let issues = try LedgerQueries(database: LedgerDatabase.open(path: path, readOnly: true)).issues()
            #expect(issues.count == 310)
            var expected: Set<String> = []
            for row in 0..<155 {
                let derived = -Int64(row / 3 + 1) * 100
                expected.insert("\(row) balance_mismatch A\(row % 3) 700 \(derived)")
                expected.insert("\(row) negative_balance A\(row % 3) 700 \(derived)")
            }
            let recorded = Set(issues.map {
                "\($0.offset) \($0.kind.rawValue) \($0.account) \($0.stated.map { String($0.cents) } ?? "nil") \($0.derived.cents)"
            })
            #expect(recorded == expected)
            #expect(issues.allSatisfy { $0.topic == "transactions" && $0.partition == 0 && $0.date == "2024-01-01 00:00:00" })
        }
    }

    @Test func replaysAreNeverAppliedTwice() throws {
        try withDatabase { path in
            let batch = records("transaction_date;account;transaction_value\n01/01/2024;A;1\n02/01/2024;A;2\n03/01/2024;A;3\n")
            do {
                let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
                _ = try sink.apply(Array(batch.prefix(2)))
            }
            let reopened = try LedgerSink(database: LedgerDatabase.open(path: path))
            #expect(reopened.resumeOffset(topic: "transactions", partition: 0) == 2)
            let report = try reopened.apply(batch)
            #expect(report.applied == 1 && report.duplicates == 2)
            #expect(reopened.balance(of: "A") == Money(cents: 600))
            #expect(try LedgerQueries(database: LedgerDatabase.open(path: path)).entryCount() == 3)
        }
    }

    /// The sink's connection leaves the per-row foreign-key check to a check per batch and file: what it writes still
    /// satisfies the schema's foreign key, also after a file's `import_sources` row was deleted behind its back (the
    /// next batch registers the file again instead of naming the id it had cached).
    @Test func everyEntryNamesAnExistingSourceEvenAfterTheSourceWasRemoved() throws {
        try withDatabase { path in
            let csv = "transaction_date;account;transaction_value\n01/01/2024;A;1\n02/01/2024;B;2\n03/01/2024;A;3\n04/01/2024;B;4\n"
            let digest = EventSource.digest(of: Array(csv.utf8))
            let batch = records(csv).enumerated().map { index, record in
                var sourced = record
                sourced.source = EventSource(fileDigest: digest, line: Int64(index + 2))
                return sourced
            }
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            #expect(try sink.apply(Array(batch.prefix(2))).applied == 2)
            let check = try SQLiteDatabase.openFile(path: path)
            let violations = try check.prepare("SELECT count(*) FROM pragma_foreign_key_check('ledger_postings')")
            func violationCount() throws -> Int64 {
                defer { violations.reset() }
                _ = try violations.step()
                return violations.int64(0)
            }
            #expect(try violationCount() == 0)

            // Removed by hand, with foreign keys off as the sqlite3 shell has them: the first two entries are orphans now.
            try check.execute("PRAGMA foreign_keys = OFF; DELETE FROM import_sources;")
            #expect(try violationCount() == 2)
            #expect(try sink.apply(Array(batch.suffix(2))).applied == 2)
            // (The file may get its old id back: SQLite reuses the largest rowid once it is deleted.)
            let orphans = try check.prepare("""
                SELECT count(*) FROM ledger_postings p
                WHERE p.offset >= 2 AND NOT EXISTS (SELECT 1 FROM import_sources s WHERE s.source_id = p.source_id)
                """)
            #expect(try orphans.step() && orphans.int64(0) == 0)
            let sources = try check.prepare("SELECT count(*) FROM import_sources WHERE file_digest = '\(digest)'")
            #expect(try sources.step() && sources.int64(0) == 1)
        }
    }

    @Test func invalidRecordsAreKeptWithTheirReasonAndDoNotStopTheSink() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            let report = try sink.apply([
                SinkRecord(topic: "t", partition: 1, offset: 0, bytes: Array("garbage".utf8)),
                SinkRecord(topic: "t", partition: 1, offset: 1, value: nil),
                records("transaction_date;account;transaction_value\n01/01/2024;A;1\n", topic: "t", partition: 1, from: 2)[0],
            ])
            #expect(report.rejected == 2 && report.applied == 1)
            #expect(sink.resumeOffset(topic: "t", partition: 1) == 3)
            #expect(try LedgerQueries(database: LedgerDatabase.open(path: path)).rejectedCount() == 2)
        }
    }

    /// A failure inside a batch (here: the database was made read-only under the sink) leaves nothing of it behind,
    /// in the file or in memory.
    @Test func aFailedBatchLeavesNoTrace() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path, busyTimeoutMs: 50))
            _ = try sink.apply(records("transaction_date;account;transaction_value\n01/01/2024;A;1\n"))
            let blocker = try SQLiteDatabase.openFile(path: path, busyTimeoutMs: 0)
            try blocker.execute("BEGIN EXCLUSIVE")
            let batch = records("transaction_date;account;transaction_value\n02/01/2024;A;5\n", from: 1)
            #expect(throws: SQLiteError.self) { try sink.apply(batch) }
            try blocker.execute("ROLLBACK")
            #expect(sink.balance(of: "A") == Money(cents: 100) && sink.resumeOffset(topic: "transactions", partition: 0) == 1)
            #expect(try sink.apply(batch).applied == 1)
            #expect(sink.balance(of: "A") == Money(cents: 600))
        }
    }

    @Test func openingNeverDropsExistingData() throws {
        try withDatabase { path in
            let original = try SQLiteDatabase.openFile(path: path)
            try original.execute("""
                CREATE TABLE transactions (transaction_date DATETIME, account TEXT, transaction_value NUMERIC(10,2), balance NUMERIC(10,2), transaction_type TEXT);
                INSERT INTO transactions VALUES ('2023-12-31 00:00:00', 'OLD', 1, 1, 'deposit');
                """)
            original.close()
            _ = try LedgerSink(database: LedgerDatabase.open(path: path))
            _ = try LedgerSink(database: LedgerDatabase.open(path: path))
            #expect(try LedgerQueries(database: LedgerDatabase.open(path: path)).originalRowCount() == 1)
            #expect(throws: LedgerError.self) { try LedgerDatabase.open(path: path + ".missing", readOnly: true) }
        }
    }

    /// The `transactions` view shows the rows the original pipeline left in its table, then every entry with the values
    /// its NUMERIC(10,2) columns held (an integer when whole, else a real); full groups of rows (multi-row inserts)
    /// and the remainder land identically. An insert into it, as the original consumer does, is kept apart from the
    /// ledger.
    @Test func theOriginalTableShowsEveryEntryAfterRowsThePipelineLeft() throws {
        try withDatabase { path in
            let original = try SQLiteDatabase.openFile(path: path)
            try original.execute("""
                CREATE TABLE transactions (transaction_date DATETIME, account TEXT, transaction_value NUMERIC(10,2), balance NUMERIC(10,2), transaction_type TEXT);
                INSERT INTO transactions VALUES ('2023-12-31 00:00:00', 'OLD', 1, 1.5, 'deposit');
                """)
            original.close()
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            var csv = "transaction_date;account;transaction_value\n"
            for day in 0..<150 { csv += "\(1 + day % 28)/\(1 + day % 12)/2024;A\(day % 7);\(day % 2 == 0 ? "" : "-")\(day + 1)\(day % 3 == 0 ? "" : ".25")\n" }
            #expect(try sink.apply(records(csv)).applied == 150)
            let check = try SQLiteDatabase.openFile(path: path)
            func numeric(_ cents: Int64) -> String { cents % 100 == 0 ? "integer \(cents / 100)" : "real \(Double(cents) / 100)" }
            var expected = ["2023-12-31 00:00:00 OLD integer 1 real 1.5 deposit"]
            let entries = try check.prepare("""
                SELECT transaction_date, account, amount_cents, balance_cents, transaction_type FROM ledger_entries ORDER BY entry_id
                """)
            while try entries.step() {
                expected.append("\(entries.string(0)!) \(entries.string(1)!) \(numeric(entries.int64(2))) \(numeric(entries.int64(3))) \(entries.string(4)!)")
            }
            let shown = try check.prepare("""
                SELECT transaction_date, account, typeof(transaction_value), transaction_value, typeof(balance), balance, transaction_type
                FROM transactions
                """)
            var seen: [String] = []
            while try shown.step() {
                func value(_ column: Int32) -> String {
                    shown.string(column - 1) == "integer" ? "integer \(shown.int64(column))" : "real \(shown.double(column))"
                }
                seen.append("\(shown.string(0)!) \(shown.string(1)!) \(value(3)) \(value(5)) \(shown.string(6)!)")
            }
            #expect(seen.count == 151 && seen == expected)
            let ids = try check.prepare("SELECT MIN(entry_id), MAX(entry_id) FROM ledger_entries")
            _ = try ids.step()
            #expect(ids.int(0) == 1 && ids.int(1) == 150)
            try check.execute("INSERT INTO transactions VALUES ('2024-12-31 00:00:00', 'BYHAND', 2, 2, 'deposit')")
            let queries = LedgerQueries(database: try LedgerDatabase.open(path: path))
            #expect(try queries.originalRowCount() == 152 && queries.entryCount() == 150)
            #expect(try !queries.accounts().contains { $0.account == "BYHAND" })
        }
    }

    /// Totals per account are maintained with the entries and agree with a scan of them.
    @Test func maintainedTotalsAgreeWithTheEntries() throws {
        try withDatabase { path in
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            _ = try sink.apply(records("transaction_date;account;transaction_value\n01/01/2024;A;10.50\n02/01/2024;B;7\n03/01/2024;A;-3.25\n"))
            _ = try sink.apply(records("transaction_date;account;transaction_value\n04/01/2024;A;1\n", from: 3))
            let queries = LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true))
            let maintained = try queries.totals()
            let scanned = try queries.totals(from: "2000-01-01", to: "2100-01-01")
            #expect(maintained == scanned)
            #expect(maintained.first { $0.account == "A" } == AccountTotals(
                account: "A", deposited: Money(cents: 1150), withdrawn: Money(cents: 325), deposits: 2, withdrawals: 1))
            #expect(try queries.history(account: "A", count: 2).map(\.amount) == [Money(cents: 325), Money(cents: 100)])
        }
    }
}

/// A ledger written before migration 002 (entries in a `ledger_entries` table) keeps every entry when a newer sink
/// opens it, reads the same through the `ledger_entries` view, and the sink continues after it.
@Suite struct LedgerMigrationTests {
    @Test func entriesOfAnOlderLedgerSurviveTheMoveToPostings() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let old = try SQLiteDatabase.openFile(path: path)
            try old.migrate([LedgerDatabase.migrations[0]])
            try old.execute("""
                INSERT INTO transactions (rowid, transaction_date, account, transaction_value, balance, transaction_type)
                    VALUES (1, '2024-01-01 00:00:00', 'C100', 1000, 1000, 'deposit');
                INSERT INTO ledger_entries (entry_id, topic, partition, offset, transaction_date, account, transaction_type,
                    amount_cents, balance_cents, stated_balance_cents)
                    VALUES (1, 'transactions', 0, 0, '2024-01-01 00:00:00', 'C100', 'deposit', 100000, 100000, 100000);
                INSERT INTO sink_offsets (topic, partition, next_offset) VALUES ('transactions', 0, 1);
                INSERT INTO account_balances VALUES ('C100', 100000, 1, 1, 0, 100000, 0, '2024-01-01 00:00:00');
                INSERT INTO reconciliation_issues VALUES ('transactions', 0, 0, 'balance_mismatch', 'C100',
                    '2024-01-01 00:00:00', 100001, 100000);
                """)
            // An older ledger opened read-only (by report or shell) still counts as a ledger.
            #expect(throws: Never.self) { try LedgerDatabase.open(path: path, readOnly: true) }
        }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        let csv = "transaction_date;account;transaction_value;balance\n02/01/2024;C100;-25;975"
        let record = TransactionCSV(bytes: Array(csv.utf8), file: "t").rows.map {
            SinkRecord(topic: "transactions", partition: 0, offset: 1, bytes: Array($0.event.jsonText.utf8))
        }
        #expect(try sink.apply(record).applied == 1)
        let check = try SQLiteDatabase.openFile(path: path, readOnly: true)
        let rows = try check.prepare("""
            SELECT entry_id, offset, transaction_date, account, transaction_type, amount_cents, balance_cents
            FROM ledger_entries ORDER BY entry_id
            """)
        var seen: [String] = []
        while try rows.step() {
            seen.append("\(rows.int64(0)) \(rows.int64(1)) \(rows.string(2) ?? "") \(rows.string(3) ?? "") "
                        + "\(rows.string(4) ?? "") \(rows.int64(5)) \(rows.int64(6))")
        }
        #expect(seen == [
            "1 0 2024-01-01 00:00:00 C100 deposit 100000 100000",
            "2 1 2024-01-02 00:00:00 C100 withdrawal 2500 97500",
        ])
        // The issue recorded before migration 003 is still there.
        let issues = try check.prepare("SELECT offset, kind, stated_balance_cents FROM reconciliation_issues")
        #expect(try issues.step() && issues.int64(0) == 0 && issues.string(1) == "balance_mismatch" && issues.int64(2) == 100001)
        #expect(try !issues.step())
    }
}

/// A ledger written before migration 007 (each entry's date, account and type in a `transactions` row with its id)
/// reads exactly the same through `ledger_entries` and `transactions` after it, rows the original pipeline left
/// included, and the sink continues after it.
@Suite struct OneRowPerEntryMigrationTests {
    @Test func entriesAndTheOriginalTableReadTheSameAfterTheMove() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        func contents(_ database: SQLiteDatabase) throws -> [String] {
            var lines: [String] = []
            for (columns, sql) in [(10, """
                SELECT entry_id, topic, partition, offset, transaction_date, account, transaction_type, amount_cents,
                       balance_cents, stated_balance_cents FROM ledger_entries ORDER BY entry_id
                """), (7, """
                SELECT transaction_date, account, typeof(transaction_value), transaction_value, typeof(balance), balance,
                       transaction_type FROM transactions
                """)] {
                let statement = try database.prepare(sql)
                while try statement.step() {
                    lines.append((0..<Int32(columns)).map { statement.string($0) ?? "NULL" }.joined(separator: " "))
                }
            }
            return lines
        }
        let before: [String]
        do {
            let old = try SQLiteDatabase.openFile(path: path)
            try old.migrate(Array(LedgerDatabase.migrations.prefix(6)))
            // As the sink before migration 007 wrote them: a row the original pipeline left, then entries sharing ids.
            try old.execute("""
                INSERT INTO transactions (rowid, transaction_date, account, transaction_value, balance, transaction_type)
                    VALUES (1, '2023-12-31 00:00:00', 'OLD', 7, 7, 'deposit'),
                           (2, '2024-01-01 00:00:00', 'C100', 1000, 1000, 'deposit'),
                           (3, '2024-01-02 00:00:00', 'C100', 25.5, 974.5, 'withdrawal');
                INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents)
                    VALUES (2, 'transactions', 0, 0, 100000, 100000, NULL), (3, 'transactions', 0, 1, 2550, 97450, 97450);
                INSERT INTO sink_offsets (topic, partition, next_offset) VALUES ('transactions', 0, 2);
                INSERT INTO account_balances VALUES ('C100', 97450, 2, 1, 1, 100000, 2550, '2024-01-02 00:00:00');
                """)
            // A user's own view over the original table.
            try old.execute("CREATE VIEW deposits_by_hand AS SELECT account, transaction_value FROM transactions WHERE transaction_type = 'deposit'")
            before = try contents(old)
            #expect(before.count == 5)
        }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        let check = try SQLiteDatabase.openFile(path: path, readOnly: true)
        #expect(try contents(check) == before)
        let csv = "transaction_date;account;transaction_value;balance\n03/01/2024;C100;-0.5;974"
        let record = TransactionCSV(bytes: Array(csv.utf8), file: "t").rows.map {
            SinkRecord(topic: "transactions", partition: 0, offset: 2, bytes: Array($0.event.jsonText.utf8))
        }
        #expect(try sink.apply(record).applied == 1)
        let after = try contents(check)
        #expect(after.count == 7)
        #expect(after.contains("4 transactions 0 2 2024-01-03 00:00:00 C100 withdrawal 50 97400 97400"))
        #expect(after.last == "2024-01-03 00:00:00 C100 real 0.5 integer 974 withdrawal")
        // The user's view still reads every row of `transactions`.
        let deposits = try check.prepare("SELECT COUNT(*) FROM deposits_by_hand")
        #expect(try deposits.step() && deposits.int64(0) == 2)
    }
}

/// A ledger written before migration 008 (issues keyed by their position) keeps every issue, a user's view over the
/// issues keeps reading them, and the sink goes on recording issues after it, in the order it finds them.
@Suite struct IssuesInOrderMigrationTests {
    @Test func issuesSurviveTheMoveAndNewOnesAreAppended() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        func issues(_ database: SQLiteDatabase) throws -> [String] {
            let statement = try database.prepare("""
                SELECT topic, partition, offset, kind, account, transaction_date, stated_balance_cents, derived_balance_cents
                FROM reconciliation_issues ORDER BY rowid
                """)
            var lines: [String] = []
            while try statement.step() { lines.append((0..<8).map { statement.string($0) ?? "NULL" }.joined(separator: " ")) }
            return lines
        }
        do {
            let old = try SQLiteDatabase.openFile(path: path)
            try old.migrate(Array(LedgerDatabase.migrations.prefix(7)))
            try old.execute("""
                INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents,
                                             transaction_date, account, transaction_type)
                    VALUES (1, 'transactions', 1, 0, 500, -500, 0, '2024-01-01 00:00:00', 'C1', 'withdrawal'),
                           (2, 'transactions', 0, 0, 100, 100, 99, '2024-01-02 00:00:00', 'C2', 'deposit');
                INSERT INTO sink_offsets (topic, partition, next_offset) VALUES ('transactions', 0, 1), ('transactions', 1, 1);
                INSERT INTO account_balances VALUES ('C1', -500, 1, 0, 1, 0, 500, '2024-01-01 00:00:00'),
                                                    ('C2', 100, 1, 1, 0, 100, 0, '2024-01-02 00:00:00');
                INSERT INTO reconciliation_issues VALUES
                    ('transactions', 1, 0, 'balance_mismatch', 'C1', '2024-01-01 00:00:00', 0, -500),
                    ('transactions', 1, 0, 'negative_balance', 'C1', '2024-01-01 00:00:00', 0, -500),
                    ('transactions', 0, 0, 'balance_mismatch', 'C2', '2024-01-02 00:00:00', 99, 100);
                CREATE VIEW negative_accounts AS SELECT DISTINCT account FROM reconciliation_issues WHERE kind = 'negative_balance';
                """)
        }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        let check = try SQLiteDatabase.openFile(path: path, readOnly: true)
        // The old table's rows, in its key order, with every value.
        #expect(try issues(check) == [
            "transactions 0 0 balance_mismatch C2 2024-01-02 00:00:00 99 100",
            "transactions 1 0 balance_mismatch C1 2024-01-01 00:00:00 0 -500",
            "transactions 1 0 negative_balance C1 2024-01-01 00:00:00 0 -500",
        ])
        let table = try check.prepare("SELECT sql FROM sqlite_master WHERE name = 'reconciliation_issues'")
        #expect(try table.step() && table.string(0)?.contains("WITHOUT ROWID") == false)
        table.reset()
        // Partition 1 first, then 0: issues are kept in the order the sink met them, every one of them.
        let csv = "transaction_date;account;transaction_value;balance\n03/01/2024;C1;-0.01;-5.02\n04/01/2024;C2;-2;-1"
        let rows = TransactionCSV(bytes: Array(csv.utf8), file: "t").rows
        let batch = [
            SinkRecord(topic: "transactions", partition: 1, offset: 1, bytes: Array(rows[0].event.jsonText.utf8)),
            SinkRecord(topic: "transactions", partition: 0, offset: 1, bytes: Array(rows[1].event.jsonText.utf8)),
        ]
        let report = try sink.apply(batch)
        #expect(report.applied == 2 && report.mismatches == 1 && report.negativeBalances == 2)
        #expect(try issues(check).suffix(3) == [
            "transactions 1 1 balance_mismatch C1 2024-01-03 00:00:00 -502 -501",
            "transactions 1 1 negative_balance C1 2024-01-03 00:00:00 -502 -501",
            "transactions 0 1 negative_balance C2 2024-01-04 00:00:00 -100 -100",
        ])
        let view = try check.prepare("SELECT group_concat(account, ',') FROM (SELECT account FROM negative_accounts ORDER BY account)")
        #expect(try view.step() && view.string(0) == "C1,C2")
        let queries = LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true))
        #expect(try queries.issueCounts() == IssueCounts(balanceMismatches: 3, negativeBalances: 3))
    }
}

/// A ledger written before migration 006 (applied file rows guarded by a unique index over every entry) keeps
/// knowing which rows it applied: a file imported again applies only its rows that are missing.
@Suite struct ImportLinesMigrationTests {
    @Test func rowsAppliedBeforeTheBitmapAreStillKnownApplied() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        // Lines 2, 63, 64 and 127 (blocks 0 and 1, bit 63 included) applied before the migration.
        var csv = "transaction_date;account;transaction_value\n"
        for line in 2...130 { csv += "01/01/2024;C\(line);\(line)\n" }
        let bytes = Array(csv.utf8)
        let digest = EventSource.digest(of: bytes)
        let rows = TransactionCSV(bytes: bytes, file: "t").rows
        do {
            let old = try SQLiteDatabase.openFile(path: path)
            try old.migrate(Array(LedgerDatabase.migrations.prefix(5)))
            try old.execute("INSERT INTO import_sources (source_id, file_digest) VALUES (7, '\(digest)')")
            for line in [2, 63, 64, 127] {
                try old.execute("""
                    INSERT INTO transactions (rowid, transaction_date, account, transaction_value, balance, transaction_type)
                        VALUES (\(line), '2024-01-01 00:00:00', 'C\(line)', \(line), \(line), 'deposit');
                    INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, source_id, source_line)
                        VALUES (\(line), 'old', 0, \(line), \(line * 100), \(line * 100), 7, \(line));
                    """)
            }
        }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        let records = rows.enumerated().map { index, row in
            SinkRecord(topic: "transactions", partition: 0, offset: Int64(index), bytes: Array(row.event.jsonText.utf8),
                       source: EventSource(fileDigest: digest, line: Int64(row.line)))
        }
        let report = try sink.apply(records)
        #expect(report.alreadyImported == 4 && report.applied == rows.count - 4)
        let check = try SQLiteDatabase.openFile(path: path, readOnly: true)
        let index = try check.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ledger_postings_by_source'")
        #expect(try index.step() && index.int64(0) == 0)
        let duplicates = try check.prepare("""
            SELECT COUNT(*) FROM (SELECT source_line FROM ledger_postings GROUP BY source_id, source_line HAVING COUNT(*) > 1)
            """)
        #expect(try duplicates.step() && duplicates.int64(0) == 0)
    }
}

/// A full disk refuses a batch as a whole: nothing of it is written, the sink's state is unchanged, and the same
/// batch applies once there is room again. SQLite's max_page_count gives the same SQLITE_FULL a full disk gives.
@Suite struct LedgerSinkFullDiskTests {
    @Test func aFullDatabaseRefusesTheWholeBatchAndTheSameBatchAppliesOnceThereIsRoom() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-full-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        let small = (0..<10).map { SinkRecord(topic: "t", partition: 0, offset: Int64($0), bytes: Self.event(account: "A\($0 % 3)")) }
        #expect(try sink.apply(small).applied == 10)
        let pages = try sink.database.prepare("PRAGMA page_count")
        _ = try pages.step()
        let used = pages.int64(0)
        pages.reset()
        try sink.database.execute("PRAGMA max_page_count = \(used + 2)")
        let large = (10..<3_010).map {
            SinkRecord(topic: "t", partition: 0, offset: Int64($0), bytes: Self.event(account: "A\($0 % 500)"),
                       source: EventSource(fileDigest: String(repeating: "ab", count: 16), line: Int64($0)))
        }
        let refused = #expect(throws: SQLiteError.self) { try sink.apply(large) }
        #expect(refused?.isFull == true)
        #expect(sink.resumeOffset(topic: "t", partition: 0) == 10)
        let reader = try SQLiteDatabase.openFile(path: path, readOnly: true)
        let count = try reader.prepare("SELECT COUNT(*) FROM ledger_postings")
        _ = try count.step()
        #expect(count.int64(0) == 10)
        count.reset()
        try sink.database.execute("PRAGMA max_page_count = 1073741823")
        let report = try sink.apply(large)
        #expect(report.applied == 3_000 && report.alreadyImported == 0)
        _ = try count.step()
        #expect(count.int64(0) == 3_010)
    }

    static func event(account: String) -> [UInt8] {
        Array(#"{"transaction_date":"2024-01-01 00:00:00","account":"\#(account)","transaction_value":1.5,"balance":null,"transaction_type":"deposit"}"#.utf8)
    }
}

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
            let original = try SQLiteDatabase(path: path).prepare("SELECT balance FROM transactions ORDER BY rowid DESC LIMIT 1")
            _ = try original.step()
            #expect(original.int64(0) == 830)
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

    /// Each entry's `transactions` row has the entry's id as rowid, also after rows the original pipeline left there;
    /// full groups of rows (multi-row inserts) and the remainder land identically.
    @Test func originalRowsShareTheEntryIdsAndPreExistingRowsAreKept() throws {
        try withDatabase { path in
            let original = try SQLiteDatabase.openFile(path: path)
            try original.execute("""
                CREATE TABLE transactions (transaction_date DATETIME, account TEXT, transaction_value NUMERIC(10,2), balance NUMERIC(10,2), transaction_type TEXT);
                INSERT INTO transactions VALUES ('2023-12-31 00:00:00', 'OLD', 1, 1, 'deposit');
                """)
            original.close()
            let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
            var csv = "transaction_date;account;transaction_value\n"
            for day in 0..<150 { csv += "\(1 + day % 28)/\(1 + day % 12)/2024;A\(day % 7);\(day % 2 == 0 ? "" : "-")\(day + 1).25\n" }
            #expect(try sink.apply(records(csv)).applied == 150)
            let check = try SQLiteDatabase.openFile(path: path)
            let joined = try check.prepare("""
                SELECT COUNT(*), SUM(t.account = e.account AND t.transaction_date = e.transaction_date
                                     AND t.transaction_type = e.transaction_type
                                     AND CAST(ROUND(t.transaction_value * 100) AS INTEGER) = e.amount_cents
                                     AND CAST(ROUND(t.balance * 100) AS INTEGER) = e.balance_cents)
                FROM ledger_entries e JOIN transactions t ON t.rowid = e.entry_id
                """)
            _ = try joined.step()
            #expect(joined.int(0) == 150 && joined.int(1) == 150)
            let first = try check.prepare("SELECT MIN(entry_id), MAX(entry_id) FROM ledger_entries")
            _ = try first.step()
            #expect(first.int(0) == 2 && first.int(1) == 151)
            #expect(try LedgerQueries(database: LedgerDatabase.open(path: path)).originalRowCount() == 151)
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

import SQLiteStore

/// The SQLite database the sink writes and `report` and `shell` read.
///
/// Tables:
/// - `transactions` (a view): the original pipeline's table, exactly its columns and values, so the original
///   dashboards and queries keep working: rows the original pipeline wrote (`original_transactions`, where an insert
///   into the view also goes), then every entry, with `transaction_value` and `balance` as its NUMERIC(10,2) columns
///   stored them (an integer when whole, else a real). ledgerstream itself never reads money from it.
/// - `ledger_postings`: one row per applied record, in the order applied (`entry_id`, the rowid, so inserts append),
///   with its stream position (topic, partition, offset), date, account, type, and amounts and balances in integer
///   cents.
/// - `ledger_entries` (a view of `ledger_postings`): the exact ledger every report and the shell use. Deliberately no
///   secondary index: each index is another B-tree every insert walks and every batch rewrites (measured: an index
///   by account halves the sink's rate). What readers need often is materialised instead (`account_balances`);
///   per-account history reads backwards from the newest entry.
/// - `account_balances`: per account, the running balance after its last applied entry and its deposit and
///   withdrawal totals, maintained in the same transaction as the entries.
/// - `reconciliation_issues`: stated balances that disagree with the derived ones, and balances gone negative.
/// - `rejected_records`: records that were not valid transaction events (kept, with the reason, not silently dropped).
/// - `sink_offsets`: per partition, the next offset to apply. Written in the same transaction as the rows, which is
///   what makes the sink exactly-once.
/// - `sink_partition_owners`: per partition, the sink that owns it and its owner generation (bumped by each claim),
///   checked in every batch's transaction: the fence that keeps a sink that lost a partition from committing to it.
/// - `import_sources`: the imported files, by content digest (see ``EventSource``); `ledger_postings.source_id` and
///   `source_line` name the row an entry came from; `import_lines` keeps which lines of each file are applied (a
///   bitmap, 64 lines a row), so a file imported twice is applied once.
///
/// Opening never drops or rewrites existing data (the original consumer dropped the table on every start).
public enum LedgerDatabase {
    /// Used by `consume --sink sqlite`, `report` and `shell` when no --db is given.
    public static let defaultPath = "ledgerstream.db"
    public static let environmentVariable = "LEDGERSTREAM_DB"

    static let migrations: [(name: String, sql: String)] = [
        ("001_ledger", """
            CREATE TABLE IF NOT EXISTS transactions (
                transaction_date DATETIME,
                account TEXT,
                transaction_value NUMERIC(10,2),
                balance NUMERIC(10,2),
                transaction_type TEXT
            );
            CREATE TABLE ledger_entries (
                entry_id INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                offset INTEGER NOT NULL CHECK (offset >= 0),
                transaction_date TEXT NOT NULL,
                account TEXT NOT NULL CHECK (account <> ''),
                transaction_type TEXT NOT NULL CHECK (transaction_type IN ('deposit', 'withdrawal')),
                amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
                balance_cents INTEGER NOT NULL,
                stated_balance_cents INTEGER
            );
            CREATE TABLE account_balances (
                account TEXT PRIMARY KEY NOT NULL,
                balance_cents INTEGER NOT NULL,
                entries INTEGER NOT NULL CHECK (entries >= 0),
                deposits INTEGER NOT NULL CHECK (deposits >= 0),
                withdrawals INTEGER NOT NULL CHECK (withdrawals >= 0),
                deposited_cents INTEGER NOT NULL CHECK (deposited_cents >= 0),
                withdrawn_cents INTEGER NOT NULL CHECK (withdrawn_cents >= 0),
                last_transaction_date TEXT
            );
            CREATE TABLE reconciliation_issues (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('balance_mismatch', 'negative_balance')),
                account TEXT NOT NULL,
                transaction_date TEXT NOT NULL,
                stated_balance_cents INTEGER,
                derived_balance_cents INTEGER NOT NULL,
                PRIMARY KEY (topic, partition, offset, kind)
            );
            CREATE TABLE rejected_records (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                reason TEXT NOT NULL,
                value TEXT,
                PRIMARY KEY (topic, partition, offset)
            );
            CREATE TABLE sink_offsets (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL CHECK (next_offset >= 0),
                updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                PRIMARY KEY (topic, partition)
            );
            """),
        // The entries' date, account and type are already in the entry's `transactions` row (same rowid): keeping
        // only the numbers here makes each entry about half as many bytes for the sink to write (measured: the
        // writer thread is the sink's bottleneck). `ledger_entries` stays, as a view with the same columns.
        ("002_ledger_postings", """
            CREATE TABLE ledger_postings (
                entry_id INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                offset INTEGER NOT NULL CHECK (offset >= 0),
                amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
                balance_cents INTEGER NOT NULL,
                stated_balance_cents INTEGER
            );
            INSERT INTO ledger_postings (entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents)
                SELECT entry_id, topic, partition, offset, amount_cents, balance_cents, stated_balance_cents FROM ledger_entries;
            DROP TABLE ledger_entries;
            CREATE VIEW ledger_entries AS
                SELECT p.entry_id AS entry_id, p.topic AS topic, p.partition AS partition, p.offset AS offset,
                       t.transaction_date AS transaction_date, t.account AS account, t.transaction_type AS transaction_type,
                       p.amount_cents AS amount_cents, p.balance_cents AS balance_cents,
                       p.stated_balance_cents AS stated_balance_cents
                FROM ledger_postings p JOIN transactions t ON t.rowid = p.entry_id;
            """),
        // Keyed by stream position only: a table without rowid is one B-tree where it was a table plus its primary
        // key's index, which halves the work of recording an issue (a random walk of balances flags half its rows).
        ("003_issues_without_rowid", """
            CREATE TABLE reconciliation_issues_by_position (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('balance_mismatch', 'negative_balance')),
                account TEXT NOT NULL,
                transaction_date TEXT NOT NULL,
                stated_balance_cents INTEGER,
                derived_balance_cents INTEGER NOT NULL,
                PRIMARY KEY (topic, partition, offset, kind)
            ) WITHOUT ROWID;
            INSERT INTO reconciliation_issues_by_position SELECT topic, partition, offset, kind, account, transaction_date,
                stated_balance_cents, derived_balance_cents FROM reconciliation_issues;
            DROP TABLE reconciliation_issues;
            ALTER TABLE reconciliation_issues_by_position RENAME TO reconciliation_issues;
            """),
        // Imports are idempotent end to end: an entry from a file row names its source (the file's digest, as a
        // small id, and the line), and a unique index makes applying one source twice impossible (006 replaces it with
        // a bitmap of applied lines). Partial, so entries
        // without a source (the shell's, plain produce) cost nothing.
        ("004_event_sources", """
            CREATE TABLE import_sources (
                source_id INTEGER PRIMARY KEY,
                file_digest TEXT NOT NULL UNIQUE,
                first_applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
            );
            ALTER TABLE ledger_postings ADD COLUMN source_id INTEGER REFERENCES import_sources (source_id);
            ALTER TABLE ledger_postings ADD COLUMN source_line INTEGER CHECK (source_line > 0);
            CREATE UNIQUE INDEX ledger_postings_by_source ON ledger_postings (source_id, source_line) WHERE source_id IS NOT NULL;
            """),
        // Several sinks may share a ledger (`consume --group`): who owns each partition, and since which claim. A sink
        // checks its generation in every batch's transaction, so one that lost a partition can never commit to it.
        ("005_partition_owners", """
            CREATE TABLE sink_partition_owners (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL CHECK (partition >= 0),
                owner_generation INTEGER NOT NULL CHECK (owner_generation > 0),
                owner TEXT NOT NULL,
                claimed_at TEXT NOT NULL,
                PRIMARY KEY (topic, partition)
            ) WITHOUT ROWID;
            """),
        // Which lines of each imported file are applied, 64 to a row, replaces the unique index over every entry's
        // (source, line): one upsert per 64 rows instead of an index insert per row (measured: the index was the
        // largest single cost of applying a file's rows). Sums of distinct powers of two are their bitwise OR.
        ("006_import_lines", """
            CREATE TABLE import_lines (
                source_id INTEGER NOT NULL,
                block INTEGER NOT NULL CHECK (block >= 0),
                bits INTEGER NOT NULL,
                PRIMARY KEY (source_id, block)
            ) WITHOUT ROWID;
            INSERT INTO import_lines (source_id, block, bits)
                SELECT source_id, source_line >> 6, SUM(1 << (source_line & 63))
                FROM ledger_postings WHERE source_id IS NOT NULL
                GROUP BY source_id, source_line >> 6;
            DROP INDEX ledger_postings_by_source;
            """),
        // One row per entry: the date, account and type move into the entry's `ledger_postings` row, and
        // `transactions` becomes a view of the same columns and values as the table it was (measured: the second row
        // was about a quarter of the sink's writer thread). Rows the original pipeline left in the table are kept in
        // `original_transactions` and shown first; an INSERT into the view (the original consumer's) lands there.
        // The amounts read as the NUMERIC column stored them: an integer when whole, else the nearest double. The
        // rename leaves other views and triggers naming `transactions` as they are (legacy_alter_table), so a user's
        // view over the table reads the new view: everything, not only the rows the original pipeline left.
        ("007_one_row_per_entry", """
            ALTER TABLE ledger_postings ADD COLUMN transaction_date TEXT;
            ALTER TABLE ledger_postings ADD COLUMN account TEXT;
            ALTER TABLE ledger_postings ADD COLUMN transaction_type TEXT;
            UPDATE ledger_postings SET transaction_date = t.transaction_date, account = t.account, transaction_type = t.transaction_type
                FROM transactions t WHERE t.rowid = ledger_postings.entry_id;
            DELETE FROM transactions WHERE rowid IN (SELECT entry_id FROM ledger_postings);
            DROP VIEW ledger_entries;
            PRAGMA legacy_alter_table = ON;
            ALTER TABLE transactions RENAME TO original_transactions;
            PRAGMA legacy_alter_table = OFF;
            CREATE VIEW ledger_entries AS
                SELECT entry_id, topic, partition, offset, transaction_date, account, transaction_type, amount_cents,
                       balance_cents, stated_balance_cents
                FROM ledger_postings;
            CREATE VIEW transactions AS
                SELECT transaction_date, account, transaction_value, balance, transaction_type FROM original_transactions
                UNION ALL
                SELECT transaction_date, account,
                       CASE WHEN amount_cents % 100 = 0 THEN amount_cents / 100 ELSE amount_cents / 100.0 END,
                       CASE WHEN balance_cents % 100 = 0 THEN balance_cents / 100 ELSE balance_cents / 100.0 END,
                       transaction_type
                FROM ledger_postings;
            CREATE TRIGGER transactions_insert INSTEAD OF INSERT ON transactions BEGIN
                INSERT INTO original_transactions (transaction_date, account, transaction_value, balance, transaction_type)
                    VALUES (NEW.transaction_date, NEW.account, NEW.transaction_value, NEW.balance, NEW.transaction_type);
            END;
            """),
        // Issues in the order they are found, in a table with rowids: each one is appended, where the primary key on
        // (topic, partition, offset, kind) made each insert a search of a tree whose text keys interleave by partition,
        // then a check that the key was free (measured: about 8,700 instructions of SQLite per issue, a third of a
        // random-walk row's cost). A position is applied at most once (the stored offsets), as for entries, which
        // have no such key either; every reader orders issues itself. As in 007, a user's view over the table keeps
        // reading it under its name.
        ("008_issues_in_order", """
            CREATE TABLE reconciliation_issues_in_order (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('balance_mismatch', 'negative_balance')),
                account TEXT NOT NULL,
                transaction_date TEXT NOT NULL,
                stated_balance_cents INTEGER,
                derived_balance_cents INTEGER NOT NULL
            );
            INSERT INTO reconciliation_issues_in_order SELECT topic, partition, offset, kind, account, transaction_date,
                stated_balance_cents, derived_balance_cents FROM reconciliation_issues;
            PRAGMA legacy_alter_table = ON;
            DROP TABLE reconciliation_issues;
            ALTER TABLE reconciliation_issues_in_order RENAME TO reconciliation_issues;
            PRAGMA legacy_alter_table = OFF;
            """),
    ]

    /// Opens the database, creating the schema when writable. A read-only open of a file that does not exist, or
    /// that holds no ledger, is an error that says which command fills it.
    public static func open(path: String, readOnly: Bool = false, busyTimeoutMs: Int32 = 5000) throws -> SQLiteDatabase {
        if readOnly {
            let database: SQLiteDatabase
            do {
                database = try SQLiteDatabase.openFile(path: path, readOnly: true, busyTimeoutMs: busyTimeoutMs)
            } catch {
                throw LedgerError.noDatabase(path)
            }
            // ledger_postings since migration 002; a ledger no sink of this version has opened has the table
            // ledger_entries, which the readers use the same way.
            guard try database.tableExists("ledger_postings") || database.tableExists("ledger_entries") else {
                throw LedgerError.noLedger(path)
            }
            return database
        }
        let database = try SQLiteDatabase.openFile(path: path, busyTimeoutMs: busyTimeoutMs)
        // A larger page cache (allocated only as used) and mapped reads keep large ledgers' hot pages in memory;
        // checkpoints (WAL pages copied into the database, then fsync) every 64 MB of WAL instead of every 4 MB.
        try database.execute("PRAGMA cache_size = -4096; PRAGMA mmap_size = 1073741824; PRAGMA wal_autocheckpoint = 16384;")
        try database.migrate(migrations)
        return database
    }
}

/// Failures of the ledger layer, each saying what to do.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case noDatabase(String)
    case noLedger(String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            return "no database at \(path) — run `ledgerstream consume --sink sqlite --db \(path)` to create it"
        case .noLedger(let path):
            return "\(path) holds no ledger (no ledger_entries table) — it is filled by `ledgerstream consume --sink sqlite`"
        }
    }
}

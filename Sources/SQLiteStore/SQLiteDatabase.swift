import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An SQLite error: the result code, SQLite's message and the statement that failed.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The primary result code (SQLITE_BUSY, SQLITE_CONSTRAINT, …).
    public let code: Int32
    public let message: String
    public let sql: String?

    public var description: String {
        sql.map { "SQLite error \(code): \(message) (in: \($0))" } ?? "SQLite error \(code): \(message)"
    }

    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    public var isConstraint: Bool { code == SQLITE_CONSTRAINT }
    /// The disk (or quota, or max_page_count) is full: retrying once space is freed can succeed.
    public var isFull: Bool { code == SQLITE_FULL }
}

/// `SQLITE_TRANSIENT` is a C macro and is not imported: it tells SQLite to copy bound text and blobs.
let transientDestructor = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// One SQLite connection. Thin on purpose: prepared statements, typed binds and reads, scoped transactions.
///
/// Not thread-safe: one owner uses it at a time (the connection is opened with SQLITE_OPEN_NOMUTEX). Files are put in
/// WAL mode by ``openFile(path:)`` so a reader never blocks the writer, and `busy_timeout` makes a second process
/// (for example `report` while the sink writes) wait briefly instead of failing.
public final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    public let path: String

    /// Opens (creating if needed) a database file in WAL mode with synchronous=NORMAL: a committed transaction
    /// survives the process being killed, and a power loss can lose at most the last transactions.
    public static func openFile(path: String, readOnly: Bool = false, busyTimeoutMs: Int32 = 5000) throws(SQLiteError) -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: path, readOnly: readOnly)
        sqlite3_busy_timeout(database.handle, busyTimeoutMs)
        if !readOnly {
            try database.retryingBusy(forMs: busyTimeoutMs) { () throws(SQLiteError) in
                try database.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            }
        }
        return database
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, until `timeoutMs` have passed since the first attempt.
    ///
    /// Switching a new file to WAL takes a read lock and then the write lock. If another connection holds the write
    /// lock in between, SQLite answers SQLITE_BUSY at once, without calling the busy handler (waiting could
    /// deadlock). That is exactly what happens when the sinks of a group create one database together, so the switch
    /// is retried from the start, holding no lock while it sleeps. The deadline is on the monotonic clock: an attempt
    /// may itself wait in the busy handler.
    func retryingBusy(forMs timeoutMs: Int32, _ body: () throws(SQLiteError) -> Void) throws(SQLiteError) {
        func nowMs() -> Int64 {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
        }
        let deadline = nowMs() + Int64(timeoutMs)
        var pause: Int32 = 1
        while true {
            do {
                return try body()
            } catch where error.isBusy && nowMs() < deadline {
                _ = sqlite3_sleep(Int32(min(Int64(pause), max(deadline - nowMs(), 1))))
                pause = min(pause * 2, 25)
            }
        }
    }

    /// Process-wide SQLite settings, applied once before the first open (SQLite ignores them later).
    private static let configured: Void = {
        _ = ledgerstream_sqlite_disable_memstatus()
    }()

    public init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        Self.configured
        self.path = path
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let result = sqlite3_open_v2(path, &db, flags, nil)
        guard result == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw SQLiteError(code: result & 0xFF, message: "\(message): \(path)", sql: nil)
        }
        handle = db
    }

    deinit {
        close()
    }

    public func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: code & 0xFF, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed", sql: sql)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw SQLiteError(code: result & 0xFF, message: text, sql: sql)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard result == SQLITE_OK, let statement else { throw error(result, sql: sql) }
        return Statement(statement: statement, database: self, sql: sql)
    }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE, so the write lock is taken up front): commits if it returns,
    /// rolls back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Whether a table exists (used to detect databases written by other programs).
    public func tableExists(_ name: String) throws(SQLiteError) -> Bool {
        let statement = try prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        try statement.bind(1, name)
        return try statement.step()
    }

    /// Applies the migrations not applied yet, in order, each in its own transaction, recording them in
    /// `schema_migrations`. A migration is never edited once shipped; add a new one instead. Several processes
    /// opening one new database at once (sinks of a group) migrate it once: each migration is checked again under
    /// the write lock its transaction takes.
    public func migrate(_ migrations: [(name: String, sql: String)]) throws {
        try transaction {
            try execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        }
        let applied = try prepare("SELECT 1 FROM schema_migrations WHERE name = ?")
        for migration in migrations {
            try transaction {
                try applied.bind(1, migration.name)
                defer { applied.reset() }
                if try applied.step() { return }
                try execute(migration.sql)
                let record = try prepare("INSERT INTO schema_migrations (name) VALUES (?)")
                try record.bind(1, migration.name)
                try record.run()
            }
        }
    }
}

/// A prepared statement. Bind parameters are 1-based, result columns 0-based, as in SQLite's C API.
public final class Statement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase
    public let sql: String

    init(statement: OpaquePointer, database: SQLiteDatabase, sql: String) {
        self.statement = statement
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(statement)
    }

    private func check(_ result: Int32) throws(SQLiteError) {
        guard result == SQLITE_OK else { throw database.error(result, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) { try check(sqlite3_bind_int64(statement, index, value)) }
    public func bind(_ index: Int32, _ value: Int) throws(SQLiteError) { try bind(index, Int64(value)) }
    public func bind(_ index: Int32, _ value: Double) throws(SQLiteError) { try check(sqlite3_bind_double(statement, index, value)) }

    public func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        guard let value else { return try check(sqlite3_bind_null(statement, index)) }
        try check(sqlite3_bind_text(statement, index, value, -1, transientDestructor))
    }

    /// Binds UTF-8 text straight from bytes (copied by SQLite), for hot paths that never make a `String`.
    public func bind(_ index: Int32, utf8 text: UnsafeBufferPointer<UInt8>) throws(SQLiteError) {
        try check(text.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), transientDestructor)
        })
    }

    /// Binds UTF-8 text without SQLite copying it (SQLITE_STATIC). The caller guarantees the bytes stay valid and
    /// unchanged until the statement has run (or is rebound): bulk inserts bind from a buffer they own, saving an
    /// allocation and a copy per value.
    public func bindUnsafeNoCopy(_ index: Int32, utf8 text: UnsafeBufferPointer<UInt8>) throws(SQLiteError) {
        try check(text.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), nil)
        })
    }

    public func bind(_ index: Int32, blob: [UInt8]?) throws(SQLiteError) {
        guard let blob else { return try check(sqlite3_bind_null(statement, index)) }
        try check(blob.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transientDestructor) })
    }

    public func bindNull(_ index: Int32) throws(SQLiteError) { try check(sqlite3_bind_null(statement, index)) }

    /// Advances: true when a row is available, false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(statement)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(result, sql: sql)
        }
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    /// Bindings are kept (as in SQLite's C API): callers rebind what changes. Skipping `sqlite3_clear_bindings` on
    /// every run matters for statements run millions of times.
    public func run() throws(SQLiteError) {
        defer { sqlite3_reset(statement) }
        _ = try step()
    }

    /// Ready for new bindings and another run.
    public func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }

    public func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: text)
    }

    public func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// The SQLite storage class of a column in the current row (SQLITE_INTEGER, SQLITE_TEXT, …).
    public func columnType(_ column: Int32) -> Int32 { sqlite3_column_type(statement, column) }
}

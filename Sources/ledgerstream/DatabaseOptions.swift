import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Ledger
import PostgresLedger

/// `--db PATH|URL`, shared by `consume --sink`, `report` and `shell`: a SQLite file, or a PostgreSQL URL
/// (postgres://user@host:port/dbname). Default $LEDGERSTREAM_DB, then $DATABASE_URL when it is a PostgreSQL URL, then
/// ./ledgerstream.db.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"),
            help: ArgumentHelp("The ledger: a SQLite file, or a PostgreSQL URL postgres://user@host:port/dbname (env LEDGERSTREAM_DB, then DATABASE_URL; default ledgerstream.db).",
                               valueName: "path|url"),
            completion: .file(extensions: ["db", "sqlite"]))
    var path: String?

    /// The --db value, or the environment's, or the default file.
    var resolvedPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let path { return path }
        if let value = environment[LedgerDatabase.environmentVariable] { return value }
        if let url = environment["DATABASE_URL"], PostgresURL.isPostgres(url) { return url }
        return LedgerDatabase.defaultPath
    }

    /// Whether the ledger is a PostgreSQL database.
    var isPostgres: Bool { PostgresURL.isPostgres(resolvedPath) }

    /// The PostgreSQL URL parsed (PG* variables fill what it leaves out); a bad one is `command`'s one-line error
    /// (exit 78).
    func postgresURL(for command: String) throws -> PostgresURL {
        do {
            return try PostgresURL(parsing: resolvedPath, environment: ProcessInfo.processInfo.environment)
        } catch {
            printError(command, error.description)
            throw ExitCodes.configError
        }
    }

    /// The ledger opened read-only, as `report` and `shell` use it; a missing database or one that holds no ledger
    /// is reported as `command`'s one-line error (exit 74).
    func openQueries(for command: String) throws -> LedgerQueries {
        do {
            return LedgerQueries(database: try LedgerDatabase.open(path: resolvedPath, readOnly: true))
        } catch let error as LedgerError {
            printError(command, error.description)
            throw ExitCodes.ioError
        }
    }
}

/// A progress line on standard error, redrawn in place, only when standard error is a terminal.
final class ProgressLine {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastDraw: UInt64 = 0

    func update(_ text: @autoclosure () -> String, force: Bool = false) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let line = "\r\u{1B}[2K" + text()
        writeStandardError(line)
    }

    func finish() {
        guard enabled, lastDraw != 0 else { return }
        writeStandardError("\r\u{1B}[2K")
    }

    static func bar(done: Int, total: Int, width: Int = 30) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * Double(width))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
    }
}

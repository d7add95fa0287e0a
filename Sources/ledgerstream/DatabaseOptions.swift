import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Ledger
import Logging
import PostgresLedger
import Synchronization

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

    /// The ledger as `report` and `shell` read it — the SQLite file (as ``openQueries(for:)``) or the PostgreSQL
    /// database, connected as `ledgerstream-COMMAND` — and where it is, without password, for what they print. A
    /// failure is `command`'s one-line error naming the server: exit 69 when it cannot be reached, 77 when it refuses
    /// the login, 74 when the database or its ledger is missing, 78 for a bad URL.
    func openReader(for command: String) async throws -> (reader: any LedgerReading, location: String) {
        guard isPostgres else { return (try openQueries(for: command), resolvedPath) }
        let url = try postgresURL(for: command)
        // postgres-nio's own messages, warnings up, on standard error: standard output is the command's.
        var logger = Logger(label: "ledgerstream-\(command)", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        do {
            let reader = try await PostgresLedgerReader(url: url, environment: ProcessInfo.processInfo.environment,
                                                        applicationName: "ledgerstream-\(command)", logger: logger)
            return (reader, url.description)
        } catch let error as PostgresLedgerError {
            printError(command, error.description)
            switch error {
            case .unreachable, .tls: throw ExitCodes.unavailable
            case .authentication: throw ExitCodes.permission
            case .badURL: throw ExitCodes.configError
            case .noDatabase, .noLedger, .server, .schemaTooNew: throw ExitCodes.ioError
            }
        } catch {
            printError(command, "cannot read the ledger at \(url): \(error)")
            throw ExitCodes.ioError
        }
    }
}

/// A ``ProgressLine`` that several threads update (the two halves of a file's check).
final class SharedProgressLine: Sendable {
    private let line = Mutex(ProgressLine())

    /// `text` is only called when the line is drawn (at most ten times a second).
    func update(_ text: @Sendable () -> String) {
        line.withLock { $0.update(text()) }
    }

    func finish() {
        line.withLock { $0.finish() }
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

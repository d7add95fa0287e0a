import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Ledger

/// `--db PATH`, shared by `consume --sink sqlite`, `report` and `shell`; default $LEDGERSTREAM_DB, then
/// ./ledgerstream.db.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite database of the ledger (env LEDGERSTREAM_DB; default ledgerstream.db).",
            completion: .file(extensions: ["db", "sqlite"]))
    var path: String?

    var resolvedPath: String {
        path ?? ProcessInfo.processInfo.environment[LedgerDatabase.environmentVariable] ?? LedgerDatabase.defaultPath
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

import ArgumentParser
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `--verbose` / `--log-level`, shared by every command. Logs go to standard error through swift-log.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log more detail (same as --log-level debug).")
    var verbose = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level?

    var level: Logger.Level { logLevel ?? (verbose ? .debug : .info) }

    /// Installs the standard-error log handler once for the process and returns a logger. `quietByDefault`
    /// (commands whose own output tells the story, such as `demo`) logs only warnings unless asked for more.
    func bootstrap(label: String, quietByDefault: Bool = false) -> Logger {
        let level = quietByDefault && logLevel == nil && !verbose ? .warning : self.level
        LoggingSystem.bootstrap { name in
            var handler = StreamLogHandler.standardError(label: name)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes a line to standard output and flushes at once (readiness lines are read through pipes by scripts).
func printFlushed(_ line: String) {
    print(line)
    fflush(nil)
}

/// Writes `ledgerstream <command>: <message>` to standard error.
func printError(_ command: String, _ message: String) {
    fflush(nil)
    writeStandardError("ledgerstream \(command): \(message)\n")
}

/// Writes straight to file descriptor 2 (unbuffered, so it interleaves correctly with progress lines and logs).
func writeStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

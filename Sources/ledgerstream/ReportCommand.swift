import ArgumentParser
import Ledger
import Report

#if canImport(Glibc)
import Glibc
#endif

/// `ledgerstream report`: the original Streamlit dashboards as text, read from the database the sink writes.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show the ledger as text dashboards: transactions, a heatmap, deposit/withdrawal bars, balance charts, reconciliation.",
        discussion: """
            Reads the ledger `consume --sink sqlite|postgres` writes (--db: a SQLite file or a PostgreSQL URL). \
            Sections: the latest transactions; those of a period (--from/--to, inclusive days); transactions per account and type as a heatmap; amounts \
            deposited and withdrawn per account as stacked bars; each account's balance over time; balance \
            mismatches and negative balances. The charts cover the period (all dates by default) and its --top most \
            active accounts. Amounts are exact. Fits the terminal width (else $COLUMNS, else 100; --width wins); \
            colour only on a terminal and without NO_COLOR (--color always overrides both).
            --follow redraws when the database changes (checked every 0.5 s): in place on a terminal, otherwise each \
            new report follows the last after a blank line (json: one object per line). Ctrl-C stops.
            --format json: one object with a key per section, amounts in integer cents. --format csv: the \
            transactions of the period (every one unless --limit is given) with a header line.
            --serve [HOST:PORT] (default 127.0.0.1:8501) serves the same views as a live web page instead, with JSON at \
            /api/report (the --format json object), /api/transactions, /api/accounts and /api/history; --desk adds \
            deposits and withdrawals behind a login with the token in $LEDGERSTREAM_DESK_TOKEN or --desk-token-file, \
            produced to --topic through the cluster of --bootstrap-server.
            """
    )

    enum ColorMode: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, csv
    }

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("First day of the period (inclusive).", valueName: "YYYY-MM-DD"))
    var from: String?

    @Option(help: ArgumentHelp("Last day of the period (inclusive).", valueName: "YYYY-MM-DD"))
    var to: String?

    @Option(help: "The account whose balance is charted (default: the --top most active).")
    var account: String?

    @Option(help: "Transactions and issues listed: the latest N (default 20; 0 for all; csv: all).")
    var limit: Int?

    @Option(help: "Accounts in the charts: the N most active in the period (0 for all).")
    var top: Int = 8

    @Option(help: "Columns to fit (default: the terminal's, else $COLUMNS, else 100).")
    var width: Int?

    @Option(help: "Colour: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto

    @Option(help: "Output: text, json or csv.")
    var format: Format = .text

    @Flag(name: [.short, .long], help: "Keep running and redraw as new transactions arrive (Ctrl-C stops).")
    var follow = false

    @Flag(help: "Serve the dashboard as a live web page (on 127.0.0.1:8501 unless an address follows) until Ctrl-C.")
    var serve = false

    @Argument(help: ArgumentHelp("With --serve: where to listen, HOST:PORT, :PORT or PORT (default 127.0.0.1:8501).", valueName: "host:port"))
    var address: String?

    @Flag(help: "With --serve: the transaction desk (deposits and withdrawals), behind a login with the desk token.")
    var desk = false

    @Option(help: ArgumentHelp("With --desk: read the desk token from FILE (default: $LEDGERSTREAM_DESK_TOKEN).", valueName: "file"),
            completion: .file())
    var deskTokenFile: String?

    @Option(help: "With --desk: the topic transactions are produced to.", completion: .custom(topicNames))
    var topic = "transactions"

    @Option(help: "With --desk: seconds to wait for the sink to apply a transaction before saying it has not.")
    var applyTimeout: Double = 5

    @OptionGroup(title: "With --desk: the cluster") var client: ClientOptions

    /// Days checked and written as "YYYY-MM-DD" (the queries compare text).
    var fromDay: String? { from.flatMap(Self.day) }
    var toDay: String? { to.flatMap(Self.day) }

    static func day(_ text: String) -> String? {
        guard !text.contains(" "), !text.contains("T"), let date = TransactionDate(parsing: text) else { return nil }
        return date.dayDescription
    }

    func validate() throws {
        if let from, fromDay == nil { throw ValidationError("--from must be a date YYYY-MM-DD, got '\(from)'") }
        if let to, toDay == nil { throw ValidationError("--to must be a date YYYY-MM-DD, got '\(to)'") }
        if let fromDay, let toDay, fromDay > toDay { throw ValidationError("--from \(fromDay) is after --to \(toDay)") }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 (all) or more") }
        if top < 0 { throw ValidationError("--top must be 0 (all) or more") }
        if let width, width < ReportText.minimumWidth { throw ValidationError("--width must be at least \(ReportText.minimumWidth)") }
        if follow && format == .csv { throw ValidationError("--follow redraws text or json reports; csv is a one-off export") }
        if serve {
            if follow || format != .text { throw ValidationError("--serve is live already and serves every format; leave out --follow and --format") }
            if from != nil || to != nil || account != nil || limit != nil || width != nil || top != 8 {
                throw ValidationError("with --serve the period, account and sizes are chosen on the page (or in its URL: /?from=2024-01-01&to=2024-01-31&account=C100&top=8); leave out --from, --to, --account, --top, --limit and --width")
            }
        } else if desk || deskTokenFile != nil {
            throw ValidationError("--desk and --desk-token-file go with --serve")
        } else if let address {
            throw ValidationError("unexpected argument '\(address)': an address goes with --serve (report --serve \(address))")
        }
        if deskTokenFile != nil && !desk { throw ValidationError("--desk-token-file goes with --desk") }
        if desk { _ = try deskToken() }
        if serve { _ = try serveAddress(address) }
        if !(applyTimeout > 0) { throw ValidationError("--apply-timeout must be more than 0 seconds") }
    }

    func run() async throws {
        let (queries, path) = try await database.openReader(for: "report")
        if serve {
            try await runServer(queries: queries, location: path, listen: address)
            return
        }
        do {
            if follow {
                try await ReportFollower(command: self, queries: queries, path: path).run()
            } else if format == .csv {
                try await exportCSV(queries)
            } else {
                let output = OutputWriter()
                output.write(render(try await load(queries, path: path), width: resolvedWidth()) + "\n")
                output.flush()
            }
        } catch {
            await queries.close()
            printError("report", "cannot read \(path): \(error)")
            throw ExitCodes.ioError
        }
        await queries.close()
    }

    /// Transactions listed per section: `--limit`, else 20; nil means all.
    var pageSize: Int? {
        let size = limit ?? 20
        return size == 0 ? nil : size
    }

    /// Everything the report shows, read in one snapshot of the database.
    func load(_ queries: any LedgerReading, path: String) async throws -> ReportData {
        try await ReportData.load(from: queries, query: ReportQuery(
            period: ReportPeriod(from: fromDay, to: toDay), account: account, pageSize: pageSize, top: top,
            location: path, sink: database.isPostgres ? "postgres" : "sqlite"))
    }

    /// The report as text or JSON, without a final newline (csv is written row by row by ``exportCSV(_:)``).
    func render(_ data: ReportData, width: Int) -> String {
        if format == .json { return ReportJSON.render(data) }
        return ReportText.render(data, width: width, style: TextStyle(colored: useColor)).joined(separator: "\n")
    }

    /// Every transaction of the period (or the latest --limit), streamed.
    func exportCSV(_ queries: any LedgerReading) async throws {
        let output = OutputWriter()
        output.write(ReportCSV.header + "\n")
        if limit != nil {
            for entry in try await queries.latestTransactions(from: fromDay, to: toDay, limit: pageSize) {
                output.write(ReportCSV.line(entry) + "\n")
            }
        } else {
            try await queries.forEachTransaction(from: fromDay, to: toDay) { output.write(ReportCSV.line($0) + "\n") }
        }
        output.flush()
    }

    var useColor: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto: return isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
        }
    }

    /// --width, else the terminal's (TIOCGWINSZ on standard output), else $COLUMNS, else 100.
    func resolvedWidth() -> Int {
        if let width { return width }
        if let size = TerminalSize.current(), size.columns > 0 { return size.columns }
        if let text = getenv("COLUMNS"), let columns = Int(String(cString: text)), columns > 0 { return columns }
        return 100
    }
}

/// The size of the terminal on standard output, if it is one.
struct TerminalSize {
    var columns: Int
    var rows: Int

    static func current() -> TerminalSize? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 else { return nil }
        return TerminalSize(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }
}

/// `report --follow`: polls the ledger's change counter (SQLite: no table read; PostgreSQL: one row per partition)
/// every 0.5 s, reloads and renders when it moved or the terminal was resized, and shows the report only when its
/// text changed.
struct ReportFollower {
    let command: ReportCommand
    let queries: any LedgerReading
    let path: String

    private static let escape = "\u{1B}["

    func run() async throws {
        let signals = installStopHandlers()
        defer { _ = signals }
        let output = OutputWriter()
        let onTerminal = isatty(STDOUT_FILENO) == 1 && command.format == .text
        // On a terminal the report is redrawn in the alternate screen with the cursor hidden (as `watch` and `top`
        // do); at the end, even on an error, the screen is restored and the last report left printed on it.
        if onTerminal { output.write(Self.escape + "?1049h" + Self.escape + "?25l") }
        var shown: String?
        defer {
            if onTerminal { output.write(Self.escape + "?25h" + Self.escape + "?1049l" + (shown.map { $0 + "\n" } ?? "")) }
            output.flush()
        }
        var lastCounter: Int64?
        var lastSize = (columns: 0, rows: 0)
        while !stopRequested.withLock({ $0 }) {
            let counter = try await queries.changeCounter()
            let size = (columns: command.resolvedWidth(), rows: onTerminal ? TerminalSize.current()?.rows ?? 0 : 0)
            if counter != lastCounter || size != lastSize {
                lastCounter = counter
                lastSize = size
                let text = command.render(try await command.load(queries, path: path), width: size.columns)
                if text != shown {
                    if onTerminal {
                        output.write(screen(text, rows: size.rows))
                    } else {
                        output.write((shown == nil || command.format == .json ? "" : "\n") + text + "\n")
                    }
                    shown = text
                    output.flush()
                }
            }
            for _ in 0..<5 where !stopRequested.withLock({ $0 }) {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// The report drawn from the top left over the previous one, each line clearing what it does not cover, cut
    /// to the terminal's height, with a status line at the bottom.
    func screen(_ text: String, rows: Int) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if rows > 2 && lines.count > rows - 1 {
            let hidden = lines.count - (rows - 2)
            lines = Array(lines.prefix(rows - 2)) + ["… \(hidden) more lines below: a taller terminal or a smaller --limit shows them"]
        }
        let now = TransactionDate.now().description
        lines.append(TextStyle(colored: command.useColor).paint("following \(path) · updated \(now.dropFirst(11)) · Ctrl-C to stop", .dim))
        return Self.escape + "H" + lines.map { $0 + Self.escape + "K" }.joined(separator: "\n") + Self.escape + "J"
    }
}

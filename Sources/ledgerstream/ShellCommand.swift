import ArgumentParser
import FoundationEssentials
import Glibc
import KafkaClient
import Ledger
import Shell

/// `shell`: the REPL standing in for the original Tkinter form.
struct ShellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Work on accounts interactively: balances, deposits, withdrawals, history.",
        discussion: """
            Reads balances from the ledger the sink writes (--db: a SQLite file or a PostgreSQL URL) and enters new transactions by producing \
            them to the topic (acks=all, idempotent), then shows the new balance once the sink has applied it. \
            Commands: accounts, login ACCOUNT, balance, deposit AMOUNT, withdraw AMOUNT, history [N], logout, help, \
            quit. On a terminal: line editing, Tab completion of commands and accounts, and a history file. With piped \
            stdin there is no prompt; errors go to stderr and the exit status is 1 if any command failed.
            """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var database: DatabaseOptions

    @Option(help: "Topic transactions are produced to.", completion: .custom(topicNames))
    var topic = "transactions"

    @Option(help: "History file (default ~/.ledgerstream_history; env LEDGERSTREAM_HISTORY).", completion: .file())
    var historyFile: String?

    @Option(help: "Seconds to wait for the sink to apply a new transaction before saying it has not.")
    var applyTimeout: Double = 5

    func run() async throws {
        let (queries, path) = try await database.openReader(for: "shell")
        let interactive = isatty(STDIN_FILENO) == 1
        let lines: any LineSource = interactive ? ReadlineLineSource(historyFile: historyPath) : PipedLineSource()
        let kafka = try client.makeClient(clientId: "ledgerstream-shell", command: "shell")
        // Meet the cluster while the agent types: a session that has reached it rides through a broker restart (its
        // deposits wait for the broker to come back) instead of failing as if no broker ever ran.
        let topic = self.topic
        let warmUp = Task { _ = try? await kafka.refreshMetadata(topics: [topic]) }
        let backend = LiveShellBackend(client: kafka, topic: topic, queries: SerialReader(queries),
                                       sinkCommand: "ledgerstream consume --sink \(database.isPostgres ? "postgres" : "sqlite")")
        let session = ShellSession(
            backend: backend, applyTimeoutMs: Int(applyTimeout * 1000),
            print: { printFlushed($0) },
            fail: { message in interactive ? printFlushed("error: " + message) : printError("shell", message) })
        if interactive {
            printFlushed("ledgerstream shell — \(path), topic \(topic) at \(client.servers). `help` lists the commands, Ctrl-D leaves.")
        }
        while true {
            ReadlineLineSource.setAccounts(session.knownAccounts)
            guard let line = await lines.readLine(prompt: session.prompt) else { break }
            guard await session.handle(line) else { break }
        }
        await lines.close()
        warmUp.cancel()
        await backend.close()
        await queries.close()
        await kafka.close()
        if !interactive && session.errorCount > 0 { throw ExitCodes.failure }
    }

    private var historyPath: String? {
        if let historyFile { return historyFile }
        if let fromEnvironment = ProcessInfo.processInfo.environment["LEDGERSTREAM_HISTORY"] { return fromEnvironment }
        return ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.ledgerstream_history" }
    }
}

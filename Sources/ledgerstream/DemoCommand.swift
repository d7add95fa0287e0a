import ArgumentParser
import FoundationEssentials
import KafkaBroker
import KafkaServer
import KafkaClient
import Ledger
import Logging
import ServiceLifecycle
import Synchronization

/// `demo`: the whole pipeline in one command, for a first run on a fresh machine.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline once: broker, topic, CSV import, exactly-once SQLite sink, report.",
        discussion: """
            Starts an embedded broker (no coordinator needed) with a fresh data directory, creates the topic, produces \
            the sample transactions (data/client_transactions.csv when present, else a built-in copy), applies them to \
            a SQLite ledger through the Kafka protocol, prints the report and stops, leaving the database for `report` \
            and `shell`. With --keep-running the broker and the sink stay up (Ctrl-C stops them) so `shell` and \
            `report --follow` can be tried next against localhost; with --metrics-listener the process also serves \
            Prometheus metrics (the sink's and the process's) at /metrics, with /healthz and /readyz.
            """
    )

    @Option(help: "Directory for the demo's broker data and ledger database (recreated on each run).", completion: .directory)
    var dir = "ledgerstream-demo"

    @Option(help: "Transactions to import (the original CSV format).", completion: .file(extensions: ["csv"]))
    var csv: String?

    @Option(help: "Topic name.", completion: .custom(topicNames))
    var topic = "transactions"

    @Option(help: "Broker port (default: 9092 with --keep-running, so other commands find it; else any free port).")
    var port: Int?

    @Flag(help: "Keep the broker and the sink running after the report, until Ctrl-C.")
    var keepRunning = false

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var operations: SinkOperationsOptions

    func validate() throws {
        if operations.metricsListener != nil && !keepRunning {
            throw ValidationError("--metrics-listener needs --keep-running: without it the demo stops right after its report")
        }
    }

    /// Marks a directory as the demo's, so re-running may clear it (and never clears anything else).
    static let marker = ".ledgerstream-demo"

    func run() async throws {
        let logger = logging.bootstrap(label: "ledgerstream.demo", quietByDefault: true)
        try prepareDirectory()
        let input = try loadTransactions()
        // The process's metrics registry and endpoint, up before the broker so that it shares them (broker and sink
        // metrics in one scrape) and `/readyz` reports the broker's log loading, then the sink's lag.
        let brokerReadiness = BrokerReadiness()
        let surface = try await SinkOperations.start(operations, command: "demo", logger: logger,
                                                     otherDescriptions: BrokerMetrics.descriptions,
                                                     readyFirst: { brokerReadiness.readiness })
        if let url = surface.metricsURL { printFlushed("ledgerstream demo: metrics endpoint at \(url) (health at /healthz and /readyz)") }
        do {
            try await run(input: input, surface: surface, brokerReadiness: brokerReadiness, logger: logger)
        } catch {
            await surface.stop()
            throw error
        }
        await surface.stop()
    }

    private func run(input: DemoInput, surface: SinkOperations, brokerReadiness: BrokerReadiness, logger: Logger) async throws {
        var config = BrokerConfig()
        config.listeners = [Listener(host: "127.0.0.1", port: port ?? (keepRunning ? 9092 : 0))]
        config.logDirs = [dir + "/broker"]
        config.numPartitions = 3
        let ready = AsyncStream.makeStream(of: Int.self)
        let server: BrokerServer
        do {
            server = try BrokerServer(config: config, logger: logger, metrics: surface.registry, readiness: brokerReadiness) { address in
                ready.continuation.yield(address.port ?? 0)
                ready.continuation.finish()
            }
        } catch {
            printError("demo", "cannot open \(dir)/broker: \(error)")
            throw ExitCodes.ioError
        }
        applyProcessSettings(of: server, logger: logger)
        let steps = DemoSteps(command: self, input: input, ready: ready.stream, metrics: surface.metrics, logger: logger)
        let services = ServiceGroup(configuration: .init(
            services: [
                namedService(server, "broker"),
                .init(service: steps, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "demo"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch let error as BrokerStartError {
            printError("demo", "\(error)")
            throw ExitCodes.unavailable
        }
        if let failure = steps.failure.withLock({ $0 }) { throw failure }
    }

    /// Creates the directory, or clears one a previous demo left (only if it carries the marker).
    private func prepareDirectory() throws {
        let files = FileManager.default
        if files.fileExists(atPath: dir) {
            let contents = (try? files.contentsOfDirectory(atPath: dir)) ?? []
            guard contents.isEmpty || contents.contains(Self.marker) else {
                printError("demo", "\(dir) exists and was not made by `ledgerstream demo`; remove it or pick another with --dir")
                throw ExitCodes.ioError
            }
            for name in contents { try? files.removeItem(atPath: dir + "/" + name) }
        }
        do {
            try files.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: dir + "/" + Self.marker))
        } catch {
            printError("demo", "cannot create \(dir): \(error)")
            throw ExitCodes.ioError
        }
    }

    /// The CSV to import: --csv, else the repository's sample, else the built-in copy of it.
    private func loadTransactions() throws -> DemoInput {
        let path = csv ?? "data/client_transactions.csv"
        let bytes: [UInt8]
        let name: String
        if let data = FileManager.default.contents(atPath: path) {
            (bytes, name) = (Array(data), path)
        } else if csv == nil {
            (bytes, name) = (Array(Self.builtInSample.utf8), "the built-in sample")
        } else {
            printError("demo", "cannot read \(path): no such file or not readable")
            throw ExitCodes.ioError
        }
        let parsed = TransactionCSV(bytes: bytes, file: path)
        guard parsed.errors.isEmpty else {
            for error in parsed.errors.prefix(20) { printError("demo", error.description) }
            throw ExitCodes.dataError
        }
        return DemoInput(name: name, rows: parsed.rows, digest: EventSource.digest(of: bytes))
    }

    var databasePath: String { dir + "/ledger.db" }

    /// data/client_transactions.csv as shipped, so the demo also runs outside the repository.
    static let builtInSample = """
        transaction_date;account;transaction_value;balance\r
        01/01/2024;C100;1000;1000\r
        02/01/2024;C200;2500;2500\r
        03/01/2024;C200;-200;2300\r
        04/01/2024;C100;-25;975\r
        05/01/2024;C100;-145;830
        """
}

/// The transactions the demo imports: where from, the rows, and the file's digest (each record names its row).
struct DemoInput: Sendable {
    var name: String
    var rows: [TransactionCSV.Row]
    var digest: String
}

/// The demo's steps, run as a service next to the broker: once it listens, create the topic, produce, sink, report;
/// then (with --keep-running) keep the sink going until shutdown.
final class DemoSteps: Service, Sendable {
    let command: DemoCommand
    let input: DemoInput
    let ready: AsyncStream<Int>
    let metrics: SinkMetrics
    let logger: Logger
    let failure = Mutex<(any Error)?>(nil)

    init(command: DemoCommand, input: DemoInput, ready: AsyncStream<Int>, metrics: SinkMetrics, logger: Logger) {
        self.command = command
        self.input = input
        self.ready = ready
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        let address = "127.0.0.1:\(port)"
        printFlushed("ledgerstream demo: broker listening on \(address) (data \(command.dir)/broker)")
        do {
            try await runSteps(bootstrap: address)
        } catch {
            failure.withLock { $0 = error }
        }
    }

    private func runSteps(bootstrap: String) async throws {
        let topic = command.topic
        let client = KafkaClient(bootstrap: try BrokerAddress.list(bootstrap), clientId: "ledgerstream-demo")
        do {
            try await client.createTopic(topic, partitions: 3, replicationFactor: 1, configs: [:])
            printFlushed("  topic \(topic) created (3 partitions)")

            let producer = KafkaProducer(client: client, config: ProducerConfig())
            let failed = Mutex(0)
            try await EventPublisher.send(rows: input.rows, fileDigest: input.digest, to: topic, with: producer,
                                          onDelivery: { if case .failure = $0 { failed.withLock { $0 += 1 } } })
            await producer.close()
            guard failed.withLock({ $0 }) == 0 else { throw KafkaClientError.timeout("\(failed.withLock { $0 }) transactions were not acknowledged") }
            printFlushed("  \(input.rows.count) transactions from \(input.name) produced (acks=all, idempotent, keyed by account)")

            let writer = SinkWriter(try LedgerSink(database: LedgerDatabase.open(path: command.databasePath), metrics: metrics))
            var options = SinkRunner.Options(topics: [topic])
            options.exitAtEnd = true
            let report = try await SinkRunner(client: client, store: writer, options: options, logger: logger).run(shouldStop: { false })
            printFlushed("  \(report.applied) transactions applied exactly once to \(command.databasePath): \(report.mismatches) balance mismatch\(report.mismatches == 1 ? "" : "es"), \(report.negativeBalances) negative balance\(report.negativeBalances == 1 ? "" : "s")")
            printFlushed("")
            try await DemoReport.print(databasePath: command.databasePath)
            printFlushed("")
            guard command.keepRunning else {
                printFlushed("Done. Next: `ledgerstream report --db \(command.databasePath)` (add `--serve` to see it in a browser); `ledgerstream demo --keep-running` leaves the broker and sink up for `ledgerstream shell --db \(command.databasePath)`.")
                await writer.close()
                await client.close()
                return
            }
            printFlushed("Broker on \(bootstrap) and sink running (Ctrl-C stops both). Try, in another terminal:")
            printFlushed("  ledgerstream shell --db \(command.databasePath)")
            printFlushed("  ledgerstream report --db \(command.databasePath) --follow")
            let stop = Mutex(false)
            options.exitAtEnd = false
            try await withGracefulShutdownHandler {
                _ = try await SinkRunner(client: client, store: writer, options: options, logger: logger).run(shouldStop: { stop.withLock { $0 } })
            } onGracefulShutdown: {
                stop.withLock { $0 = true }
            }
            printFlushed("Stopping: the sink committed its last batch; the broker shuts down cleanly.")
            await writer.close()
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }
}

/// What the demo prints at the end: `ledgerstream report` for the demo's database, as that command renders it.
enum DemoReport {
    static func print(databasePath: String) async throws {
        let report = try await ReportCommand.asyncParse(["--db", databasePath])
        let queries = LedgerQueries(database: try LedgerDatabase.open(path: databasePath, readOnly: true))
        printFlushed(report.render(try await report.load(queries, path: databasePath), width: report.resolvedWidth()))
    }
}

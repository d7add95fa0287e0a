import ArgumentParser
import Dispatch
import KafkaClient
import KafkaProtocol
import Ledger
import PostgresLedger
import FoundationEssentials
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; long-running commands check it and stop cleanly (commit, leave the group).
let stopRequested = Mutex(false)

/// Installs handlers that set `stopRequested` instead of killing the process.
func installStopHandlers() -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { stopRequested.withLock { $0 = true } }
        source.resume()
        return source
    }
}

extension IsolationLevel: ExpressibleByArgument {}

/// `ledgerstream consume TOPIC…`: print records (kafka-console-consumer, kcat -C).
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print records from topics, as JSON lines or with a kcat-style template.",
        discussion: """
            With --group (and no --partition) the consumer joins the group, gets partitions assigned, and commits its \
            position; without it, it reads every partition (or those given) from --offset. Ctrl-C stops cleanly: \
            offsets are committed and the group is left at once.
            Template tokens for --format: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), \
            %h headers (k=v,…), %K key length, %S value length, \\n, \\t, %%.
            With --sink sqlite or --sink postgres the records (bank transaction events; topic "transactions" by \
            default) are applied to the ledger (--db: a SQLite file, or postgres://user@host:port/dbname) exactly \
            once: rows and offsets are committed together, and a restart resumes from the database. With --group, \
            several sinks share the partitions through the consumer group; each claims its partitions in the ledger, \
            so a sink that lost one can never commit to it again. PostgreSQL: password from the URL, PGPASSWORD or \
            ~/.pgpass; TLS by ?sslmode=require|verify-ca|verify-full (&sslrootcert=FILE); a server restart is waited \
            out and the sink resumes from its stored offsets.
            --isolation-level read_committed shows only committed transactions' records (reads stop at the last \
            stable offset and aborted transactions are skipped); it is the default with --sink, read_uncommitted \
            (everything in the log) otherwise, as with Kafka's console consumer.
            With --sink, --metrics-listener serves the sink's Prometheus metrics (records applied, batches, lag per \
            partition, rejected records and reconciliation issues by kind, SQLite commit and checkpoint times) at \
            /metrics, and /readyz answers 200 once the sink is caught up within --ready-max-lag records.
            """
    )

    enum Sink: String, ExpressibleByArgument, CaseIterable {
        case sqlite, postgres
    }

    @Argument(help: "Topics to read.", completion: .custom(topicNames))
    var topicArguments: [String] = []

    @Option(help: "Apply the records to a ledger instead of printing them: sqlite or postgres.")
    var sink: Sink?

    @OptionGroup var database: DatabaseOptions

    var topics: [String] { topicArguments.isEmpty && sink != nil ? ["transactions"] : topicArguments }

    @Option(name: [.short, .long], help: "Consumer group: join it (commit positions) instead of reading partitions directly.")
    var group: String?

    @Option(help: "With --group: how long the group waits for a silent member before reassigning its partitions (session.timeout.ms).")
    var sessionTimeoutMs: Int32 = 45_000

    @Flag(help: "Start at the earliest offset when there is no committed one (default: only new records).")
    var fromBeginning = false

    @Option(help: "Start offset: beginning, end, a number, or @TIMESTAMP_MS (with --partition or without --group).")
    var offset: String?

    @Option(name: .customLong("partition"), help: "Read only this partition (repeatable).")
    var partitions: [Int32] = []

    @Option(name: [.customShort("n"), .customLong("num")], help: "Stop after this many records.")
    var count: Int?

    @Flag(name: [.customShort("e"), .long], help: "Stop when every partition has been read to its end.")
    var exitAtEnd = false

    @Option(help: "Output: json (default: one object per line) or a template such as '%k=%s\\n'.")
    var format: String = "json"

    @Option(help: ArgumentHelp("read_committed or read_uncommitted (default: read_committed with --sink, else read_uncommitted).",
                               valueName: "level"))
    var isolationLevel: IsolationLevel?

    /// What the consumer reads: the option, else read_committed for a sink (it must never apply an aborted
    /// transaction) and read_uncommitted for printing (Kafka's console consumer default).
    var effectiveIsolation: IsolationLevel { isolationLevel ?? (sink != nil ? .readCommitted : .readUncommitted) }

    @OptionGroup var client: ClientOptions

    @OptionGroup var operations: SinkOperationsOptions

    func validate() throws {
        if topics.isEmpty { throw ValidationError("name at least one topic") }
        if sink == nil && operations.metricsListener != nil {
            throw ValidationError("--metrics-listener serves the sink's metrics: use it with --sink sqlite or --sink postgres")
        }
        if sink != nil && (offset != nil || !partitions.isEmpty || count != nil || format != "json" || fromBeginning) {
            throw ValidationError("--sink keeps its own offsets in the database: --offset, --partition, --from-beginning, -n and --format do not apply")
        }
        if sink == .postgres && !database.isPostgres {
            throw ValidationError("--sink postgres needs --db postgres://user@host:port/dbname (or LEDGERSTREAM_DB / DATABASE_URL), got '\(database.resolvedPath)'")
        }
        if sink == .sqlite && database.isPostgres {
            throw ValidationError("--db is a PostgreSQL URL: use --sink postgres")
        }
        if let offset, (try? Self.start(offset)) == nil {
            throw ValidationError("--offset must be beginning, end, a number or @TIMESTAMP_MS, got '\(offset)'")
        }
        if let count, count <= 0 { throw ValidationError("--num must be positive") }
    }

    static func start(_ text: String) throws -> StartPosition {
        switch text {
        case "beginning", "earliest": return .beginning
        case "end", "latest": return .end
        default:
            if text.hasPrefix("@"), let timestamp = Int64(text.dropFirst()) { return .timestamp(timestamp) }
            if let offset = Int64(text), offset >= 0 { return .offset(offset) }
            throw ValidationError("bad offset \(text)")
        }
    }

    func run() async throws {
        let signals = installStopHandlers()
        defer { _ = signals }
        if sink != nil {
            HeapSettings.boundForStreaming()
            try await runSink()
            return
        }
        var config = ConsumerConfig()
        config.groupId = group
        config.sessionTimeoutMs = sessionTimeoutMs
        // Heartbeats well inside the session (Kafka's rule of thumb: at most a third of it).
        config.heartbeatIntervalMs = min(3000, Int64(sessionTimeoutMs) / 3)
        config.autoOffsetReset = fromBeginning ? .earliest : .latest
        config.fetchMaxWaitMs = 500
        config.isolationLevel = effectiveIsolation
        if let timeout = try client.milliseconds("default.api.timeout.ms") { config.defaultApiTimeoutMs = timeout }
        let formatter = RecordFormatter(format: format)
        let output = OutputWriter()
        try await withClient(client, command: "consume", clientId: "ledgerstream-consumer") { kafka in
            let consumer = KafkaConsumer(client: kafka, config: config)
            do {
                try await consume(with: consumer, kafka: kafka, formatter: formatter, output: output)
            } catch {
                output.flush()
                await consumer.close()
                throw error
            }
            output.flush()
            await consumer.close()
        }
    }

    private func runSink() async throws {
        let logger = logging.bootstrap(label: "ledgerstream.sink")
        // Listening before the database opens: /readyz says "database not open" while it does.
        let surface = try await SinkOperations.start(operations, command: "consume", logger: logger)
        do {
            let store = try await openStore(metrics: surface.metrics, logger: logger)
            do {
                try await runSink(into: store, logger: logger)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        } catch {
            await surface.stop()
            throw error
        }
        await surface.stop()
    }

    /// The ledger the sink writes: the SQLite file, or the PostgreSQL database (connected, migrated, state read).
    private func openStore(metrics: SinkMetrics, logger: Logger) async throws -> any LedgerStore {
        let location = database.resolvedPath
        if sink == .postgres {
            let url = try database.postgresURL(for: "consume")
            do {
                return try await PostgresLedgerStore(url: url, environment: ProcessInfo.processInfo.environment, metrics: metrics, logger: logger)
            } catch let error as PostgresLedgerError {
                printError("consume", error.description)
                switch error {
                case .authentication: throw ExitCodes.permission
                case .unreachable, .tls: throw ExitCodes.unavailable
                default: throw ExitCodes.failure
                }
            } catch {
                printError("consume", "cannot open the ledger at \(url): \(error)")
                throw ExitCodes.failure
            }
        }
        if group != nil, let reason = SharedFileCheck.unsafeForSeveralWriters(path: location) {
            printError("consume", "several sinks (--group) cannot share \(location): \(reason). Use one sink per SQLite file, or --sink postgres")
            throw ExitCodes.configError
        }
        do {
            return SinkWriter(try LedgerSink(database: LedgerDatabase.open(path: location), metrics: metrics))
        } catch {
            printError("consume", "cannot open \(location): \(error)")
            throw ExitCodes.ioError
        }
    }

    private func runSink(into store: any LedgerStore, logger: Logger) async throws {
        var options = SinkRunner.Options(topics: topics, owner: Self.ownerName)
        options.exitAtEnd = exitAtEnd
        options.isolationLevel = effectiveIsolation
        options.group = group
        options.sessionTimeoutMs = sessionTimeoutMs
        let progress = ProgressLine()
        var totals = ApplyReport()
        try await withClient(client, command: "consume", clientId: "ledgerstream-sink") { kafka in
            printFlushed("ledgerstream sink applying \(topics.joined(separator: ",")) to \(store.location)"
                         + (group.map { " (group \($0), as \(Self.ownerName))" } ?? ""))
            let runner = SinkRunner(client: kafka, store: store, options: options, logger: logger)
            do {
                totals = try await runner.run(shouldStop: { stopRequested.withLock { $0 } }) { step in
                    let skipped = step.report.alreadyImported > 0 ? ", \(step.report.alreadyImported) already applied by an earlier import" : ""
                    progress.update("applied \(step.report.applied) records in \(step.batches) transactions\(skipped)")
                }
            } catch let error as LedgerStoreError {
                progress.finish()
                printError("consume", "\(error). Several sinks on one ledger must share a consumer group (--group)")
                throw ExitCodes.failure
            } catch let error as PostgresLedgerError {
                progress.finish()
                printError("consume", error.description)
                throw ExitCodes.failure
            }
        }
        progress.finish()
        var notes: [String] = []
        if totals.mismatches > 0 { notes.append("\(totals.mismatches) balance mismatch\(totals.mismatches == 1 ? "" : "es")") }
        if totals.negativeBalances > 0 { notes.append("\(totals.negativeBalances) negative balance\(totals.negativeBalances == 1 ? "" : "s")") }
        if totals.rejected > 0 { notes.append("\(totals.rejected) invalid record\(totals.rejected == 1 ? "" : "s") kept in rejected_records") }
        if totals.duplicates > 0 { notes.append("\(totals.duplicates) already applied") }
        if totals.alreadyImported > 0 {
            notes.append("\(totals.alreadyImported) file row\(totals.alreadyImported == 1 ? "" : "s") already applied by an earlier import, skipped")
        }
        printError("consume", "applied \(totals.applied) transactions to \(store.location)" + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))"))
    }

    /// This sink's name among the ledger's partition owners: host and process id.
    static let ownerName: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        return "\(host):\(getpid())"
    }()

    @OptionGroup var logging: LoggingOptions

    private func consume(with consumer: KafkaConsumer, kafka: KafkaClient, formatter: RecordFormatter, output: OutputWriter) async throws {
        if group != nil && partitions.isEmpty && offset == nil {
            try await consumer.subscribe(topics)
        } else {
            let startAt: StartPosition = try offset.map(Self.start)
                ?? (group != nil ? .committed : (fromBeginning ? .beginning : .end))
            var starts: [TopicPartition: StartPosition] = [:]
            for topic in topics {
                let info = try await kafka.topic(topic)
                let chosen = partitions.isEmpty ? info.partitions.map(\.partition) : partitions
                for partition in chosen { starts[TopicPartition(topic: topic, partition: partition)] = startAt }
            }
            try await consumer.assign(starts)
        }
        var ends = exitAtEnd ? try await consumer.endOffsets() : [:]
        var printed = 0
        while !stopRequested.withLock({ $0 }) {
            if exitAtEnd {
                let positions = await consumer.positions
                if ends.isEmpty { ends = try await consumer.endOffsets() }
                if ends.allSatisfy({ (positions[$0.key] ?? 0) >= $0.value }) { break }
            }
            let records = try await consumer.poll(timeoutMs: 500)
            for record in records {
                output.write(formatter.format(record))
                printed += 1
                if let count, printed >= count { return }
            }
            if records.isEmpty { output.flush() }
        }
    }
}

/// Renders a record as a JSON line or through a kcat-style template.
struct RecordFormatter {
    enum Piece {
        case literal(String)
        case topic, partition, offset, key, value, timestamp, headers, keyLength, valueLength
    }

    let pieces: [Piece]?

    init(format: String) {
        guard format != "json" else {
            pieces = nil
            return
        }
        var pieces: [Piece] = []
        var literal = ""
        var characters = Array(format)[...]
        while let char = characters.popFirst() {
            if char == "\\", let next = characters.first {
                characters = characters.dropFirst()
                literal += next == "n" ? "\n" : next == "t" ? "\t" : next == "r" ? "\r" : String(next)
            } else if char == "%", let next = characters.first {
                characters = characters.dropFirst()
                let piece: Piece? = switch next {
                case "t": .topic
                case "p": .partition
                case "o": .offset
                case "k": .key
                case "s": .value
                case "T": .timestamp
                case "h": .headers
                case "K": .keyLength
                case "S": .valueLength
                default: nil
                }
                if let piece {
                    if !literal.isEmpty { pieces.append(.literal(literal)) }
                    literal = ""
                    pieces.append(piece)
                } else {
                    literal += next == "%" ? "%" : "%\(next)"
                }
            } else {
                literal.append(char)
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    func format(_ record: ConsumerRecord) -> String {
        guard let pieces else { return Self.json(record) + "\n" }
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): out += text
            case .topic: out += record.topic
            case .partition: out += String(record.partition)
            case .offset: out += String(record.offset)
            case .key: out += record.key.map { String(buffer: $0) } ?? ""
            case .value: out += record.value.map { String(buffer: $0) } ?? ""
            case .timestamp: out += String(record.timestamp)
            case .headers: out += record.headers.map { "\($0.key)=\($0.value.map { String(buffer: $0) } ?? "")" }.joined(separator: ",")
            case .keyLength: out += String(record.key?.readableBytes ?? -1)
            case .valueLength: out += String(record.value?.readableBytes ?? -1)
            }
        }
        return out
    }

    /// One JSON object; keys and values are strings when they are valid UTF-8, else base64 under `*_base64`.
    static func json(_ record: ConsumerRecord) -> String {
        var fields: [(String, JSONValue)] = [("topic", .string(record.topic)), ("partition", .number(record.partition)),
                                        ("offset", .number(record.offset)), ("timestamp", .number(record.timestamp))]
        fields += bytesField("key", record.key)
        fields += bytesField("value", record.value)
        if !record.headers.isEmpty {
            fields.append(("headers", .array(record.headers.map { header in
                .object([("key", .string(header.key))] + bytesField("value", header.value))
            })))
        }
        return JSONValue.object(fields).text
    }

    private static func bytesField(_ name: String, _ bytes: ByteBuffer?) -> [(String, JSONValue)] {
        guard let bytes else { return [(name, .null)] }
        let raw = Array(bytes.readableBytesView)
        if let text = String(validating: raw, as: UTF8.self) { return [(name, .string(text))] }
        return [(name + "_base64", .string(Base64.encode(raw)))]
    }
}

enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

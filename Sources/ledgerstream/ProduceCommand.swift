import ArgumentParser
import KafkaClient
import KafkaProtocol
import NIOCore
import Synchronization

/// `ledgerstream produce TOPIC`: one record per line of standard input (kafka-console-producer, kcat -P).
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send records to a topic: one per line of standard input, or bank transactions from a CSV file.",
        discussion: """
            Prints how many records were acknowledged on standard error; exits 1 if any delivery failed. \
            Idempotence is on by default (acks=all), so retries never duplicate records.
            With --transactional-id, the whole input is sent as one Kafka transaction: read_committed consumers (the \
            SQLite sink among them) see all of it or, if anything fails or the producer is killed, none of it.
            With --csv, each row becomes a transaction event keyed by account (topic "transactions" by default). The \
            whole file is validated first; any bad row is reported as FILE:LINE: reason and nothing is sent (exit 65), \
            unless --skip-invalid.
            """
    )

    @Argument(help: "Topic to write to (created on first use if the broker allows it).", completion: .custom(topicNames))
    var topicArgument: String?

    @Option(name: .customLong("topic"), help: "Topic to write to (same as the argument).", completion: .custom(topicNames))
    var topicOption: String?

    @Option(help: "Read bank transactions from this CSV file (the original format: transaction_date;account;transaction_value;balance).",
            completion: .file(extensions: ["csv"]))
    var csv: String?

    @Flag(help: "With --csv: send the valid rows and report the bad ones instead of sending nothing.")
    var skipInvalid = false

    var topic: String { topicOption ?? topicArgument ?? (csv != nil ? "transactions" : "") }

    @Option(help: "The key of every record.")
    var key: String?

    @Option(help: "Split each line at the first occurrence of this delimiter into key and value (kcat -K).")
    var keyDelimiter: String?

    @Option(name: .customLong("header"), help: "A header key=value added to every record (repeatable).")
    var headers: [String] = []

    @Option(help: "Write every record to this partition (default: by key hash, else sticky).")
    var partition: Int32?

    @Option(help: "Acknowledgements: 0, 1 or all.")
    var acks: String = "all"

    @Option(help: "Wait up to this many ms to fill batches.")
    var lingerMs: Int64 = 5

    @Option(help: ArgumentHelp("Compress batches (compression.type): none, gzip, lz4 or zstd.", valueName: "codec"))
    var compression: String = "none"

    @Flag(help: "Turn idempotence off.")
    var noIdempotence = false

    @Option(help: ArgumentHelp(
        "Send the whole input as one transaction under this transactional.id (a rerun with the same id fences and aborts a killed earlier run).",
        valueName: "id"))
    var transactionalId: String?

    @Option(help: ArgumentHelp("With --transactional-id: the broker aborts the transaction if it is still open after this long (transaction.timeout.ms).",
                               valueName: "ms"))
    var transactionTimeoutMs: Int32 = 60_000

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if topicOption != nil && topicArgument != nil && topicOption != topicArgument {
            throw ValidationError("give the topic once (argument or --topic)")
        }
        if topic.isEmpty { throw ValidationError("name the topic to write to") }
        if csv != nil && (key != nil || keyDelimiter != nil || partition != nil) {
            throw ValidationError("--csv records are keyed by account; --key, --key-delimiter and --partition do not apply")
        }
        if skipInvalid && csv == nil { throw ValidationError("--skip-invalid applies to --csv only") }
        if key != nil && keyDelimiter != nil { throw ValidationError("give either --key or --key-delimiter, not both") }
        if keyDelimiter?.isEmpty == true { throw ValidationError("--key-delimiter cannot be empty") }
        guard ["0", "1", "all", "-1"].contains(acks) else { throw ValidationError("--acks must be 0, 1 or all") }
        guard let codec = CompressionCodec(name: compression), codec != .snappy else {
            throw ValidationError("--compression must be none, gzip, lz4 or zstd")
        }
        // A codec whose library is missing fails here, before anything is read or sent.
        do {
            _ = try [UInt8]("probe".utf8).withUnsafeBytes { probe in try codec.compress(probe) }
        } catch {
            throw ValidationError("--compression \(compression): \(error)")
        }
        for header in headers where !header.contains("=") { throw ValidationError("--header expects key=value, got '\(header)'") }
        if let transactionalId {
            if transactionalId.isEmpty { throw ValidationError("--transactional-id cannot be empty") }
            if noIdempotence || !["all", "-1"].contains(acks) {
                throw ValidationError("--transactional-id needs idempotence and --acks all")
            }
            if transactionTimeoutMs <= 0 { throw ValidationError("--transaction-timeout-ms must be positive") }
        }
    }

    /// The producer settings the options ask for (timeouts from `-X` / `--command-config` properties).
    var producerConfig: ProducerConfig {
        get throws {
            var config = baseProducerConfig
            if let timeout = try client.milliseconds("delivery.timeout.ms", "message.timeout.ms") { config.deliveryTimeoutMs = timeout }
            if let timeout = try client.milliseconds("max.block.ms", allowZero: true) { config.maxBlockMs = timeout }
            if let timeout = try client.milliseconds("request.timeout.ms") { config.requestTimeoutMs = Int32(clamping: timeout) }
            if let bytes = try client.bufferMemoryBytes() { config.bufferMemoryBytes = bytes }
            return config
        }
    }

    private var baseProducerConfig: ProducerConfig {
        var config = ProducerConfig()
        config.acks = acks == "0" ? .none : acks == "1" ? .leader : .all
        config.idempotent = !noIdempotence
        config.lingerMs = lingerMs
        config.compression = CompressionCodec(name: compression) ?? .none
        config.transactionalId = transactionalId
        config.transactionTimeoutMs = transactionTimeoutMs
        return config
    }

    /// Runs `body` (which sends everything) inside one transaction when --transactional-id is given: committed if
    /// every record was acknowledged, else aborted so that nothing of the input becomes visible.
    func sending(with producer: KafkaProducer, _ body: () async throws -> Void) async throws {
        guard transactionalId != nil else {
            try await body()
            await producer.close()
            return
        }
        try await producer.initTransactions()
        try await producer.beginTransaction()
        do {
            try await body()
            try await producer.commitTransaction()
        } catch {
            try? await producer.abortTransaction()
            await producer.close()
            throw error
        }
        await producer.close()
    }

    func run() async throws {
        if let csv {
            try await CSVImport(command: self, file: csv).run()
            return
        }
        let config = try producerConfig
        let parsedHeaders: [(key: String, value: ByteBuffer?)] = headers.map { header in
            let equals = header.firstIndex(of: "=")!
            return (String(header[..<equals]), ByteBuffer(string: String(header[header.index(after: equals)...])))
        }
        let fixedKey = key.map { ByteBuffer(string: $0) }
        let delimiter = keyDelimiter.map { Array($0.utf8) }
        let partition = self.partition
        let failures = Mutex<[String]>([])
        var sent = 0
        var stats = ProducerStats()
        // Lines are read and turned into records on a thread of their own while the producer batches and sends,
        // so reading standard input overlaps with the network (two cores: roughly twice the throughput).
        let chunks = StdinChunks(chunkSize: 1024) { line in
            var value = line
            if value.readableBytesView.last == 13 { value.moveWriterIndex(to: value.writerIndex - 1) }  // CRLF input
            var recordKey = fixedKey
            if let delimiter, let split = Self.firstIndex(of: delimiter, in: value.readableBytesView) {
                let keyLength = split - value.readableBytesView.startIndex
                recordKey = value.readSlice(length: keyLength)
                value.moveReaderIndex(forwardBy: delimiter.count)
            }
            return OutgoingRecord(key: recordKey, value: value, headers: parsedHeaders)
        }
        try await withClient(client, command: "produce", clientId: "ledgerstream-producer") { kafka in
            let producer = KafkaProducer(client: kafka, config: config)
            let onDelivery: DeliveryCallback = { result in
                if case .failure(let error) = result {
                    failures.withLock { if $0.count < 5 { $0.append(error.description) } }
                }
            }
            do {
                try await sending(with: producer) {
                    for await chunk in chunks.stream {
                        try await producer.send(topic: topic, records: chunk, partition: partition, onDelivery: onDelivery)
                        chunks.consumed()
                        sent += chunk.count
                    }
                }
            } catch let error as KafkaClientError where transactionalId != nil {
                printError("produce", "transaction \(transactionalId!) aborted, nothing of the input is visible to read_committed consumers: \(error)")
                throw ExitCodes.failure
            }
            stats = await producer.stats
        }
        let errors = failures.withLock { $0 }
        if stats.failed > 0 {
            printError("produce", "\(stats.acknowledged) of \(sent) records acknowledged, \(stats.failed) failed: \(errors.first ?? "unknown error")")
            throw ExitCodes.failure
        }
        if !quiet {
            let committed = transactionalId.map { " in committed transaction \($0)" } ?? ""
            printError("produce", "\(stats.acknowledged) record\(stats.acknowledged == 1 ? "" : "s") acknowledged by \(topic)\(committed)")
        }
    }

    static func firstIndex(of needle: [UInt8], in haystack: ByteBufferView) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

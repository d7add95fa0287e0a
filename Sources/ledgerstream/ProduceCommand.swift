import ArgumentParser
import KafkaClient
import NIOCore
import Synchronization

/// `ledgerstream produce TOPIC`: one record per line of standard input (kafka-console-producer, kcat -P).
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send records to a topic: one per line of standard input.",
        discussion: """
            Prints how many records were acknowledged on standard error; exits 1 if any delivery failed. \
            Idempotence is on by default (acks=all), so retries never duplicate records.
            """
    )

    @Argument(help: "Topic to write to (created on first use if the broker allows it).", completion: .custom(topicNames))
    var topic: String

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

    @Flag(help: "Turn idempotence off.")
    var noIdempotence = false

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if key != nil && keyDelimiter != nil { throw ValidationError("give either --key or --key-delimiter, not both") }
        if keyDelimiter?.isEmpty == true { throw ValidationError("--key-delimiter cannot be empty") }
        guard ["0", "1", "all", "-1"].contains(acks) else { throw ValidationError("--acks must be 0, 1 or all") }
        for header in headers where !header.contains("=") { throw ValidationError("--header expects key=value, got '\(header)'") }
    }

    func run() async throws {
        var config = ProducerConfig()
        config.acks = acks == "0" ? .none : acks == "1" ? .leader : .all
        config.idempotent = !noIdempotence
        config.lingerMs = lingerMs
        let parsedHeaders: [(key: String, value: ByteBuffer?)] = headers.map { header in
            let equals = header.firstIndex(of: "=")!
            return (String(header[..<equals]), ByteBuffer(string: String(header[header.index(after: equals)...])))
        }
        let fixedKey = key.map { ByteBuffer(string: $0) }
        let delimiter = keyDelimiter.map { Array($0.utf8) }
        let failures = Mutex<[String]>([])
        var sent = 0
        var stats = ProducerStats()
        try await withClient(client, command: "produce", clientId: "ledgerstream-producer") { kafka in
            let producer = KafkaProducer(client: kafka, config: config)
            var lines = LineReader()
            var outgoing: [OutgoingRecord] = []
            let onDelivery: DeliveryCallback = { result in
                if case .failure(let error) = result {
                    failures.withLock { if $0.count < 5 { $0.append(error.description) } }
                }
            }
            while var line = lines.next() {
                if line.last == 13 { line = line.dropLast() }  // CRLF input
                var recordKey = fixedKey
                var value = line
                if let delimiter, let split = Self.firstIndex(of: delimiter, in: line) {
                    recordKey = ByteBuffer(bytes: line[line.startIndex..<split])
                    value = line[(split + delimiter.count)...]
                }
                outgoing.append(OutgoingRecord(key: recordKey, value: ByteBuffer(bytes: value), headers: parsedHeaders))
                if outgoing.count == 512 {
                    try await producer.send(topic: topic, records: outgoing, partition: partition, onDelivery: onDelivery)
                    sent += outgoing.count
                    outgoing.removeAll(keepingCapacity: true)
                }
            }
            if !outgoing.isEmpty {
                try await producer.send(topic: topic, records: outgoing, partition: partition, onDelivery: onDelivery)
                sent += outgoing.count
            }
            await producer.close()
            stats = await producer.stats
        }
        let errors = failures.withLock { $0 }
        if stats.failed > 0 {
            printError("produce", "\(stats.acknowledged) of \(sent) records acknowledged, \(stats.failed) failed: \(errors.first ?? "unknown error")")
            throw ExitCodes.failure
        }
        if !quiet {
            printError("produce", "\(stats.acknowledged) records acknowledged by \(topic)")
        }
    }

    static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

import KafkaClient
import Ledger
import NIOCore
import Synchronization

/// The shell's real backend: reads the ledger the sink writes (SQLite or PostgreSQL, through ``LedgerReading``),
/// produces to the topic through the Kafka client (acks=all, idempotent), and asks the broker for the topic's end
/// offsets to tell whether the sink is behind. `Sendable`, so that the web desk's requests can share one: its reader
/// is a ``SerialReader``, which lets one caller at a time use the connection.
public final class LiveShellBackend: ShellBackend, Sendable {
    let client: KafkaClient
    let producer: KafkaProducer
    let topic: String
    let queries: SerialReader
    public let sinkCommand: String

    /// `sinkCommand` is the sink that fills this ledger, named in messages (`ledgerstream consume --sink postgres`).
    public init(client: KafkaClient, topic: String, queries: SerialReader, sinkCommand: String = "ledgerstream consume --sink sqlite") {
        self.client = client
        self.topic = topic
        self.queries = queries
        self.sinkCommand = sinkCommand
        var config = ProducerConfig()
        config.acks = .all
        config.idempotent = true
        config.lingerMs = 0
        config.deliveryTimeoutMs = 15_000
        producer = KafkaProducer(client: client, config: config)
    }

    public func close() async {
        await producer.close()
    }

    public func accounts() async throws -> [AccountSummary] { try await queries.accounts() }

    public func history(account: String, count: Int) async throws -> [LedgerEntry] {
        try await queries.history(account: account, count: count)
    }

    public func publish(_ event: TransactionEvent) async throws -> RecordMetadata {
        var json: [UInt8] = []
        event.appendJSON(to: &json)
        let outcome = Mutex<Result<RecordMetadata, KafkaClientError>?>(nil)
        try await producer.send(topic: topic, key: ByteBuffer(string: event.account), value: ByteBuffer(bytes: json),
                                onDelivery: { result in outcome.withLock { $0 = result } })
        await producer.flush()
        guard let result = outcome.withLock({ $0 }) else {
            throw KafkaClientError.timeout("no delivery report for the transaction")
        }
        return try result.get()
    }

    public func waitUntilApplied(_ position: RecordMetadata, timeoutMs: Int) async throws -> Bool {
        let deadline = client.time.monotonicNanos() + UInt64(timeoutMs) * 1_000_000
        while true {
            let applied = try await queries.sinkPositions().contains {
                $0.topic == position.topic && $0.partition == position.partition && $0.nextOffset > position.offset
            }
            if applied { return true }
            if client.time.monotonicNanos() >= deadline { return false }
            try await client.time.sleep(milliseconds: 50)
        }
    }

    public func sinkLag() async -> SinkLag {
        do {
            let info = try await client.topic(topic)
            let ends = try await client.listOffsets(topic: topic, partitions: info.partitions.map(\.partition), timestamp: -1)
            let applied = try await queries.sinkPositions().filter { $0.topic == topic }
            var behind: Int64 = 0
            for (partition, end) in ends {
                let next = applied.first { $0.partition == partition }?.nextOffset ?? 0
                behind += max(0, end - next)
            }
            return behind == 0 ? .caughtUp : .behind(behind)
        } catch {
            return .unknown(ShellSession.describe(error))
        }
    }

    public func now() -> TransactionDate { TransactionDate.now() }
}

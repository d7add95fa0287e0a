import Foundation
import KafkaBroker
import KafkaServer
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import Testing
import Timekeeping

@testable import KafkaClient

/// A client rides through a broker restart: the producer keeps its records (and, idempotent, never duplicates them),
/// consumers carry on, and only a cluster that was never reached, or a deadline passed, fails.
@Suite(.serialized) struct ClientReconnectTests {
    func startBroker(directory: String, port: Int = 0) async throws -> TestBroker {
        try await TestBroker.start(directory: directory, port: port)
    }

    func stop(_ broker: TestBroker) async {
        await broker.stop()
    }

    func temporaryDirectory() -> String {
        TestBroker.temporaryDirectory("reconnect")
    }

    func readAll(_ client: KafkaClient, topic: String, partitions: Int32, expected: Int) async throws -> [String] {
        let consumer = KafkaConsumer(client: client)
        var starts: [TopicPartition: StartPosition] = [:]
        for partition in 0..<partitions { starts[TopicPartition(topic: topic, partition: partition)] = .beginning }
        try await consumer.assign(starts)
        var values: [String] = []
        var emptyPolls = 0
        while values.count < expected && emptyPolls < 5 {
            let records = try await consumer.poll(timeoutMs: 1000)
            emptyPolls = records.isEmpty ? emptyPolls + 1 : 0
            values += records.map { String(buffer: $0.value!) }
        }
        // Nothing beyond the expected records either.
        values += try await consumer.poll(timeoutMs: 300).map { String(buffer: $0.value!) }
        await consumer.close()
        return values
    }

    @Test func reconnectBackoffDoublesUpToItsMaximumWithJitter() {
        let backoff = ReconnectBackoff(initialMs: 50, maxMs: 1000)
        #expect(backoff.delayMs(afterFailures: 0, jitter: 0) == 0)
        #expect((1...7).map { backoff.delayMs(afterFailures: $0, jitter: 0) } == [50, 100, 200, 400, 800, 1000, 1000])
        #expect(backoff.delayMs(afterFailures: 100, jitter: 0) == 1000)
        #expect(backoff.delayMs(afterFailures: 1, jitter: 1) == 60 && backoff.delayMs(afterFailures: 1, jitter: -1) == 40)
        #expect(ReconnectBackoff(initialMs: 0, maxMs: 0).delayMs(afterFailures: 3, jitter: 0) == 0)
        #expect(ReconnectBackoff(initialMs: 500, maxMs: 100).maxMs == 500)
    }

    /// Retries run in the client's time: with a manual clock the backoff (100 ms doubling) and the deadline are
    /// exact, and the test takes no real time.
    @Test func retriesBackOffUntilTheirDeadlineInTheClientsTime() async throws {
        let time = ManualTimeSource()
        let attempts = Attempts()
        let retrying = Task {
            try await Retry.run(forMs: 1000, time: time) { () async throws -> Int in
                attempts.record(time.monotonicMs())
                throw KafkaClientError.disconnected(broker: "b:1", reason: "connection refused")
            }
        }
        while attempts.times.count < 4 {
            if time.sleeperCount > 0 { time.advance(byMilliseconds: 50) } else { await Task.yield() }
        }
        await #expect(throws: KafkaClientError.disconnected(broker: "b:1", reason: "connection refused")) { try await retrying.value }
        #expect(attempts.times == [0, 100, 300, 700])
    }

    /// The broker stops while records are buffered and in flight, and comes back on the same port half a second
    /// later: every record is acknowledged, and each is in the log exactly once.
    @Test func producerRidesThroughABrokerRestartWithoutDuplicates() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var broker = try await startBroker(directory: directory)
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)],
                                 reconnectBackoff: ReconnectBackoff(initialMs: 20, maxMs: 200))
        try await client.createTopic("restart", partitions: 2, replicationFactor: 1, configs: [:])
        let producer = KafkaProducer(client: client)
        let failures = Mutex<[KafkaClientError]>([])
        let onDelivery: DeliveryCallback = { if case .failure(let error) = $0 { failures.withLock { $0.append(error) } } }
        for i in 0..<500 {
            try await producer.send(topic: "restart", key: ByteBuffer(string: "k\(i % 7)"), value: ByteBuffer(string: "v\(i)"), onDelivery: onDelivery)
        }
        await producer.flush()
        await stop(broker)
        // Sent while the broker is down: buffered, then retried until it is back.
        for i in 500..<1000 {
            try await producer.send(topic: "restart", key: ByteBuffer(string: "k\(i % 7)"), value: ByteBuffer(string: "v\(i)"), onDelivery: onDelivery)
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        broker = try await startBroker(directory: directory, port: broker.port)
        await producer.close()
        #expect(failures.withLock { $0 } == [])
        let stats = await producer.stats
        #expect(stats.acknowledged == 1000 && stats.failed == 0)
        let values = try await readAll(client, topic: "restart", partitions: 2, expected: 1000)
        #expect(values.count == 1000 && Set(values).count == 1000)
        await client.close()
        await stop(broker)
    }

    /// A group member whose coordinator restarts keeps consuming: it rejoins and resumes from its commits.
    @Test func groupConsumerRejoinsAfterABrokerRestart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var broker = try await startBroker(directory: directory)
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)],
                                 reconnectBackoff: ReconnectBackoff(initialMs: 20, maxMs: 200))
        try await client.createTopic("members", partitions: 1, replicationFactor: 1, configs: [:])
        let producer = KafkaProducer(client: client)
        for i in 0..<10 { try await producer.send(topic: "members", key: nil, value: ByteBuffer(string: "a\(i)")) }
        await producer.flush()
        var config = ConsumerConfig()
        config.groupId = "rejoiners"
        config.autoOffsetReset = .earliest
        config.heartbeatIntervalMs = 100
        config.sessionTimeoutMs = 6000
        let consumer = KafkaConsumer(client: client, config: config)
        try await consumer.subscribe(["members"])
        var seen: [String] = []
        while seen.count < 10 { seen += try await consumer.poll(timeoutMs: 1000).map { String(buffer: $0.value!) } }
        try await consumer.commit()
        await stop(broker)
        try await Task.sleep(nanoseconds: 300_000_000)
        broker = try await startBroker(directory: directory, port: broker.port)
        for i in 0..<10 { try await producer.send(topic: "members", key: nil, value: ByteBuffer(string: "b\(i)")) }
        await producer.close()
        let deadline = Date().addingTimeInterval(30)
        while seen.count < 20 && Date() < deadline { seen += try await consumer.poll(timeoutMs: 500).map { String(buffer: $0.value!) } }
        #expect(seen == (0..<10).map { "a\($0)" } + (0..<10).map { "b\($0)" })
        await consumer.close()
        await client.close()
        await stop(broker)
    }

    /// Pointed at an address where no broker ever answered, a command says so at once instead of retrying.
    @Test func aClusterNeverReachedFailsAtOnce() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await startBroker(directory: directory)
        await stop(broker)
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)])
        let producer = KafkaProducer(client: client)
        let started = Date()
        await #expect {
            try await producer.send(topic: "t", key: nil, value: ByteBuffer(string: "x"))
        } throws: { error in
            if case .unreachable = error as? KafkaClientError { return true }
            return false
        }
        #expect(Date().timeIntervalSince(started) < 5)
        await client.close()
    }

    /// A broker that does not come back: the records fail once delivery.timeout.ms has passed, saying why.
    @Test func deliveryTimeoutEndsTheRetries() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await startBroker(directory: directory)
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)])
        try await client.createTopic("gone", partitions: 1, replicationFactor: 1, configs: [:])
        var config = ProducerConfig()
        config.deliveryTimeoutMs = 1500
        let producer = KafkaProducer(client: client, config: config)
        try await producer.send(topic: "gone", key: nil, value: ByteBuffer(string: "first"))
        await producer.flush()
        await stop(broker)
        let failures = Mutex<[KafkaClientError]>([])
        let started = Date()
        for i in 0..<200 {
            try await producer.send(topic: "gone", key: nil, value: ByteBuffer(string: "r\(i)"),
                                    onDelivery: { if case .failure(let error) = $0 { failures.withLock { $0.append(error) } } })
        }
        await producer.close()
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 1.4 && elapsed < 8, "delivery.timeout.ms bounds the wait: \(elapsed) s")
        let errors = failures.withLock { $0 }
        #expect(errors.count == 200)
        if case .timeout(let text)? = errors.first {
            #expect(text.contains("delivery.timeout.ms") && text.contains("could not reconnect"))
        } else {
            Issue.record("expected a timeout naming the last error, got \(String(describing: errors.first))")
        }
        await client.close()
    }
}

/// When each attempt ran.
final class Attempts: Sendable {
    private let list = Mutex<[Int64]>([])
    func record(_ at: Int64) { list.withLock { $0.append(at) } }
    var times: [Int64] { list.withLock { $0 } }
}

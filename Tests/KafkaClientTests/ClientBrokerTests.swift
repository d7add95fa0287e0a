import Foundation
import KafkaBroker
import KafkaServer
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import KafkaClient

/// The client against a real broker server in this process (sockets on 127.0.0.1, ephemeral port).
@Suite(.serialized) struct ClientBrokerTests {
    /// Starts a broker, runs `body` with a client bootstrapped to it, then stops both.
    func withBroker(_ body: (KafkaClient) async throws -> Void) async throws {
        let directory = TestBroker.temporaryDirectory("client")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await TestBroker.start(directory: directory)
        defer { broker.task.cancel() }
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)])
        do {
            try await body(client)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    @Test func adminProduceAndConsumeRoundTrip() async throws {
        try await withBroker { client in
            try await client.createTopic("orders", partitions: 3, replicationFactor: 1, configs: ["retention.ms": "3600000"])
            await #expect(throws: KafkaClientError.broker(.topicAlreadyExists, message: "Topic 'orders' already exists.")) {
                try await client.createTopic("orders", partitions: 3, replicationFactor: 1, configs: [:])
            }
            await #expect(throws: KafkaClientError.self) {
                try await client.createTopic("x", partitions: 1, replicationFactor: 3, configs: [:])
            }
            #expect(try await client.listTopics().map(\.name) == ["orders"])

            let producer = KafkaProducer(client: client)
            let delivered = Mutex<[RecordMetadata]>([])
            for i in 0..<30 {
                try await producer.send(topic: "orders", key: ByteBuffer(string: "C\(i % 5)"), value: ByteBuffer(string: "v\(i)"),
                                        onDelivery: { result in if case .success(let metadata) = result { delivered.withLock { $0.append(metadata) } } })
            }
            await producer.close()
            #expect(await producer.stats.acknowledged == 30)
            // Keyed records land where the Java client would put them.
            for metadata in delivered.withLock({ $0 }) {
                #expect(metadata.offset >= 0)
            }

            let description = try await client.describeTopic("orders")
            #expect(description.partitions.map(\.highWatermark).reduce(0, +) == 30)
            #expect(description.configs.first { $0.name == "retention.ms" }?.isOverride == true)

            let consumer = KafkaConsumer(client: client)
            var starts: [TopicPartition: StartPosition] = [:]
            for partition in Int32(0)..<3 { starts[TopicPartition(topic: "orders", partition: partition)] = .beginning }
            try await consumer.assign(starts)
            var values: [String] = []
            while values.count < 30 {
                let records = try await consumer.poll(timeoutMs: 2000)
                #expect(!records.isEmpty)
                if records.isEmpty { break }
                for record in records {
                    values.append(String(buffer: record.value!))
                    let expected = Murmur2.partition(forKey: record.key!, partitionCount: 3)
                    #expect(record.partition == expected)
                }
            }
            #expect(Set(values) == Set((0..<30).map { "v\($0)" }))
            // The consumer read through an incremental fetch session (KIP-227) with the broker.
            let sessions = await consumer.fetchSessionIds
            #expect(sessions.count == 1 && sessions.values.allSatisfy { $0 != 0 })
            await consumer.close()
            try await client.deleteTopic("orders")
            await #expect(throws: KafkaClientError.self) { try await client.deleteTopic("orders") }
        }
    }

    /// Records sent as a chunk read back alike through `poll` (whose record limit splits batches: nothing lost or
    /// repeated, positions exact) and through `pollBatches` (whole batches, walked in place).
    /// buffer.memory full and nothing answered (the broker went away): `send` gives up after max.block.ms, as Kafka's
    /// producer does, and says how many of its records were buffered, instead of waiting until delivery.timeout.ms
    /// fails the batches ahead of it.
    @Test func sendGivesUpAfterMaxBlockWhenTheBufferStaysFull() async throws {
        let directory = TestBroker.temporaryDirectory("max-block")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await TestBroker.start(directory: directory)
        let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: broker.port)])
        try await client.createTopic("stalled", partitions: 1, replicationFactor: 1, configs: [:])
        var config = ProducerConfig()
        config.bufferMemoryBytes = 4096
        config.maxBlockMs = 300
        let producer = KafkaProducer(client: client, config: config)
        try await producer.send(topic: "stalled", key: nil, value: ByteBuffer(string: "first"))
        await producer.flush()
        #expect(await producer.stats.acknowledged == 1)
        await broker.stop()

        let records = (0..<100).map { _ in OutgoingRecord(key: nil, value: ByteBuffer(repeating: 1, count: 100)) }
        let start = ContinuousClock.now
        let error = await #expect(throws: KafkaClientError.self) { try await producer.send(topic: "stalled", records: records) }
        #expect(ContinuousClock.now - start < .seconds(10))
        guard case .timeout(let reason)? = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            await client.close()
            return
        }
        #expect(reason.contains("max.block.ms (300 ms)"), "\(reason)")
        let buffered = reason.firstMatch(of: /(\d+) of the 100 records/).flatMap { Int($0.1) }
        #expect(buffered.map { (1..<100).contains($0) } == true, "\(reason)")
        #expect(await producer.stats.acknowledged == 1)
        await client.close()
    }

    @Test func chunksReadBackThroughPollAndPollBatches() async throws {
        try await withBroker { client in
            try await client.createTopic("chunks", partitions: 2, replicationFactor: 1, configs: [:])
            let producer = KafkaProducer(client: client)
            var chunk = RecordChunk()
            for i in 0..<500 {
                chunk.append(key: "k\(i % 7)", value: Array("v\(i)".utf8))
                if i % 3 == 0 { chunk.addHeader("n", value: Array("\(i)".utf8)) }
            }
            let acknowledged = Mutex(0)
            try await producer.send(topic: "chunks", chunk: chunk, onDelivery: { result in
                if case .success(let metadata) = result, metadata.offset >= 0 { acknowledged.withLock { $0 += 1 } }
            })
            await producer.close()
            #expect(acknowledged.withLock { $0 } == 500)
            let partitions = (Int32(0)..<2).map { TopicPartition(topic: "chunks", partition: $0) }
            let ends = try await client.describeTopic("chunks").partitions.map(\.highWatermark)
            #expect(ends.reduce(0, +) == 500)

            // poll, 37 records at a time: batches of hundreds of records are split across polls.
            var config = ConsumerConfig()
            config.maxPollRecords = 37
            let polling = KafkaConsumer(client: client, config: config)
            try await polling.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, StartPosition.beginning) }))
            var seen: [String: (offset: Int64, headers: [String])] = [:]
            var lastOffsets: [Int32: Int64] = [:]
            while seen.count < 500 {
                let records = try await polling.poll(timeoutMs: 2000)
                #expect(!records.isEmpty && records.count <= 37)
                if records.isEmpty { break }
                for record in records {
                    #expect(record.offset > lastOffsets[record.partition, default: -1], "in order, never twice")
                    lastOffsets[record.partition] = record.offset
                    let value = String(buffer: record.value!)
                    #expect(seen[value] == nil)
                    seen[value] = (record.offset, record.headers.map { "\($0.key)=\(String(buffer: $0.value!))" })
                    #expect(record.partition == Murmur2.partition(forKey: record.key!, partitionCount: 2))
                }
                let positions = await polling.positions
                for (partition, offset) in lastOffsets {
                    #expect(positions[TopicPartition(topic: "chunks", partition: partition)] == offset + 1)
                }
            }
            #expect(seen.count == 500)
            #expect((0..<500).allSatisfy { seen["v\($0)"]?.headers == ($0 % 3 == 0 ? ["n=\($0)"] : []) })
            await polling.close()

            // pollBatches from offset 3 of partition 0: the records walked are the same, from there.
            let batching = KafkaConsumer(client: client)
            try await batching.assign([partitions[0]: .offset(3), partitions[1]: .beginning])
            var walked: [String: Int64] = [:]
            while walked.count < 497 {
                let batches = try await batching.pollBatches(timeoutMs: 2000)
                if batches.isEmpty { break }
                for batch in batches {
                    batch.forEachRecord { record, offset, area in
                        walked[String(decoding: UnsafeRawBufferPointer(rebasing: area[record.value!]), as: UTF8.self)] = offset
                    }
                }
            }
            #expect(walked.count == 497)
            #expect(walked.allSatisfy { seen[$0.key]?.offset == $0.value })
            #expect(!walked.contains { value, offset in
                offset < 3 && Murmur2.partition(forKey: ByteBuffer(string: "k\(Int(value.dropFirst())! % 7)"), partitionCount: 2) == 0
            })
            let positions = await batching.positions
            #expect(partitions.map { positions[$0] } == ends)
            await batching.close()
        }
    }

    /// Two consumers in one group split the partitions; after one leaves, the other gets them all and resumes from
    /// the committed offsets.
    @Test func groupMembersSplitAndTakeOver() async throws {
        try await withBroker { client in
            try await client.createTopic("events", partitions: 4, replicationFactor: 1, configs: [:])
            let producer = KafkaProducer(client: client)
            for partition in Int32(0)..<4 {
                for i in 0..<5 { try await producer.send(topic: "events", key: nil, value: ByteBuffer(string: "\(partition)-\(i)"), partition: partition) }
            }
            await producer.close()

            var config = ConsumerConfig()
            config.groupId = "workers"
            config.autoOffsetReset = .earliest
            config.heartbeatIntervalMs = 200
            config.sessionTimeoutMs = 6000
            let first = KafkaConsumer(client: client, config: config)
            try await first.subscribe(["events"])
            #expect(await first.assignment.count == 4)
            let second = KafkaConsumer(client: client, config: config)
            let joinTask = Task { try await second.subscribe(["events"]) }
            // The first member learns about the rebalance through its heartbeat and rejoins on its next poll.
            var firstRecords = 0
            for _ in 0..<40 where await first.assignment.count != 2 {
                firstRecords += try await first.poll(timeoutMs: 200).count
            }
            try await joinTask.value
            let firstPartitions = await first.assignment
            let secondPartitions = await second.assignment
            #expect(firstPartitions.count == 2 && secondPartitions.count == 2)
            #expect(Set(firstPartitions).isDisjoint(with: secondPartitions))
            var secondRecords = 0
            for _ in 0..<10 { secondRecords += try await second.poll(timeoutMs: 200).count }
            try await second.commit()
            await second.close()  // leaves the group
            var taken = 0
            for _ in 0..<60 where await first.assignment.count != 4 { taken += try await first.poll(timeoutMs: 200).count }
            #expect(await first.assignment.count == 4)
            await first.close()
            let committed = try await client.committedOffsets(group: "workers", topic: "events")
            #expect(committed["events"]?.count ?? 0 >= 2)
        }
    }
}

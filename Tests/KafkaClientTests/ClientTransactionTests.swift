import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Synchronization
import Testing

@testable import KafkaClient

/// The client's transactional producer and read_committed consumer against the broker in this process.
@Suite(.serialized) struct ClientTransactionTests {
    let harness = ClientBrokerTests()

    private func transactional(_ client: KafkaClient, id: String, timeoutMs: Int32 = 60_000) -> KafkaProducer {
        var config = ProducerConfig()
        config.transactionalId = id
        config.transactionTimeoutMs = timeoutMs
        config.lingerMs = 1
        return KafkaProducer(client: client, config: config)
    }

    /// Every value in the topic as a consumer with `isolation` sees it, up to its end.
    private func values(_ client: KafkaClient, topic: String, partitions: Int32, isolation: IsolationLevel) async throws -> [String] {
        var config = ConsumerConfig()
        config.isolationLevel = isolation
        let consumer = KafkaConsumer(client: client, config: config)
        var starts: [TopicPartition: StartPosition] = [:]
        for partition in 0..<partitions { starts[TopicPartition(topic: topic, partition: partition)] = .beginning }
        try await consumer.assign(starts)
        let ends = try await consumer.endOffsets()
        var values: [String] = []
        var rounds = 0
        while rounds < 20, await consumer.positionsReached(ends) == false {
            for record in try await consumer.poll(timeoutMs: 300) { values.append(String(buffer: record.value ?? ByteBuffer())) }
            rounds += 1
        }
        await consumer.close()
        return values.sorted()
    }

    private func send(_ producer: KafkaProducer, _ topic: String, _ values: [String]) async throws {
        for value in values {
            try await producer.send(topic: topic, key: ByteBuffer(string: value), value: ByteBuffer(string: value))
        }
    }

    @Test func committedAndAbortedTransactionsAsEachIsolationSeesThem() async throws {
        try await harness.withBroker { client in
            try await client.createTopic("tx", partitions: 3, replicationFactor: 1, configs: [:])
            let producer = transactional(client, id: "app-1")
            await #expect(throws: KafkaClientError.self) { try await producer.send(topic: "tx", key: nil, value: nil) }
            try await producer.initTransactions()
            try await producer.beginTransaction()
            try await send(producer, "tx", ["c1", "c2", "c3", "c4"])
            try await producer.commitTransaction()
            try await producer.beginTransaction()
            try await send(producer, "tx", ["a1", "a2"])
            try await producer.abortTransaction()
            try await producer.beginTransaction()
            try await send(producer, "tx", ["c5"])
            try await producer.commitTransaction()
            // A transaction with nothing in it ends without the broker.
            try await producer.beginTransaction()
            try await producer.commitTransaction()
            await producer.close()
            #expect(try await values(client, topic: "tx", partitions: 3, isolation: .readCommitted) == ["c1", "c2", "c3", "c4", "c5"])
            #expect(try await values(client, topic: "tx", partitions: 3, isolation: .readUncommitted)
                        == ["a1", "a2", "c1", "c2", "c3", "c4", "c5"])
        }
    }

    @Test func anOpenTransactionIsInvisibleToReadCommitted() async throws {
        try await harness.withBroker { client in
            try await client.createTopic("open", partitions: 1, replicationFactor: 1, configs: [:])
            let producer = transactional(client, id: "open-1")
            try await producer.initTransactions()
            try await producer.beginTransaction()
            try await send(producer, "open", ["pending"])
            await producer.flush()
            let plain = KafkaProducer(client: client)
            try await plain.send(topic: "open", key: nil, value: ByteBuffer(string: "after"))
            await plain.close()
            let stable = try await client.listOffsets(topic: "open", partitions: [0], timestamp: -1, isolation: .readCommitted)
            let end = try await client.listOffsets(topic: "open", partitions: [0], timestamp: -1)
            #expect(stable == [0: 0] && end == [0: 2])
            #expect(try await values(client, topic: "open", partitions: 1, isolation: .readCommitted).isEmpty)
            try await producer.commitTransaction()
            #expect(try await values(client, topic: "open", partitions: 1, isolation: .readCommitted) == ["after", "pending"])
            await producer.close()
        }
    }

    @Test func aSecondInstanceFencesTheFirstAndAbortsItsTransaction() async throws {
        try await harness.withBroker { client in
            try await client.createTopic("f", partitions: 1, replicationFactor: 1, configs: [:])
            let first = transactional(client, id: "same")
            try await first.initTransactions()
            try await first.beginTransaction()
            try await send(first, "f", ["zombie"])
            await first.flush()
            let second = transactional(client, id: "same")
            try await second.initTransactions()
            await #expect(throws: KafkaClientError.self) { try await first.commitTransaction() }
            try await second.beginTransaction()
            try await send(second, "f", ["fresh"])
            try await second.commitTransaction()
            #expect(try await values(client, topic: "f", partitions: 1, isolation: .readCommitted) == ["fresh"])
            await second.close()
        }
    }

    @Test func consumedOffsetsCommitWithTheTransaction() async throws {
        try await harness.withBroker { client in
            try await client.createTopic("in", partitions: 1, replicationFactor: 1, configs: [:])
            try await client.createTopic("out", partitions: 1, replicationFactor: 1, configs: [:])
            let plain = KafkaProducer(client: client)
            for i in 0..<5 { try await plain.send(topic: "in", key: nil, value: ByteBuffer(string: "m\(i)")) }
            await plain.close()
            let producer = transactional(client, id: "ctp")
            try await producer.initTransactions()
            let input = TopicPartition(topic: "in", partition: 0)
            for commit in [false, true] {
                try await producer.beginTransaction()
                try await send(producer, "out", ["t-\(commit)"])
                try await producer.sendOffsetsToTransaction([input: commit ? 5 : 3], group: ConsumerGroupMetadata(groupId: "g"))
                if commit { try await producer.commitTransaction() } else { try await producer.abortTransaction() }
                let committed = try await client.committedOffsets(group: "g", topic: "in", partitions: [0],
                                                                  using: try await client.coordinator(forGroup: "g"))
                #expect(committed["in"]?[0] == (commit ? 5 : nil))
            }
            await producer.close()
        }
    }
}

extension ClientTransactionTests {
    @Test func aReadCommittedConsumerWaitsForAPendingTransactionalOffset() async throws {
        try await harness.withBroker { client in
            try await client.createTopic("src", partitions: 1, replicationFactor: 1, configs: [:])
            let input = TopicPartition(topic: "src", partition: 0)
            let group = ConsumerGroupMetadata(groupId: "stable")
            let producer = transactional(client, id: "offsets")
            try await producer.initTransactions()
            try await producer.beginTransaction()
            try await producer.sendOffsetsToTransaction([input: 3], group: group)
            try await producer.commitTransaction()
            try await producer.beginTransaction()
            try await producer.sendOffsetsToTransaction([input: 7], group: group)
            // A read_committed consumer starting from the committed offset now must not take 3 and redo 3..6.
            var config = ConsumerConfig()
            config.groupId = "stable"
            config.isolationLevel = .readCommitted
            let consumer = KafkaConsumer(client: client, config: config)
            let start = Task { try await consumer.assign([input: .committed]) }
            try await Task.sleep(nanoseconds: 300_000_000)
            try await producer.commitTransaction()
            try await start.value
            #expect(await consumer.positions[input] == 7)
            await consumer.close()
            await producer.close()
        }
    }
}

extension KafkaConsumer {
    /// Whether every partition's position reached `ends`.
    func positionsReached(_ ends: [TopicPartition: Int64]) -> Bool {
        ends.allSatisfy { (positions[$0.key] ?? 0) >= $0.value }
    }
}

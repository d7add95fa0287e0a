import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaClient

/// Pure parts of the client: partitioning, assignment strategies, the embedded consumer protocol, batching.
@Suite struct ClientUnitTests {
    /// Vectors from Apache Kafka's UtilsTest and kafka-python's murmur2 (checked against kafka-python 3.0.12).
    @Test(arguments: [
        ("", Int32(275_646_681)), ("a", -1_563_381_124), ("ab", 316_155_434), ("abc", 479_470_107), ("21", -973_932_308),
        ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536), ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("C100", -410_015_196), ("C200", 1_108_655_589),
    ])
    func murmur2MatchesTheJavaClient(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
        #expect(ByteBuffer(string: key).withUnsafeReadableBytes { Murmur2.hash($0) } == expected)
    }

    @Test func keyedPartitioningIsToPositiveModulo() {
        // kafka-python: (murmur2(b"C100") & 0x7fffffff) % 3 == 2, and for b"C200" == 0.
        #expect(Murmur2.partition(forKey: ByteBuffer(string: "C100"), partitionCount: 3) == 2)
        #expect(Murmur2.partition(forKey: ByteBuffer(string: "C200"), partitionCount: 3) == 0)
        #expect(Murmur2.partition(forKey: ByteBuffer(string: "abc"), partitionCount: 1) == 0)
    }

    @Test func rangeAssignorGivesContiguousRangesExtraToTheFirst() {
        let assignment = Assignor.range.assign(
            members: ["b": ["t"], "a": ["t", "u"], "c": ["t"]], partitionCounts: ["t": 7, "u": 2])
        #expect(assignment["a"] == ["t": [0, 1, 2], "u": [0, 1]])
        #expect(assignment["b"] == ["t": [3, 4]])
        #expect(assignment["c"] == ["t": [5, 6]])
    }

    @Test func roundRobinAssignorDealsAcrossTopicsSkippingUnsubscribed() {
        let assignment = Assignor.roundrobin.assign(
            members: ["m1": ["t", "u"], "m2": ["t"]], partitionCounts: ["t": 3, "u": 2])
        #expect(assignment["m1"] == ["t": [0, 2], "u": [0, 1]])
        #expect(assignment["m2"] == ["t": [1]])
    }

    @Test func everyPartitionIsAssignedExactlyOnce() {
        for assignor in Assignor.allCases {
            let members = ["x": ["a", "b"], "y": ["a", "b"], "z": ["b"]]
            let result = assignor.assign(members: members, partitionCounts: ["a": 5, "b": 4])
            var seen: [String] = []
            for (_, topics) in result { for (topic, partitions) in topics { seen += partitions.map { "\(topic)-\($0)" } } }
            #expect(seen.sorted() == (0..<5).map { "a-\($0)" } + (0..<4).map { "b-\($0)" })
        }
    }

    @Test func consumerProtocolRoundTripsAndReadsRealMemberMetadata() throws {
        let subscription = ConsumerProtocol.encodeSubscription(topics: ["b", "a"], ownedPartitions: ["a": [1, 0]])
        let decoded = try ConsumerProtocol.decodeSubscription(subscription)
        #expect(decoded.version == 1 && decoded.topics == ["a", "b"] && decoded.ownedPartitions == ["a": [0, 1]])
        let assignment = ConsumerProtocol.encodeAssignment(["t": [2, 0]])
        #expect(try ConsumerProtocol.decodeAssignment(assignment).partitions == ["t": [0, 2]])
        #expect(try ConsumerProtocol.decodeAssignment(ByteBuffer()).partitions.isEmpty)
        // A v0 subscription as kafka-python and aiokafka send it: version 0, topics ["test"], empty user data.
        let v0 = ByteBuffer(bytes: [0, 0, 0, 0, 0, 1, 0, 4] + Array("test".utf8) + [0, 0, 0, 0])
        #expect(try ConsumerProtocol.decodeSubscription(v0).topics == ["test"])
    }

    @Test func bootstrapAddressesParse() throws {
        #expect(try BrokerAddress.list("a:1, b:2") == [BrokerAddress(host: "a", port: 1), BrokerAddress(host: "b", port: 2)])
        #expect(try BrokerAddress(parsing: "PLAINTEXT://h:9093") == BrokerAddress(host: "h", port: 9093))
        #expect(try BrokerAddress(parsing: "[::1]:9092") == BrokerAddress(host: "::1", port: 9092))
        #expect(try BrokerAddress(parsing: "localhost").port == 9092)
        #expect(throws: KafkaClientError.self) { try BrokerAddress(parsing: "h:notaport") }
        #expect(throws: KafkaClientError.self) { try BrokerAddress.list(" , ") }
    }
}

/// Batching with explicit times: linger, batch size, sequence numbers, one batch in flight per partition.
@Suite struct RecordAccumulatorTests {
    let key = PartitionKey(topic: "t", partition: 0)

    func record(_ size: Int, at timestamp: Int64 = 0) -> ProducerRecord {
        ProducerRecord(key: nil, value: ByteBuffer(repeating: 1, count: size), timestamp: timestamp)
    }

    @Test func lingerHoldsABatchUntilItExpires() {
        var accumulator = RecordAccumulator(lingerMs: 50, batchSizeBytes: 100_000)
        _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: 1000)
        _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: 1020)
        #expect(accumulator.sealExpired(nowMs: 1049) == 1050)
        #expect(accumulator.readyPartitions.isEmpty)
        #expect(accumulator.sealExpired(nowMs: 1050) == nil)
        #expect(accumulator.readyPartitions == [key])
        #expect(accumulator.first(key)?.recordCount == 2)
    }

    /// The linger seals every partition that is due in one pass (sealing used to happen while iterating the queues)
    /// and leaves the others open; each sealed batch is valid and holds its own partition's records.
    @Test func lingerSealsEveryDuePartitionAndOnlyThose() throws {
        var accumulator = RecordAccumulator(lingerMs: 50, batchSizeBytes: 100_000)
        let keys = (0..<5).map { PartitionKey(topic: "t", partition: Int32($0)) }
        for (index, key) in keys.enumerated() {
            for size in 1...(index + 1) {
                _ = accumulator.append(record(size), to: key, callback: nil, call: 0, nowMs: index == 4 ? 1040 : 1000)
            }
        }
        #expect(accumulator.sealExpired(nowMs: 1060) == 1090)
        #expect(accumulator.readyPartitions == Array(keys.prefix(4)))
        for (index, key) in keys.prefix(4).enumerated() {
            let batch = try #require(accumulator.first(key))
            #expect(try RecordBatchValidator.validateProduced(batch.bytes).count == 1)  // its CRC and records check out
            let records = try RecordBatchHeader.records(in: batch.bytes)
            #expect(records.map { $0.value?.readableBytes } == (1...(index + 1)).map { $0 })
        }
        #expect(accumulator.sealExpired(nowMs: 1090) == nil)
        #expect(accumulator.first(keys[4])?.recordCount == 5)
    }

    /// A batch keeps one callback entry per run of records from one `send` call, in record order.
    @Test func callbacksAreKeptAsRunsPerSendCall() throws {
        var accumulator = RecordAccumulator(lingerMs: 10_000, batchSizeBytes: 100_000)
        let first: DeliveryCallback = { _ in }
        let second: DeliveryCallback = { _ in }
        for _ in 0..<3 { _ = accumulator.append(record(5), to: key, callback: first, call: 1, nowMs: 0) }
        var chunk = RecordChunk()
        for _ in 0..<2 { chunk.append(key: nil, value: [1, 2]) }
        for index in 0..<2 {
            _ = accumulator.append(index, of: chunk, timestamp: 0, estimatedSize: chunk.estimatedSize(at: index), to: key,
                                   callback: second, call: 2, nowMs: 0)
        }
        _ = accumulator.append(record(5), to: key, callback: nil, call: 3, nowMs: 0)
        _ = accumulator.sealExpired(nowMs: 10_000)
        let batch = try #require(accumulator.first(key))
        #expect(batch.recordCount == 6)
        #expect(batch.callbacks.map(\.count) == [3, 2, 1] && batch.callbacks.map(\.call) == [1, 2, 3])
        #expect(batch.callbacks.map { $0.callback != nil } == [true, true, false])
    }

    @Test func aFullBatchIsSealedAtOnceAndNeverExceedsTheLimit() {
        var accumulator = RecordAccumulator(lingerMs: 10_000, batchSizeBytes: 1000)
        var sealedCount = 0
        for i in 0..<25 where accumulator.append(record(100, at: Int64(i)), to: key, callback: nil, call: 0, nowMs: 0) { sealedCount += 1 }
        #expect(sealedCount >= 2)
        var sizes: [Int] = []
        while let bytes = accumulator.startSending(key) {
            sizes.append(bytes.readableBytes)
            _ = accumulator.takeFirst(key)
        }
        #expect(!sizes.isEmpty && sizes.allSatisfy { $0 <= 1000 })
    }

    /// A batch's buffer starts small and doubles: a full batch keeps its buffer (no copy), and one the linger seals
    /// with a few records in it holds little more than them.
    @Test func aBatchSealedEarlyHoldsNoMoreThanItsRecords() throws {
        var accumulator = RecordAccumulator(lingerMs: 5, batchSizeBytes: 1_000_000)
        var index: Int64 = 0
        while !accumulator.append(record(1000, at: index), to: key, callback: nil, call: 0, nowMs: 0) { index += 1 }
        let full = try #require(accumulator.first(key))
        #expect(full.bytes.readableBytes > 900_000 && full.bytes.capacity - full.bytes.readableBytes <= 1_000_000 / 8 + 16 * 1024)
        // The record that did not fit opened the next batch.
        _ = accumulator.append(record(1000, at: index + 1), to: key, callback: nil, call: 0, nowMs: 0)
        _ = accumulator.startSending(key)
        _ = accumulator.takeFirst(key)
        _ = accumulator.sealExpired(nowMs: 5)
        let early = try #require(accumulator.first(key))
        #expect(early.recordCount == 2)
        #expect(early.bytes.capacity < 4096 + 16 * 1024, "a 2-record batch holds \(early.bytes.capacity) bytes")
        let records = try RecordBatchHeader.records(in: early.bytes)
        #expect(records.map(\.timestamp) == [index, index + 1] && records.allSatisfy { $0.value?.readableBytes == 1000 })
        _ = try RecordBatchValidator.validateProduced(early.bytes)
    }

    /// While a partition's batch is in flight its open batch keeps filling past the linger (it could not be sent
    /// anyway) and is sealed once the batch ahead is answered, with the time of its first record; other partitions
    /// linger as usual. Sealed at the linger regardless, batches shrank to a few records each behind a slow broker.
    @Test func aPartitionWithABatchInFlightKeepsFillingItsOpenBatch() throws {
        var accumulator = RecordAccumulator(lingerMs: 5, batchSizeBytes: 100_000)
        let other = PartitionKey(topic: "t", partition: 1)
        _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: 0)
        #expect(accumulator.sealExpired(nowMs: 5) == nil)
        #expect(accumulator.startSending(key) != nil)
        for time in Int64(10)..<20 { _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: time) }
        _ = accumulator.append(record(10), to: other, callback: nil, call: 0, nowMs: 20)
        #expect(accumulator.sealExpired(nowMs: 20) == 25)  // only the other partition's linger is pending
        for time in Int64(20)..<40 { _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: time) }
        #expect(accumulator.sealExpired(nowMs: 100) == nil)
        #expect(accumulator.readyPartitions == [other])
        #expect(accumulator.first(key)?.recordCount == 1)  // still just the batch in flight
        _ = accumulator.takeFirst(key)
        #expect(accumulator.sealExpired(nowMs: 100) == nil)
        let batch = try #require(accumulator.first(key))
        #expect(batch.recordCount == 30 && batch.createdMs == 10)
        #expect(accumulator.readyPartitions == [key, other])
        // A batch waiting to be sent holds the open one back as well.
        _ = accumulator.append(record(10), to: key, callback: nil, call: 0, nowMs: 100)
        #expect(accumulator.sealExpired(nowMs: 200) == nil)
        #expect(accumulator.first(key)?.recordCount == 30)
    }

    /// buffer.memory is counted by the batches' buffers, as Kafka counts it: `heldBytes` is the capacity of every open
    /// and sealed batch, it follows a buffer as it doubles (never to more than twice its records), and it is back to
    /// zero once every batch is acknowledged.
    @Test func heldBytesCountsEveryBatchBuffer() throws {
        var accumulator = RecordAccumulator(lingerMs: 5, batchSizeBytes: 1_000_000)
        let keys = (0..<3).map { PartitionKey(topic: "t", partition: Int32($0)) }
        func heldByBatches() -> Int {
            accumulator.queues.values.reduce(0) { total, queue in
                total + (queue.open.isEmpty ? 0 : queue.open.capacity) + queue.sealed.reduce(0) { $0 + $1.bytes.capacity }
            }
        }
        for (index, key) in keys.enumerated() {
            for _ in 0..<(index == 2 ? 300 : 1) { _ = accumulator.append(record(1000), to: key, callback: nil, call: 0, nowMs: 0) }
        }
        #expect(accumulator.heldBytes == heldByBatches())
        #expect(accumulator.heldBytes >= 300_000 + 2 * 1000 && accumulator.heldBytes <= 2 * 300_000 + 2 * 16 * 1024)
        _ = accumulator.sealExpired(nowMs: 5)
        #expect(accumulator.heldBytes == heldByBatches())
        let big = try #require(accumulator.first(keys[2]))
        #expect(big.heldBytes == big.bytes.capacity && big.bytes.capacity < 2 * big.bytes.readableBytes)
        for key in keys {
            #expect(accumulator.startSending(key) != nil)
            _ = accumulator.takeFirst(key)
            #expect(accumulator.heldBytes == heldByBatches())
        }
        #expect(accumulator.heldBytes == 0)
    }

    @Test func sequencesAdvancePerPartitionAndRetriesKeepTheirBytes() throws {
        var accumulator = RecordAccumulator(lingerMs: 0, batchSizeBytes: 100_000)
        accumulator.producer = (id: 42, epoch: 3)
        for _ in 0..<3 { _ = accumulator.append(record(5), to: key, callback: nil, call: 0, nowMs: 0) }
        let other = PartitionKey(topic: "t", partition: 1)
        _ = accumulator.append(record(5), to: other, callback: nil, call: 0, nowMs: 0)
        let sent = accumulator.startSending(key)
        let first = try #require(sent)
        let again = accumulator.startSending(key)
        #expect(again == nil)  // one batch in flight per partition
        let header = try #require(RecordBatchHeader(first))
        #expect(header.producerId == 42 && header.producerEpoch == 3 && header.baseSequence == 0)
        accumulator.stopSending(key)  // a retriable failure: the same bytes go again
        let retried = accumulator.startSending(key)
        #expect(retried == first)
        _ = accumulator.takeFirst(key)
        let next = accumulator.startSending(key)
        let second = try #require(next)
        #expect(RecordBatchHeader(second)?.baseSequence == 1)
        let otherSent = accumulator.startSending(other)
        let otherFirst = try #require(otherSent)
        #expect(RecordBatchHeader(otherFirst)?.baseSequence == 0)
    }
}

import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import Synchronization
import Testing
import Timekeeping

@testable import KafkaBroker

/// The transaction APIs through the broker's request path (real frames, no sockets): the coordinator, markers,
/// read_committed fetches, transactional offset commits, version-specific errors and restarts.
@Suite struct BrokerTransactionTests {
    struct Producer {
        var id: Int64
        var epoch: Int16
        var sequence: Int32 = 0
    }

    private func initProducer(_ harness: BrokerHarness, _ transactionalId: String, timeoutMs: Int32 = 60_000) throws -> Producer {
        let response = try harness.call(InitProducerIdRequest(transactionalId: transactionalId, transactionTimeoutMs: timeoutMs), version: 4)
        #expect(response.errorCode == 0)
        return Producer(id: response.producerId, epoch: response.producerEpoch)
    }

    private func add(_ harness: BrokerHarness, _ transactionalId: String, _ producer: Producer, _ topic: String,
                     _ partitions: [Int32], version: Int16 = 3) throws -> [Int16] {
        let response = try harness.call(AddPartitionsToTxnRequest(
            transactionalId: transactionalId, producerId: producer.id, producerEpoch: producer.epoch,
            topics: [.init(name: topic, partitions: partitions)]), version: version)
        return response.results.flatMap(\.resultsByPartition).map(\.partitionErrorCode)
    }

    private func end(_ harness: BrokerHarness, _ transactionalId: String, _ producer: Producer, commit: Bool,
                     version: Int16 = 3) throws -> Int16 {
        try harness.call(EndTxnRequest(transactionalId: transactionalId, producerId: producer.id,
                                       producerEpoch: producer.epoch, committed: commit), version: version).errorCode
    }

    /// Produces `values` as one transactional batch of the producer, advancing its sequence.
    private func produce(_ harness: BrokerHarness, _ transactionalId: String?, _ producer: inout Producer, _ topic: String,
                         _ values: [String], partition: Int32 = 0) throws -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse {
        var builder = RecordBatchBuilder()
        builder.producerId = producer.id
        builder.producerEpoch = producer.epoch
        builder.baseSequence = producer.sequence
        builder.isTransactional = true
        for value in values { builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: value), timestamp: 1)) }
        let response = try harness.call(ProduceRequest(transactionalId: transactionalId, acks: -1, timeoutMs: 1000, topicData: [
            .init(name: topic, partitionData: [.init(index: partition, records: .bytes(builder.build()))]),
        ]), version: 9).responses[0].partitionResponses[0]
        if response.errorCode == 0 { producer.sequence += Int32(values.count) }
        return response
    }

    private func fetch(_ harness: BrokerHarness, _ topic: String, committed: Bool, from offset: Int64 = 0)
        throws -> FetchResponse.FetchableTopicResponse.PartitionData
    {
        try harness.call(FetchRequest(maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: committed ? 1 : 0, topics: [
            .init(topic: topic, topicId: .zero, partitions: [.init(partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20)]),
        ]), version: 11).responses[0].partitions[0]
    }

    /// Values of the data records (control batches skipped) of a fetched partition.
    private func dataValues(_ data: FetchResponse.FetchableTopicResponse.PartitionData) throws -> [String] {
        guard case .bytes(var bytes)? = data.records else { return [] }
        var values: [String] = []
        while let header = RecordBatchHeader(bytes), let batch = bytes.readSlice(length: header.totalSize) {
            if header.isControl { continue }
            values += try RecordBatchHeader.records(in: batch).map { $0.value.map { String(buffer: $0) } ?? "" }
        }
        return values
    }

    @Test func aCommittedTransactionBecomesVisibleToReadCommittedOnlyAtItsMarker() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        var producer = try initProducer(harness, "tx")
        #expect(try add(harness, "tx", producer, "t", [0]) == [0])
        #expect(try produce(harness, "tx", &producer, "t", ["a", "b"]).errorCode == 0)
        let open = try fetch(harness, "t", committed: true)
        #expect(open.lastStableOffset == 0 && open.highWatermark == 2)
        #expect(try dataValues(open).isEmpty)
        #expect(try dataValues(try fetch(harness, "t", committed: false)) == ["a", "b"])
        #expect(try end(harness, "tx", producer, commit: true) == 0)
        let done = try fetch(harness, "t", committed: true)
        #expect(done.lastStableOffset == 3 && done.highWatermark == 3 && done.abortedTransactions?.isEmpty == true)
        #expect(try dataValues(done) == ["a", "b"])
    }

    @Test func abortedTransactionsAreListedForReadCommittedFetches() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        var producer = try initProducer(harness, "tx")
        _ = try add(harness, "tx", producer, "t", [0])
        _ = try produce(harness, "tx", &producer, "t", ["x", "y"])
        #expect(try end(harness, "tx", producer, commit: false) == 0)
        let committed = try fetch(harness, "t", committed: true)
        #expect(committed.abortedTransactions?.map(\.producerId) == [producer.id])
        #expect(committed.abortedTransactions?.map(\.firstOffset) == [0])
        #expect(try fetch(harness, "t", committed: false).abortedTransactions == nil)
        // ListOffsets read_committed latest: the last stable offset.
        let listed = try harness.call(ListOffsetsRequest(replicaId: -1, isolationLevel: 1, topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0, timestamp: -1)]),
        ]), version: 5)
        #expect(listed.topics[0].partitions[0].offset == 3)
    }

    @Test func transactionalBatchesMustBelongToTheOpenTransaction() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t", partitions: 2)
        var producer = try initProducer(harness, "tx")
        _ = try add(harness, "tx", producer, "t", [0])
        // Partition 1 was not added: refused, nothing written.
        #expect(try produce(harness, "tx", &producer, "t", ["no"], partition: 1).errorCode == ErrorCode.invalidTxnState.rawValue)
        #expect(try fetch(harness, "t", committed: false).highWatermark == 0)
        // Transactional batches need the request's transactional id.
        #expect(try produce(harness, nil, &producer, "t", ["no"]).errorCode == ErrorCode.transactionalIdAuthorizationFailed.rawValue)
        // A stale epoch is fenced.
        var zombie = producer
        zombie.epoch -= 1
        #expect(try produce(harness, "tx", &zombie, "t", ["no"]).errorCode == ErrorCode.invalidProducerEpoch.rawValue)
        // An unknown transactional id.
        #expect(try produce(harness, "other", &producer, "t", ["no"]).errorCode == ErrorCode.invalidProducerIdMapping.rawValue)
        #expect(try produce(harness, "tx", &producer, "t", ["yes"]).errorCode == 0)
    }

    @Test func errorsFollowTheRequestVersion() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        var producer = try initProducer(harness, "tx")
        let current = producer
        producer = try initProducer(harness, "tx")  // a new instance: the first is fenced
        #expect(try add(harness, "tx", current, "t", [0], version: 1) == [ErrorCode.invalidProducerEpoch.rawValue])
        #expect(try add(harness, "tx", current, "t", [0], version: 3) == [ErrorCode.producerFenced.rawValue])
        #expect(try end(harness, "tx", current, commit: true, version: 0) == ErrorCode.invalidProducerEpoch.rawValue)
        // EndTxn without a transaction; unknown partitions make the others not attempted.
        #expect(try end(harness, "tx", producer, commit: true) == ErrorCode.invalidTxnState.rawValue)
        let mixed = try harness.call(AddPartitionsToTxnRequest(
            transactionalId: "tx", producerId: producer.id, producerEpoch: producer.epoch,
            topics: [.init(name: "t", partitions: [0]), .init(name: "gone", partitions: [0])]), version: 3)
        #expect(mixed.results.map { $0.resultsByPartition[0].partitionErrorCode }
                    == [ErrorCode.operationNotAttempted.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])
        let timeout = try harness.call(InitProducerIdRequest(transactionalId: "long", transactionTimeoutMs: 900_001), version: 4)
        #expect(timeout.errorCode == ErrorCode.invalidTransactionTimeout.rawValue && timeout.producerId == -1)
    }

    @Test func transactionalOffsetsStayPendingUntilTheCommitEvenAcrossARestart() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("in")
        let producer = try initProducer(harness, "ctp")
        #expect(try harness.call(AddOffsetsToTxnRequest(transactionalId: "ctp", producerId: producer.id,
                                                        producerEpoch: producer.epoch, groupId: "g"), version: 3).errorCode == 0)
        func commitOffset(_ offset: Int64) throws -> Int16 {
            try harness.call(TxnOffsetCommitRequest(
                transactionalId: "ctp", groupId: "g", producerId: producer.id, producerEpoch: producer.epoch,
                topics: [.init(name: "in", partitions: [.init(partitionIndex: 0, committedOffset: offset, committedMetadata: nil)])]),
                version: 3).topics[0].partitions[0].errorCode
        }
        #expect(try commitOffset(42) == 0)
        func fetched(requireStable: Bool) throws -> (Int64, Int16) {
            let response = try harness.call(OffsetFetchRequest(groups: [.init(groupId: "g", topics: [.init(name: "in", partitionIndexes: [0])])],
                                                               requireStable: requireStable), version: 8)
            let partition = response.groups[0].topics[0].partitions[0]
            return (partition.committedOffset, partition.errorCode)
        }
        #expect(try fetched(requireStable: false) == (-1, 0))
        #expect(try fetched(requireStable: true) == (-1, ErrorCode.unstableOffsetCommit.rawValue))
        try harness.restart()
        #expect(try fetched(requireStable: true) == (-1, ErrorCode.unstableOffsetCommit.rawValue))
        #expect(try end(harness, "ctp", producer, commit: true) == 0)
        #expect(try fetched(requireStable: true) == (42, 0))
        // Committing offsets without AddOffsetsToTxn first is refused.
        _ = try add(harness, "ctp", producer, "in", [0])
        #expect(try commitOffset(50) == ErrorCode.invalidTxnState.rawValue)
    }

    @Test func anOpenTransactionSurvivesARestartAndItsDeadline() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        var producer = try initProducer(harness, "tx", timeoutMs: 60_000)
        _ = try add(harness, "tx", producer, "t", [0])
        _ = try produce(harness, "tx", &producer, "t", ["held"])
        try harness.restart()
        #expect(try fetch(harness, "t", committed: true).lastStableOffset == 0)
        let described = try harness.call(DescribeTransactionsRequest(transactionalIds: ["tx", "nope"]), version: 0)
        #expect(described.transactionStates.map(\.transactionState) == ["Ongoing", ""])
        #expect(described.transactionStates.map(\.errorCode) == [0, ErrorCode.transactionalIdNotFound.rawValue])
        #expect(described.transactionStates[0].topics.map(\.topic) == ["t"])
        let producers = try harness.call(DescribeProducersRequest(topics: [.init(name: "t", partitionIndexes: [0])]), version: 0)
        #expect(producers.topics[0].partitions[0].activeProducers.map(\.currentTxnStartOffset) == [0])
        // The same id restarted elsewhere fences the old producer and aborts what it left open.
        #expect(try harness.call(InitProducerIdRequest(transactionalId: "tx", transactionTimeoutMs: 60_000), version: 4).errorCode
                    == ErrorCode.concurrentTransactions.rawValue)
        let retried = try initProducer(harness, "tx")
        #expect(retried.id == producer.id && retried.epoch == producer.epoch + 2)
        let after = try fetch(harness, "t", committed: true)
        #expect(after.lastStableOffset == after.highWatermark && after.abortedTransactions?.count == 1)
        let listed = try harness.call(ListTransactionsRequest(stateFilters: ["Empty"], producerIdFilters: []), version: 1)
        #expect(listed.transactionStates.map(\.transactionalId) == ["tx"])
    }

    @Test func aHangingTransactionUnknownToTheCoordinatorIsAbortedByMaintenance() throws {
        let clock = SteppedClock()
        let harness = try BrokerHarness(clock: clock) { $0.transactionMaxTimeoutMs = 60_000 }
        defer { harness.close() }
        try harness.createTopic("t")
        // Transactional data the coordinator never heard of (as after losing its last write in a power cut).
        var builder = RecordBatchBuilder()
        builder.producerId = 4242
        builder.producerEpoch = 3
        builder.baseSequence = 0
        builder.isTransactional = true
        builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: "orphan"), timestamp: 1))
        let log = try #require(harness.broker.topics.topic(named: "t")?.log(0))
        _ = try log.append(builder.build())
        // A transaction the coordinator knows, idle just as long, is left to its own timeout.
        var producer = try initProducer(harness, "live", timeoutMs: 60_000)
        _ = try add(harness, "live", producer, "t", [0])
        _ = try produce(harness, "live", &producer, "t", ["kept"])
        harness.broker.transactions.abortHangingTransactions()
        #expect(log.openTransactions.count == 2)
        clock.advance(by: 60_001)
        harness.broker.transactions.abortHangingTransactions()
        let after = try fetch(harness, "t", committed: true)
        #expect(after.abortedTransactions?.map(\.producerId) == [4242])
        #expect(log.openTransactions.map(\.producerId) == [producer.id])
    }
}

/// A clock moved by hand.
final class SteppedClock: TimeSource {
    private let manual = ManualTimeSource(wallClockMs: 1_800_000_000_000)
    func wallClockMs() -> Int64 { manual.wallClockMs() }
    func monotonicNanos() -> UInt64 { manual.monotonicNanos() }
    func sleep(nanoseconds: UInt64) async throws { try await manual.sleep(nanoseconds: nanoseconds) }
    func advance(by milliseconds: Int64) { manual.advance(byMilliseconds: milliseconds) }
}

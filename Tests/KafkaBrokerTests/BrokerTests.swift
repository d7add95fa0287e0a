import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import KafkaBroker

/// Request handling end to end through real frames, without sockets (see BrokerHarness).
@Suite(.serialized) struct BrokerTests {
    @Test func apiVersionsAdvertisesEveryImplementedApiAtEveryVersion() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        for version in ApiVersionsRequest.supportedVersions {
            let response = try harness.call(
                ApiVersionsRequest(clientSoftwareName: "ledgerstream-test", clientSoftwareVersion: "1.0"), version: version)
            #expect(response.errorCode == 0)
            let advertised = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            #expect(advertised[ProduceRequest.apiKey.rawValue] == ProduceRequest.supportedVersions)
            #expect(advertised[FetchRequest.apiKey.rawValue] == FetchRequest.supportedVersions)
            // Every implemented API but the telemetry one Kafka leaves out without a telemetry receiver.
            #expect(Set(advertised.keys) == Set(ApiKey.schemas.keys).subtracting([ApiKey.getTelemetrySubscriptions.rawValue]))
        }
    }

    /// KIP-511: an ApiVersions version we do not know gets error 35 in the v0 layout with our ranges.
    @Test func apiVersionsFallbackForUnknownVersion() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        var frame = ByteBufferAllocator().buffer(capacity: 32)
        frame.writeInteger(Int16(18))
        frame.writeInteger(Int16(99))
        frame.writeInteger(Int32(1234))
        frame.writeInteger(Int16(-1))
        frame.writeBytes([0, 0, 0, 0])  // a body we must not try to parse
        guard case .response(var response) = harness.sendRaw(frame) else { Issue.record("no response"); return }
        #expect(response.readInteger(as: Int32.self) == Int32(response.readableBytes))
        #expect(response.readInteger(as: Int32.self) == 1234)  // v0 header: correlation id only
        var reader = KafkaReader(response)
        let body = try ApiVersionsResponse(from: &reader, version: 0)
        #expect(body.errorCode == ErrorCode.unsupportedVersion.rawValue && !body.apiKeys.isEmpty)
        #expect(reader.remaining == 0)
    }

    @Test func unknownApiKeysAndBadFramesCloseOnlyTheConnection() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        var unknown = ByteBufferAllocator().buffer(capacity: 16)
        unknown.writeInteger(Int16(9999))
        unknown.writeInteger(Int16(0))
        unknown.writeInteger(Int32(1))
        unknown.writeInteger(Int16(-1))
        guard case .closed = harness.sendRaw(unknown) else { Issue.record("unknown key not closed"); return }
        guard case .closed = harness.sendRaw(ByteBuffer(bytes: [0, 3])) else { Issue.record("short frame not closed"); return }
        var truncated = ByteBufferAllocator().buffer(capacity: 16)
        truncated.writeInteger(Int16(3))  // Metadata v1 whose topic array claims 5 entries
        truncated.writeInteger(Int16(1))
        truncated.writeInteger(Int32(2))
        truncated.writeInteger(Int16(-1))
        truncated.writeInteger(Int32(5))
        guard case .closed = harness.sendRaw(truncated) else { Issue.record("malformed body not closed"); return }
        // The broker still serves.
        #expect(try harness.call(MetadataRequest(topics: nil), version: 1).brokers.count == 1)
    }

    @Test func metadataDistinguishesAllTopicsFromNoneAndAutoCreates() throws {
        let harness = try BrokerHarness { $0.numPartitions = 3 }
        defer { harness.close() }
        try harness.createTopic("existing")
        #expect(try harness.call(MetadataRequest(topics: nil), version: 12).topics.compactMap(\.name) == ["existing"])
        #expect(try harness.call(MetadataRequest(topics: []), version: 12).topics.isEmpty)
        #expect(try harness.call(MetadataRequest(topics: []), version: 0).topics.count == 1)  // v0: empty means all

        let created = try harness.call(MetadataRequest(topics: [.init(name: "auto")], allowAutoTopicCreation: true), version: 9)
        #expect(created.topics[0].errorCode == 0 && created.topics[0].partitions.count == 3)
        let refused = try harness.call(MetadataRequest(topics: [.init(name: "nope")], allowAutoTopicCreation: false), version: 9)
        #expect(refused.topics[0].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        let invalid = try harness.call(MetadataRequest(topics: [.init(name: "bad name!")], allowAutoTopicCreation: true), version: 9)
        #expect(invalid.topics[0].errorCode == ErrorCode.invalidTopicException.rawValue)

        let v12 = try harness.call(MetadataRequest(topics: [.init(name: "existing")]), version: 12)
        let id = v12.topics[0].topicId
        #expect(!id.isZero && v12.topics[0].topicAuthorizedOperations == Int32.min)
        let byId = try harness.call(MetadataRequest(topics: [.init(topicId: id, name: nil)]), version: 12)
        #expect(byId.topics[0].name == "existing")
        let unknownId = try harness.call(MetadataRequest(topics: [.init(topicId: KafkaUUID.random(), name: nil)]), version: 12)
        #expect(unknownId.topics[0].errorCode == ErrorCode.unknownTopicId.rawValue)
    }

    /// Produce v0-v2 are advertised (see 00_Produce.def) but carry legacy message sets: refused, nothing appended.
    @Test(arguments: [Int16(0), 1, 2])
    func legacyProduceVersionsAreRefusedWithUnsupportedForMessageFormat(version: Int16) throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        let answer = try harness.produce("t", batch: BrokerHarness.batch(["a"]), version: version)
        #expect(answer.errorCode == ErrorCode.unsupportedForMessageFormat.rawValue && answer.baseOffset == -1)
        let data = try harness.fetch("t", offset: 0).responses[0].partitions[0]
        #expect(data.highWatermark == 0)
    }

    @Test(arguments: Array(ProduceRequest.supportedVersions.filter { $0 >= 3 }))
    func produceThenFetchAtEveryProduceVersion(version: Int16) throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        let first = try harness.produce("t", batch: BrokerHarness.batch(["a", "b", "c"]), version: version)
        let second = try harness.produce("t", batch: BrokerHarness.batch(["d"]), version: version)
        #expect(first.errorCode == 0 && first.baseOffset == 0 && second.baseOffset == 3)
        let fetched = try harness.fetch("t", offset: 1)
        let data = fetched.responses[0].partitions[0]
        #expect(data.highWatermark == 4 && data.lastStableOffset == 4 && data.logStartOffset == 0)
        // Whole batches from the one holding offset 1: the client skips offset 0 itself.
        #expect(try BrokerHarness.values(data).map(\.value) == ["a", "b", "c", "d"])
    }

    @Test(arguments: Array(FetchRequest.supportedVersions))
    func fetchAtEveryVersionIncludingTopicIds(version: Int16) throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        _ = try harness.produce("t", batch: BrokerHarness.batch(["x", "y"]))
        let id = try harness.call(MetadataRequest(topics: [.init(name: "t")]), version: 12).topics[0].topicId
        let response = try harness.fetch("t", offset: 0, version: version, topicId: version >= 13 ? id : .zero)
        #expect(response.responses[0].partitions[0].errorCode == 0)
        #expect(try BrokerHarness.values(response.responses[0].partitions[0]).map(\.offset) == [0, 1])
        if version >= 13 {
            let unknown = try harness.fetch("t", offset: 0, version: version, topicId: KafkaUUID.random())
            #expect(unknown.responses[0].partitions[0].errorCode == ErrorCode.unknownTopicId.rawValue)
        }
    }

    @Test func fetchOutOfRangeAndUnknownPartitions() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        _ = try harness.produce("t", batch: BrokerHarness.batch(["x"]))
        let atEnd = try harness.fetch("t", offset: 1)
        #expect(atEnd.responses[0].partitions[0].errorCode == 0)  // the log end is a valid position
        let beyond = try harness.fetch("t", offset: 5)
        #expect(beyond.responses[0].partitions[0].errorCode == ErrorCode.offsetOutOfRange.rawValue)
        #expect(beyond.responses[0].partitions[0].highWatermark == 1)
        let missing = try harness.fetch("t", partition: 7, offset: 0)
        #expect(missing.responses[0].partitions[0].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
    }

    /// A parked fetch is answered by the next append, not by its timer.
    @Test func parkedFetchWakesOnAppend() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        let outcome = harness.send(FetchRequest(maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, topics: [
            .init(topic: "t", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)]),
        ]), version: 11)
        guard case .pending(let future) = outcome else { Issue.record("fetch did not park"); return }
        harness.loop.run()
        let done = NIOLockedValueBox(false)
        future.whenComplete { _ in done.withLockedValue { $0 = true } }
        #expect(!done.withLockedValue { $0 })
        #expect(harness.broker.purgatory.waitingCount == 1)
        _ = try harness.produce("t", batch: BrokerHarness.batch(["wake"]))
        harness.loop.run()  // no time advanced: only the append can have completed it
        #expect(done.withLockedValue { $0 })
        let response = try harness.decode(BrokerHarness.join(try future.wait()), as: FetchRequest.self, version: 11)
        #expect(try BrokerHarness.values(response.responses[0].partitions[0]).map(\.value) == ["wake"])
        #expect(harness.broker.purgatory.waitingCount == 0)
    }

    @Test func corruptBatchesAndBadAcksAreRefused() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        var corrupt = BrokerHarness.batch(["x"])
        corrupt.setInteger(UInt8(0xEE), at: corrupt.readerIndex + 65)
        #expect(try harness.produce("t", batch: corrupt).errorCode == ErrorCode.corruptMessage.rawValue)
        #expect(try harness.produce("t", batch: BrokerHarness.batch(["x"]), acks: 2).errorCode == ErrorCode.invalidRequiredAcks.rawValue)
        #expect(try harness.produce("missing", batch: BrokerHarness.batch(["x"])).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        // acks=0: no response when it works, the connection is closed when it does not.
        guard case .none = harness.send(ProduceRequest(acks: 0, timeoutMs: 100, topicData: [
            .init(name: "t", partitionData: [.init(index: 0, records: .bytes(BrokerHarness.batch(["y"])))]),
        ]), version: 7) else { Issue.record("acks=0 answered"); return }
        guard case .closed = harness.send(ProduceRequest(acks: 0, timeoutMs: 100, topicData: [
            .init(name: "t", partitionData: [.init(index: 0, records: .bytes(corrupt))]),
        ]), version: 7) else { Issue.record("failed acks=0 not closed"); return }
        #expect(try harness.fetch("t", offset: 0).responses[0].partitions[0].highWatermark == 1)
    }

    @Test func idempotentRetryGetsTheOriginalOffsets() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        let pid = try harness.call(InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: 2_147_483_647), version: 0)
        #expect(pid.errorCode == 0 && pid.producerId >= 0 && pid.producerEpoch == 0)
        let another = try harness.call(InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: -1), version: 4)
        #expect(another.producerId != pid.producerId)
        let batch = BrokerHarness.batch(["a", "b"], producerId: pid.producerId, epoch: 0, sequence: 0)
        let first = try harness.produce("t", batch: batch)
        let retry = try harness.produce("t", batch: batch)
        #expect(first.baseOffset == 0 && retry.errorCode == 0 && retry.baseOffset == 0)
        let gap = try harness.produce("t", batch: BrokerHarness.batch(["c"], producerId: pid.producerId, epoch: 0, sequence: 5))
        #expect(gap.errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue)
        #expect(try harness.fetch("t", offset: 0).responses[0].partitions[0].highWatermark == 2)
    }

    @Test func listOffsetsEarliestLatestAndByTime() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        _ = try harness.produce("t", batch: BrokerHarness.batch(["a", "b", "c"], timestamp: 1000))
        _ = try harness.produce("t", batch: BrokerHarness.batch(["d", "e"], timestamp: 2000))
        func list(_ timestamp: Int64, version: Int16 = 7) throws -> (Int64, Int64) {
            let response = try harness.call(ListOffsetsRequest(replicaId: -1, topics: [
                .init(name: "t", partitions: [.init(partitionIndex: 0, timestamp: timestamp)]),
            ]), version: version)
            let partition = response.topics[0].partitions[0]
            return (partition.offset, partition.timestamp)
        }
        #expect(try list(-2).0 == 0)
        #expect(try list(-1).0 == 5)  // the true log end, not the start of the last batch
        #expect(try list(1001) == (1, 1001))
        #expect(try list(1500) == (3, 2000))
        #expect(try list(9999).0 == -1)
        #expect(try list(-3) == (4, 2001))
        #expect(try list(-1, version: 1).0 == 5)
    }

    @Test func topicAdministration() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        let created = try harness.call(CreateTopicsRequest(topics: [
            .init(name: "a", numPartitions: 2, replicationFactor: 1, configs: [.init(name: "retention.ms", value: "1000")]),
            .init(name: "b", numPartitions: 1, replicationFactor: 3),
            .init(name: "c", numPartitions: 0, replicationFactor: 1),
            .init(name: "d", numPartitions: 1, replicationFactor: 1, configs: [.init(name: "retention.ms", value: "soon")]),
            .init(name: "bad/name", numPartitions: 1, replicationFactor: 1),
        ], timeoutMs: 1000), version: 7)
        #expect(created.topics.map(\.errorCode) == [0, 38, 37, 40, 17].map(Int16.init))
        #expect(!created.topics[0].topicId.isZero && created.topics[0].numPartitions == 2)
        #expect(created.topics[0].configs?.first { $0.name == "retention.ms" }?.value == "1000")
        let again = try harness.call(CreateTopicsRequest(topics: [.init(name: "a", numPartitions: 1, replicationFactor: 1)], timeoutMs: 1), version: 4)
        #expect(again.topics[0].errorCode == ErrorCode.topicAlreadyExists.rawValue)
        let collision = try harness.call(CreateTopicsRequest(topics: [.init(name: "x.y", numPartitions: 1, replicationFactor: 1),
                                                                      .init(name: "x_y", numPartitions: 1, replicationFactor: 1)], timeoutMs: 1), version: 4)
        #expect(collision.topics[1].errorCode == ErrorCode.invalidTopicException.rawValue)

        let configs = try harness.call(DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: "a", configurationKeys: nil)],
                                                              includeSynonyms: true), version: 4)
        let retention = configs.results[0].configs.first { $0.name == "retention.ms" }!
        #expect(retention.value == "1000" && retention.configSource == 1 && retention.synonyms.first?.source == 1)
        #expect(configs.results[0].configs.first { $0.name == "segment.bytes" }?.configSource == 5)

        let altered = try harness.call(IncrementalAlterConfigsRequest(resources: [
            .init(resourceType: 2, resourceName: "a", configs: [.init(name: "retention.ms", configOperation: 1, value: nil),
                                                                .init(name: "segment.ms", configOperation: 0, value: "60000")]),
        ]), version: 1)
        #expect(altered.responses[0].errorCode == 0)
        let after = try harness.call(DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: "a", configurationKeys: ["retention.ms", "segment.ms"])]), version: 1)
        #expect(after.results[0].configs.map(\.value) == ["604800000", "60000"])

        let grown = try harness.call(CreatePartitionsRequest(topics: [.init(name: "a", count: 5), .init(name: "a", count: 1)], timeoutMs: 1), version: 2)
        #expect(grown.results.map(\.errorCode) == [0, ErrorCode.invalidPartitions.rawValue])
        #expect(try harness.call(MetadataRequest(topics: [.init(name: "a")]), version: 9).topics[0].partitions.count == 5)

        let deleted = try harness.call(DeleteTopicsRequest(topicNames: ["a", "missing"], timeoutMs: 1), version: 5)
        #expect(deleted.responses.map(\.errorCode) == [0, ErrorCode.unknownTopicOrPartition.rawValue])
        #expect(try harness.call(MetadataRequest(topics: nil), version: 9).topics.compactMap(\.name).sorted() == ["x.y"])
    }

    @Test func topicsConfigsAndOffsetsSurviveRestart() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("kept", partitions: 2, configs: ["retention.bytes": "123456"])
        _ = try harness.produce("kept", partition: 1, batch: BrokerHarness.batch(["1", "2", "3"]))
        let commit = try harness.call(OffsetCommitRequest(groupId: "g", generationIdOrMemberEpoch: -1, memberId: "", topics: [
            .init(name: "kept", partitions: [.init(partitionIndex: 1, committedOffset: 2, committedMetadata: "m")]),
        ]), version: 7)
        #expect(commit.topics[0].partitions[0].errorCode == 0)
        let before = try harness.call(MetadataRequest(topics: nil), version: 12).topics[0].topicId
        try harness.restart()
        let after = try harness.call(MetadataRequest(topics: nil), version: 12)
        #expect(after.topics.compactMap(\.name) == ["kept"] && after.topics[0].topicId == before && after.topics[0].partitions.count == 2)
        #expect(try harness.fetch("kept", partition: 1, offset: 0).responses[0].partitions[0].highWatermark == 3)
        let offsets = try harness.call(OffsetFetchRequest(groupId: "g", topics: [.init(name: "kept", partitionIndexes: [0, 1])]), version: 5)
        #expect(offsets.topics[0].partitions.map(\.committedOffset) == [-1, 2])
        #expect(offsets.topics[0].partitions[1].metadata == "m")
        let configs = try harness.call(DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: "kept", configurationKeys: ["retention.bytes"])]), version: 1)
        #expect(configs.results[0].configs.first?.value == "123456")
    }

    /// A lone consumer joins (MEMBER_ID_REQUIRED handshake), syncs its own assignment, heartbeats, commits, leaves.
    @Test func consumerGroupLifecycle() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t")
        let join = JoinGroupRequest(groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "",
                                    protocolType: "consumer", protocols: [.init(name: "range", metadata: ByteBuffer(bytes: [0, 0]))])
        let first = try harness.call(join, version: 5)
        #expect(first.errorCode == ErrorCode.memberIdRequired.rawValue && first.memberId.hasPrefix("test-"))
        var rejoin = join
        rejoin.memberId = first.memberId
        let joined = try harness.call(rejoin, version: 5)
        #expect(joined.errorCode == 0 && joined.generationId == 1 && joined.leader == first.memberId)
        #expect(joined.protocolName == "range" && joined.members.count == 1)
        let synced = try harness.call(SyncGroupRequest(groupId: "g", generationId: 1, memberId: first.memberId, assignments: [
            .init(memberId: first.memberId, assignment: ByteBuffer(bytes: [1, 2, 3])),
        ]), version: 3)
        #expect(synced.errorCode == 0 && synced.assignment == ByteBuffer(bytes: [1, 2, 3]))
        #expect(try harness.call(HeartbeatRequest(groupId: "g", generationId: 1, memberId: first.memberId), version: 3).errorCode == 0)
        #expect(try harness.call(HeartbeatRequest(groupId: "g", generationId: 7, memberId: first.memberId), version: 3).errorCode
            == ErrorCode.illegalGeneration.rawValue)
        let commit = try harness.call(OffsetCommitRequest(groupId: "g", generationIdOrMemberEpoch: 1, memberId: first.memberId, topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0, committedOffset: 42)]),
            .init(name: "nope", partitions: [.init(partitionIndex: 0, committedOffset: 1)]),
        ]), version: 8)
        #expect(commit.topics.map { $0.partitions[0].errorCode } == [0, ErrorCode.unknownTopicOrPartition.rawValue])
        let fetched = try harness.call(OffsetFetchRequest(groups: [.init(groupId: "g", topics: nil)]), version: 8)
        #expect(fetched.groups[0].topics.first?.partitions.first?.committedOffset == 42)
        let described = try harness.call(DescribeGroupsRequest(groups: ["g"]), version: 5)
        #expect(described.groups[0].groupState == "Stable" && described.groups[0].protocolData == "range")
        #expect(described.groups[0].authorizedOperations == Int32.min)
        let listed = try harness.call(ListGroupsRequest(), version: 4)
        #expect(listed.groups.map(\.groupId) == ["g"] && listed.groups[0].groupState == "Stable")
        let left = try harness.call(LeaveGroupRequest(groupId: "g", members: [.init(memberId: first.memberId)]), version: 5)
        #expect(left.errorCode == 0 && left.members.map(\.errorCode) == [0])
        #expect(try harness.call(DescribeGroupsRequest(groups: ["g"]), version: 1).groups[0].groupState == "Empty")
    }

    @Test func findCoordinatorSingleAndBatched() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        let single = try harness.call(FindCoordinatorRequest(key: "g", keyType: 0), version: 2)
        #expect(single.errorCode == 0 && single.nodeId == 1 && single.host == "127.0.0.1")
        let batched = try harness.call(FindCoordinatorRequest(keyType: 0, coordinatorKeys: ["a", "b"]), version: 6)
        #expect(batched.coordinators.map(\.key) == ["a", "b"] && batched.coordinators.allSatisfy { $0.errorCode == 0 })
        let transaction = try harness.call(FindCoordinatorRequest(key: "tx", keyType: 1), version: 2)
        #expect(transaction.errorCode == 0 && transaction.nodeId == 1)
        let unknownType = try harness.call(FindCoordinatorRequest(keyType: 3, coordinatorKeys: ["x"]), version: 4)
        #expect(unknownType.coordinators.map(\.errorCode) == [ErrorCode.invalidRequest.rawValue])
    }
}

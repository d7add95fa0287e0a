import KafkaProtocol
import NIOCore
import Testing

@testable import KafkaBroker

/// Leader epochs through the broker's request path: a new epoch per start, stamped batches, OffsetForLeaderEpoch
/// answers and its ACLs.
@Suite(.serialized) struct BrokerLeaderEpochTests {
    static func endOffsets(_ harness: BrokerHarness, _ topic: String, _ partitions: [(Int32, Int32, Int32)], version: Int16 = 4)
        throws -> [OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.OffsetForLeaderPartitionResult] {
        let request = OffsetForLeaderEpochRequest(replicaId: -1, topics: [
            .init(topic: topic, partitions: partitions.map { .init(partition: $0.0, currentLeaderEpoch: $0.1, leaderEpoch: $0.2) }),
        ])
        return try harness.call(request, version: version).topics[0].partitions
    }

    @Test func everyStartIsANewEpochAndEpochsEndWhereTheNextBegan() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("e", partitions: 1)
        #expect(try harness.produce("e", batch: BrokerHarness.batch(["a", "b"])).errorCode == 0)
        try harness.restart()
        #expect(try harness.produce("e", batch: BrokerHarness.batch(["c"])).errorCode == 0)
        let metadata = try harness.call(MetadataRequest(topics: [.init(name: "e")]), version: 9)
        #expect(metadata.topics[0].partitions[0].leaderEpoch == 1)
        for version in OffsetForLeaderEpochRequest.supportedVersions {
            let fenced = version >= 2 ? 1 : -1
            let answers = try Self.endOffsets(harness, "e", [(0, Int32(fenced), 0), (0, -1, 1)], version: version)
            #expect(answers.map(\.errorCode) == [0, 0], "v\(version)")
            #expect(answers.map(\.endOffset) == [2, 3], "v\(version)")
            #expect(answers.map(\.leaderEpoch) == (version >= 1 ? [0, 1] : [-1, -1]), "v\(version)")
        }
        #expect(try Self.endOffsets(harness, "e", [(0, 0, 0)])[0].errorCode == ErrorCode.fencedLeaderEpoch.rawValue)
        #expect(try Self.endOffsets(harness, "e", [(0, 2, 0)])[0].errorCode == ErrorCode.unknownLeaderEpoch.rawValue)
        #expect(try Self.endOffsets(harness, "e", [(1, -1, 0)])[0].errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        // The batches carry the epoch of the broker run that wrote them.
        let fetched = try harness.fetch("e", offset: 0).responses[0].partitions[0]
        guard case .bytes(var bytes)? = fetched.records else {
            Issue.record("no records")
            return
        }
        var epochs: [Int32] = []
        while let header = RecordBatchHeader(bytes), bytes.readableBytes >= header.totalSize {
            epochs.append(header.partitionLeaderEpoch)
            bytes.moveReaderIndex(forwardBy: header.totalSize)
        }
        #expect(epochs == [0, 1])
    }

    @Test func offsetForLeaderEpochNeedsDescribeOrClusterAction() throws {
        let security = BrokerSecurityTests()
        let harness = try security.secured()
        defer { harness.close() }
        #expect(try security.login(harness, "admin", "admin-secret").errorCode == 0)
        try harness.createTopic("pay")
        try harness.createTopic("secret")
        // alice: WRITE on pay (implies DESCRIBE).
        _ = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: 2, resourceName: "pay", resourcePatternType: 3, principal: "User:alice", host: "*", operation: 4, permissionType: 3),
        ]), version: 3)
        #expect(try security.login(harness, "alice", "alice-secret").errorCode == 0)
        #expect(try Self.endOffsets(harness, "pay", [(0, -1, 0)])[0].errorCode == 0)
        #expect(try Self.endOffsets(harness, "secret", [(0, -1, 0)])[0].errorCode == ErrorCode.topicAuthorizationFailed.rawValue)
        // CLUSTER_ACTION on the cluster (a follower's right) covers every topic.
        #expect(try security.login(harness, "admin", "admin-secret").errorCode == 0)
        _ = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: 4, resourceName: "kafka-cluster", resourcePatternType: 3, principal: "User:alice", host: "*",
                  operation: 9, permissionType: 3),
        ]), version: 3)
        #expect(try security.login(harness, "alice", "alice-secret").errorCode == 0)
        #expect(try Self.endOffsets(harness, "secret", [(0, -1, 0)])[0].errorCode == 0)
    }
}

import KafkaProtocol
import KafkaSecurity
import NIOCore
import Testing

@testable import KafkaBroker

/// The KIP-848 APIs through the broker's request path: wire format, topic ids, ACLs, offsets and the on/off switch.
@Suite struct ConsumerGroupBrokerTests {
    static func join(_ group: String, _ member: String, topics: [String]) -> ConsumerGroupHeartbeatRequest {
        ConsumerGroupHeartbeatRequest(
            groupId: group, memberId: member, memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: topics,
            topicPartitions: [])
    }

    @Test func heartbeatAssignsByTopicIdAndOffsetsCheckTheEpoch() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("pay", partitions: 2)
        let topicId = try #require(harness.broker.topics.topic(named: "pay")?.id)
        let joined = try harness.call(Self.join("g", "m1", topics: ["pay"]), version: 1)
        #expect(joined.errorCode == 0 && joined.memberId == "m1" && joined.memberEpoch == 1 && joined.heartbeatIntervalMs == 5000)
        #expect(joined.assignment?.topicPartitions.map { [$0.topicId: $0.partitions] } == [[topicId: [0, 1]]])

        func commit(epoch: Int32, version: Int16 = 9) throws -> Int16 {
            try harness.call(OffsetCommitRequest(groupId: "g", generationIdOrMemberEpoch: epoch, memberId: "m1", topics: [
                .init(name: "pay", partitions: [.init(partitionIndex: 0, committedOffset: 3, committedMetadata: nil)]),
            ]), version: version).topics[0].partitions[0].errorCode
        }
        #expect(try commit(epoch: 1) == 0)
        #expect(try commit(epoch: 2) == ErrorCode.staleMemberEpoch.rawValue)
        #expect(try commit(epoch: 1, version: 8) == ErrorCode.unsupportedVersion.rawValue)
        let fetched = try harness.call(OffsetFetchRequest(groups: [.init(groupId: "g", memberId: "m1", memberEpoch: 0, topics: nil)]),
                                       version: 9)
        #expect(fetched.groups[0].errorCode == ErrorCode.staleMemberEpoch.rawValue)
        let current = try harness.call(OffsetFetchRequest(groups: [.init(groupId: "g", memberId: "m1", memberEpoch: 1, topics: nil)]),
                                       version: 9)
        #expect(current.groups[0].topics.flatMap(\.partitions).map(\.committedOffset) == [3])

        let listed = try harness.call(ListGroupsRequest(typesFilter: ["consumer"]), version: 5)
        #expect(listed.groups.map { [$0.groupId, $0.groupType, $0.groupState, $0.protocolType] } == [["g", "consumer", "Stable", "consumer"]])
        #expect(try harness.call(ListGroupsRequest(typesFilter: ["classic"]), version: 5).groups.isEmpty)
        let described = try harness.call(ConsumerGroupDescribeRequest(groupIds: ["g", "nope"]), version: 1)
        #expect(described.groups.map(\.errorCode) == [0, ErrorCode.groupIdNotFound.rawValue])
        let member = try #require(described.groups[0].members.first)
        #expect(member.memberType == 1 && member.subscribedTopicNames == ["pay"] && member.memberEpoch == 1)
        #expect(member.assignment.topicPartitions.map(\.topicName) == ["pay"] && member.targetAssignment.topicPartitions[0].partitions == [0, 1])
        #expect(try harness.call(DescribeGroupsRequest(groups: ["g"]), version: 5).groups[0].groupState == "Dead")
    }

    @Test func disabledProtocolIsNeitherAdvertisedNorServed() throws {
        let harness = try BrokerHarness { try! $0.apply(key: "group.coordinator.rebalance.protocols", value: "classic") }
        defer { harness.close() }
        let versions = try harness.call(ApiVersionsRequest(), version: 3)
        #expect(!versions.apiKeys.contains { $0.apiKey == 68 || $0.apiKey == 69 })
        #expect(try harness.call(Self.join("g", "m1", topics: []), version: 1).errorCode == ErrorCode.unsupportedVersion.rawValue)
        #expect(try harness.call(ConsumerGroupDescribeRequest(groupIds: ["g"]), version: 0).groups[0].errorCode
            == ErrorCode.unsupportedVersion.rawValue)
        let configs = try harness.call(DescribeConfigsRequest(resources: [
            .init(resourceType: 4, resourceName: "1",
                  configurationKeys: ["group.coordinator.rebalance.protocols", "group.consumer.heartbeat.interval.ms"]),
        ]), version: 1)
        #expect(configs.results[0].configs.map { [$0.name, $0.value ?? "-"] }
            == [["group.consumer.heartbeat.interval.ms", "5000"], ["group.coordinator.rebalance.protocols", "classic"]])
    }

    @Test func aclsAsKafka() throws {
        let security = BrokerSecurityTests()
        let harness = try security.secured()
        defer { harness.close() }
        #expect(try security.login(harness, "admin", "admin-secret").errorCode == 0)
        try harness.createTopic("pay")
        try harness.createTopic("secret")
        // alice: READ on group g and topic pay (READ implies DESCRIBE).
        let create = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: 3, resourceName: "g", resourcePatternType: 3, principal: "User:alice", host: "*", operation: 3, permissionType: 3),
            .init(resourceType: 2, resourceName: "pay", resourcePatternType: 3, principal: "User:alice", host: "*", operation: 3, permissionType: 3),
        ]), version: 3)
        #expect(create.results.map(\.errorCode) == [0, 0])
        #expect(try harness.call(Self.join("g", "m0", topics: ["pay", "secret"]), version: 1).errorCode == 0, "admin may")

        #expect(try security.login(harness, "alice", "alice-secret").errorCode == 0)
        #expect(try harness.call(Self.join("h", "m1", topics: ["pay"]), version: 1).errorCode
            == ErrorCode.groupAuthorizationFailed.rawValue)
        #expect(try harness.call(Self.join("g", "m1", topics: ["secret"]), version: 1).errorCode
            == ErrorCode.topicAuthorizationFailed.rawValue)
        #expect(try harness.call(Self.join("g", "m1", topics: ["pay"]), version: 1).errorCode == 0)
        // The group uses "secret" (m0's subscription): alice may not describe it.
        let described = try harness.call(ConsumerGroupDescribeRequest(groupIds: ["g", "h"]), version: 1)
        #expect(described.groups.map(\.errorCode)
            == [ErrorCode.topicAuthorizationFailed.rawValue, ErrorCode.groupAuthorizationFailed.rawValue])
    }
}

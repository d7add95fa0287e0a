import KafkaProtocol
import Testing

@testable import KafkaBroker

/// The ACLs of the admin APIs, as Kafka checks them: DELETE on the group (DeleteGroups, OffsetDelete), READ on each
/// topic (OffsetDelete), DESCRIBE on the cluster (DescribeLogDirs), ALTER_CONFIGS (AlterConfigs), DESCRIBE on each
/// topic (DescribeTopicPartitions).
@Suite struct AdminApiAclTests {
    let security = BrokerSecurityTests()

    private func allow(_ harness: BrokerHarness, type: Int8, name: String, operation: Int8) throws {
        let created = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: type, resourceName: name, resourcePatternType: 3, principal: "User:alice", host: "*",
                  operation: operation, permissionType: 3),
        ]), version: 3)
        #expect(created.results.map(\.errorCode) == [0])
    }

    @Test func adminApisAnswerAuthorizationErrorsAsKafka() throws {
        let harness = try security.secured()
        defer { harness.close() }
        #expect(try security.login(harness, "admin", "admin-secret").errorCode == 0)
        try harness.createTopic("t")
        try harness.createTopic("u")
        for group in ["g", "h"] {
            let commit = try harness.call(OffsetCommitRequest(
                groupId: group, generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1,
                topics: ["t", "u"].map { .init(name: $0, partitions: [.init(partitionIndex: 0, committedOffset: 1,
                                                                             committedLeaderEpoch: -1, committedMetadata: "")]) }),
                version: 8)
            #expect(commit.topics.flatMap(\.partitions).allSatisfy { $0.errorCode == 0 })
        }
        try allow(harness, type: 3, name: "g", operation: 6)   // DELETE on group g
        try allow(harness, type: 2, name: "t", operation: 3)   // READ on topic t (implies DESCRIBE)
        #expect(try security.login(harness, "alice", "alice-secret").errorCode == 0)

        let offsets = try harness.call(OffsetDeleteRequest(groupId: "g", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0)]), .init(name: "u", partitions: [.init(partitionIndex: 0)]),
        ]), version: 0)
        #expect(offsets.errorCode == 0)
        #expect(offsets.topics.map { "\($0.name):\($0.partitions[0].errorCode)" } == ["t:0", "u:29"])
        let refused = try harness.call(OffsetDeleteRequest(groupId: "h", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0)]),
        ]), version: 0)
        #expect(refused.errorCode == ErrorCode.groupAuthorizationFailed.rawValue && refused.topics.isEmpty)

        let deleted = try harness.call(DeleteGroupsRequest(groupsNames: ["h", "g"]), version: 2)
        #expect(deleted.results.map { "\($0.groupId):\($0.errorCode)" } == ["h:30", "g:0"])

        let dirs = try harness.call(DescribeLogDirsRequest(topics: nil), version: 3)
        #expect(dirs.errorCode == ErrorCode.clusterAuthorizationFailed.rawValue && dirs.results.isEmpty)

        let alter = try harness.call(AlterConfigsRequest(resources: [
            .init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", value: "1000")]),
            .init(resourceType: 4, resourceName: "1", configs: []),
        ], validateOnly: false), version: 2)
        #expect(alter.responses.map(\.errorCode) == [ErrorCode.topicAuthorizationFailed.rawValue,
                                                     ErrorCode.clusterAuthorizationFailed.rawValue])

        let all = try harness.call(DescribeTopicPartitionsRequest(topics: []), version: 0)
        #expect(all.topics.map(\.name) == ["t"])
        let named = try harness.call(DescribeTopicPartitionsRequest(topics: [.init(name: "u"), .init(name: "t")]), version: 0)
        #expect(named.topics.map { "\($0.name ?? ""):\($0.errorCode)" } == ["t:0", "u:29"])
        #expect(named.topics[1].topicId == .zero)
    }
}

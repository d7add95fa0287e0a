import KafkaProtocol

/// Group administration (the jobs of kafka-consumer-groups.sh) and topic changes (kafka-topics.sh --alter,
/// kafka-configs.sh), over any Kafka-compatible cluster: each request goes to the group's coordinator or the
/// controller, in the versions the broker offers.
extension KafkaClient {
    /// Deletes groups that have no members, with their committed offsets. Returns each group's error (NONE when
    /// deleted; NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, GROUP_AUTHORIZATION_FAILED, …), in the order given.
    public func deleteGroups(_ groups: [String]) async throws -> [(group: String, error: ErrorCode)] {
        var results: [(String, ErrorCode)] = []
        for group in groups {
            let connection = try await coordinator(forGroup: group)
            let response = try await connection.send(DeleteGroupsRequest(groupsNames: [group]))
            guard let result = response.results.first(where: { $0.groupId == group }) else {
                throw KafkaClientError.malformedResponse("DeleteGroups: no result for \(group)")
            }
            results.append((group, ErrorCode(rawValue: result.errorCode)))
        }
        return results
    }

    /// ConsumerGroupDescribe for one group; nil when it is not a consumer group (GROUP_ID_NOT_FOUND), so the caller
    /// asks DescribeGroups. Protocol name is the server-side assignor; assignments are the members' current ones.
    func describeConsumerGroup(_ group: String, connection: BrokerConnection) async throws -> GroupDetails? {
        let response = try await connection.send(ConsumerGroupDescribeRequest(groupIds: [group], includeAuthorizedOperations: false))
        guard let described = response.groups.first else {
            throw KafkaClientError.malformedResponse("ConsumerGroupDescribe: no result")
        }
        if [ErrorCode.groupIdNotFound.rawValue, ErrorCode.unsupportedVersion.rawValue].contains(described.errorCode) { return nil }
        try Self.check(described.errorCode, "describing group \(group)", subject: group, brokerMessage: described.errorMessage)
        return GroupDetails(
            groupId: described.groupId, state: described.groupState, protocolType: ConsumerProtocol.protocolType,
            protocolName: described.assignorName,
            members: described.members.map { member in
                var assignment: [String: [Int32]] = [:]
                for topic in member.assignment.topicPartitions { assignment[topic.topicName, default: []] += topic.partitions }
                return .init(memberId: member.memberId, clientId: member.clientId, clientHost: member.clientHost,
                             assignment: assignment)
            })
    }

    /// Commits offsets for a group outside any membership (generation -1, no member id), as kafka-consumer-groups.sh
    /// --reset-offsets --execute does; the broker accepts it only while the group has no members.
    public func commitGroupOffsets(group: String, offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let connection = try await coordinator(forGroup: group)
        var byTopic: [String: [OffsetCommitRequest.OffsetCommitRequestTopic.OffsetCommitRequestPartition]] = [:]
        for (partition, offset) in offsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
            byTopic[partition.topic, default: []].append(.init(
                partitionIndex: partition.partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: ""))
        }
        let response = try await connection.send(OffsetCommitRequest(
            groupId: group, generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1,
            topics: byTopic.sorted { $0.key < $1.key }.map { .init(name: $0.key, partitions: $0.value) }))
        for topic in response.topics {
            for partition in topic.partitions {
                try Self.check(partition.errorCode, "committing \(topic.name)-\(partition.partitionIndex) for group \(group)")
            }
        }
    }

    /// Grows a topic to `count` partitions (CreatePartitions).
    public func createPartitions(topic: String, count: Int32) async throws {
        let connection = try await controllerConnection()
        let response = try await connection.send(CreatePartitionsRequest(
            topics: [.init(name: topic, count: count, assignments: nil)], timeoutMs: 30_000, validateOnly: false))
        guard let result = response.results.first else { throw KafkaClientError.malformedResponse("CreatePartitions: no result") }
        try Self.check(result.errorCode, "adding partitions to \(topic)", subject: topic, brokerMessage: result.errorMessage)
    }

    /// Sets and deletes (reverts to default) individual topic configs with IncrementalAlterConfigs.
    public func alterTopicConfigs(topic: String, set: [String: String], delete: [String]) async throws {
        let connection = try await controllerConnection()
        let operations = set.sorted { $0.key < $1.key }.map { IncrementalAlterConfigsRequest.AlterConfigsResource.AlterableConfig(
            name: $0.key, configOperation: 0, value: $0.value) }
            + delete.map { .init(name: $0, configOperation: 1, value: nil) }
        let response = try await connection.send(IncrementalAlterConfigsRequest(
            resources: [.init(resourceType: 2, resourceName: topic, configs: operations)], validateOnly: false))
        guard let result = response.responses.first else {
            throw KafkaClientError.malformedResponse("IncrementalAlterConfigs: no result")
        }
        try Self.check(result.errorCode, "changing configs of \(topic)", subject: topic, brokerMessage: result.errorMessage)
    }
}

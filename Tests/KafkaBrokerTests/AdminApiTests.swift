import FileSystem
import KafkaProtocol
import LogStorage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import KafkaBroker

/// DeleteGroups, OffsetDelete, DescribeLogDirs, legacy AlterConfigs, DescribeTopicPartitions and GetTelemetrySubscriptions
/// through the broker's request path (real frames, no sockets), checked against Kafka's answers.
struct AdminApiTests {
    private func commit(_ harness: BrokerHarness, group: String, _ offsets: [(String, Int32, Int64)]) throws {
        let byTopic = Dictionary(grouping: offsets, by: \.0)
        let response = try harness.call(OffsetCommitRequest(
            groupId: group, generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1,
            topics: byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: byTopic[topic]!.map {
                    .init(partitionIndex: $0.1, committedOffset: $0.2, committedLeaderEpoch: -1, committedMetadata: "")
                })
            }), version: 8)
        #expect(response.topics.flatMap(\.partitions).allSatisfy { $0.errorCode == 0 })
    }

    private func committed(_ harness: BrokerHarness, group: String) throws -> [String: Int64] {
        let response = try harness.call(OffsetFetchRequest(groupId: group, topics: nil), version: 7)
        var result: [String: Int64] = [:]
        for topic in response.topics {
            for partition in topic.partitions where partition.committedOffset >= 0 {
                result["\(topic.name)-\(partition.partitionIndex)"] = partition.committedOffset
            }
        }
        return result
    }

    @Test func deleteGroupsRemovesOffsetsDurably() throws {
        // Goal: an empty group is deleted with its offsets, and stays deleted after a restart (the store forgot them);
        // duplicates are answered once, unknown groups GROUP_ID_NOT_FOUND, an empty id INVALID_GROUP_ID.
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t", partitions: 2)
        try commit(harness, group: "g", [("t", 0, 5), ("t", 1, 6)])
        try commit(harness, group: "keep", [("t", 0, 1)])
        for version: Int16 in [0, 2] {
            let response = try harness.call(DeleteGroupsRequest(groupsNames: ["g", "g", "nope", ""]), version: version)
            let expected: [Int16] = version == 0
                ? [ErrorCode.none.rawValue, ErrorCode.groupIdNotFound.rawValue, ErrorCode.invalidGroupId.rawValue]
                : [ErrorCode.groupIdNotFound.rawValue, ErrorCode.groupIdNotFound.rawValue, ErrorCode.invalidGroupId.rawValue]
            #expect(response.results.map(\.groupId) == ["g", "nope", ""])
            #expect(response.results.map(\.errorCode) == expected)
        }
        try harness.restart()
        #expect(try committed(harness, group: "g").isEmpty)
        #expect(try committed(harness, group: "keep") == ["t-0": 1])
    }

    @Test func offsetDeleteScreensTopicsThenAsksTheCoordinator() throws {
        // Goal: unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION, the rest of an empty group's offsets go
        // (durably); an unknown group is GROUP_ID_NOT_FOUND at the top level.
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t", partitions: 2)
        try commit(harness, group: "g", [("t", 0, 5), ("t", 1, 6)])
        let response = try harness.call(OffsetDeleteRequest(groupId: "g", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0), .init(partitionIndex: 7)]),
            .init(name: "missing", partitions: [.init(partitionIndex: 0)]),
        ]), version: 0)
        #expect(response.errorCode == 0)
        #expect(response.topics.map(\.name) == ["t", "missing"])
        #expect(response.topics[0].partitions.map { [$0.partitionIndex, Int32($0.errorCode)] } == [[0, 0], [7, 3]])
        #expect(response.topics[1].partitions.map(\.errorCode) == [ErrorCode.unknownTopicOrPartition.rawValue])
        try harness.restart()
        #expect(try committed(harness, group: "g") == ["t-1": 6])
        let unknown = try harness.call(OffsetDeleteRequest(groupId: "other", topics: [
            .init(name: "t", partitions: [.init(partitionIndex: 0)]),
        ]), version: 0)
        #expect(unknown.errorCode == ErrorCode.groupIdNotFound.rawValue && unknown.topics.isEmpty)
    }

    @Test func legacyAlterConfigsReplacesEveryOverride() throws {
        // Goal: the configs sent become the whole set (others revert); validateOnly changes nothing; bad values and
        // nulls are INVALID_CONFIG; broker settings are static but an empty change is a no-op.
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t", configs: ["retention.ms": "1000", "segment.ms": "60000"])
        func alter(_ configs: [(String, String?)], type: Int8 = 2, name: String = "t", validateOnly: Bool = false)
            throws -> (Int16, String?)
        {
            let response = try harness.call(AlterConfigsRequest(
                resources: [.init(resourceType: type, resourceName: name, configs: configs.map { .init(name: $0.0, value: $0.1) })],
                validateOnly: validateOnly), version: 1)
            return (response.responses[0].errorCode, response.responses[0].errorMessage)
        }
        #expect(try alter([("max.message.bytes", "5000")], validateOnly: true).0 == 0)
        #expect(harness.broker.topics.topic(named: "t")?.configOverrides == ["retention.ms": "1000", "segment.ms": "60000"])
        #expect(try alter([("max.message.bytes", "5000")]).0 == 0)
        #expect(harness.broker.topics.topic(named: "t")?.configOverrides == ["max.message.bytes": "5000"])
        #expect(try alter([("retention.ms", "soon")]).0 == ErrorCode.invalidConfig.rawValue)
        #expect(try alter([("retention.ms", nil)]).0 == ErrorCode.invalidConfig.rawValue)
        #expect(try alter([("no.such.key", "1")]).0 == ErrorCode.invalidConfig.rawValue)
        #expect(try alter([], name: "missing").0 == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(harness.broker.topics.topic(named: "t")?.configOverrides == ["max.message.bytes": "5000"])
        #expect(try alter([], type: 4, name: "1").0 == 0)
        #expect(try alter([("log.retention.ms", "5")], type: 4, name: "").0 == ErrorCode.invalidRequest.rawValue)
        #expect(try alter([], type: 8, name: "1").0 == ErrorCode.invalidRequest.rawValue)
        try harness.restart()
        #expect(harness.broker.topics.topic(named: "t")?.configOverrides == ["max.message.bytes": "5000"])
    }

    @Test func describeLogDirsReportsSizesAndSpace() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("t", partitions: 2)
        try harness.createTopic("u")
        #expect(try harness.produce("t", partition: 1, batch: BrokerHarness.batch(["a", "b", "c"])).errorCode == 0)
        let all = try harness.call(DescribeLogDirsRequest(topics: nil), version: 4)
        #expect(all.errorCode == 0 && all.results.count == 1)
        let dir = all.results[0]
        #expect(dir.errorCode == 0 && dir.logDir == harness.directory)
        #expect(dir.totalBytes > 0 && dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes)
        let sizes = Dictionary(uniqueKeysWithValues: dir.topics.flatMap { topic in
            topic.partitions.map { ("\(topic.name)-\($0.partitionIndex)", $0.partitionSize) }
        })
        #expect(Set(sizes.keys) == ["t-0", "t-1", "u-0"])
        #expect(sizes["t-0"] == 0 && sizes["t-1"]! > 0)
        #expect(dir.topics.flatMap(\.partitions).allSatisfy { $0.offsetLag == 0 && !$0.isFutureKey })
        let some = try harness.call(DescribeLogDirsRequest(topics: [.init(topic: "t", partitions: [1, 9])]), version: 1)
        #expect(some.results[0].topics.map(\.name) == ["t"])
        #expect(some.results[0].topics[0].partitions.map(\.partitionIndex) == [1])
        #expect(some.results[0].totalBytes == -1)  // v1 has no space fields
    }

    @Test func describeLogDirsReportsAnOfflineDirectory() throws {
        // Goal: after a failed write took the directory offline, it is answered KAFKA_STORAGE_ERROR and nothing else.
        let harness = try BrokerHarness(fileSystem: { directory in try FaultInjectingFileSystem(root: directory, seed: 1) })
        defer { harness.close() }
        let disk = harness.fileSystem as! FaultInjectingFileSystem
        try harness.createTopic("t")
        disk.inject(FaultRule([.write], pathContains: "t-0/", trigger: .nth(1), errno: EIO, tear: .prefix(30)))
        #expect(try harness.produce("t", batch: BrokerHarness.batch(["x"])).errorCode == ErrorCode.kafkaStorageError.rawValue)
        let response = try harness.call(DescribeLogDirsRequest(topics: nil), version: 4)
        #expect(response.results.map(\.errorCode) == [ErrorCode.kafkaStorageError.rawValue])
        #expect(response.results[0].topics.isEmpty && response.results[0].totalBytes == -1)
    }

    @Test func describeTopicPartitionsPagesLikeKafka() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        try harness.createTopic("b", partitions: 2)
        try harness.createTopic("a", partitions: 3)
        typealias Request = DescribeTopicPartitionsRequest
        func pages(_ request: Request) throws -> ([String], Request.Cursor?) {
            let response = try harness.call(request, version: 0)
            let listed = response.topics.flatMap { topic in
                topic.errorCode != 0 ? ["\(topic.name ?? "")!\(topic.errorCode)"]
                    : topic.partitions.map { "\(topic.name ?? "")-\($0.partitionIndex)" }
            }
            return (listed, response.nextCursor.map { Request.Cursor(topicName: $0.topicName, partitionIndex: $0.partitionIndex) })
        }
        // All topics, sorted, four partitions a page: the cursor points into b.
        var (listed, cursor) = try pages(Request(topics: [], responsePartitionLimit: 4))
        #expect(listed == ["a-0", "a-1", "a-2", "b-0"] && cursor == .init(topicName: "b", partitionIndex: 1))
        (listed, cursor) = try pages(Request(topics: [], responsePartitionLimit: 4, cursor: cursor))
        #expect(listed == ["b-1"] && cursor == nil)
        // A page that ends exactly with a topic points at the next topic's first partition.
        (listed, cursor) = try pages(Request(topics: [.init(name: "b"), .init(name: "a")], responsePartitionLimit: 3))
        #expect(listed == ["a-0", "a-1", "a-2"] && cursor == .init(topicName: "b", partitionIndex: 0))
        // Named unknown topics are reported; a cursor outside the list or negative is INVALID_REQUEST.
        (listed, _) = try pages(Request(topics: [.init(name: "zz"), .init(name: "b")]))
        #expect(listed == ["b-0", "b-1", "zz!3"])
        (listed, _) = try pages(Request(topics: [.init(name: "b")], cursor: .init(topicName: "a", partitionIndex: 0)))
        #expect(listed == ["b!42"])
        (listed, _) = try pages(Request(topics: [], cursor: .init(topicName: "a", partitionIndex: -1)))
        #expect(listed.isEmpty)
        let answer = try harness.call(Request(topics: [.init(name: "a")], responsePartitionLimit: 1), version: 0)
        let partition = answer.topics[0].partitions[0]
        #expect(partition.leaderId == 1 && partition.replicaNodes == [1] && partition.isrNodes == [1])
        #expect(partition.eligibleLeaderReplicas == [] && partition.lastKnownElr == [] && partition.offlineReplicas == [])
        #expect(answer.topics[0].topicAuthorizedOperations != Int32.min)
    }

    @Test func telemetryIsAnsweredButNotAdvertised() throws {
        // Goal: as Kafka without a client telemetry receiver: key 71 is absent from ApiVersions; a direct call gets
        // a new instance id, no requested metrics and Kafka's defaults.
        let harness = try BrokerHarness()
        defer { harness.close() }
        let versions = try harness.call(ApiVersionsRequest(clientSoftwareName: "t", clientSoftwareVersion: "1"), version: 3)
        let keys = Set(versions.apiKeys.map(\.apiKey))
        #expect(!keys.contains(71) && keys.isSuperset(of: [33, 35, 42, 47, 75]))
        let first = try harness.call(GetTelemetrySubscriptionsRequest(clientInstanceId: .zero), version: 0)
        #expect(first.errorCode == 0 && !first.clientInstanceId.isZero && first.requestedMetrics.isEmpty)
        #expect(first.pushIntervalMs == 300_000 && first.telemetryMaxBytes == 1_048_576 && first.deltaTemporality)
        #expect(first.acceptedCompressionTypes == [4, 3, 1, 2])
        // Asking again within the push interval is throttled, as Kafka's ClientMetricsManager does.
        let again = try harness.call(GetTelemetrySubscriptionsRequest(clientInstanceId: first.clientInstanceId), version: 0)
        #expect(again.errorCode == ErrorCode.throttlingQuotaExceeded.rawValue && again.clientInstanceId.isZero)
        let other = try harness.call(GetTelemetrySubscriptionsRequest(clientInstanceId: .zero), version: 0)
        #expect(other.errorCode == 0 && other.clientInstanceId != first.clientInstanceId)
        // The subscription id is Kafka's: CRC-32C of "[]300000" XOR the instance id's Java hashCode (the expected
        // value computed independently with kafka-python's CRC-32C).
        let id = KafkaUUID(high: 0x0123_4567_89AB_CDEF, low: 0x1111_1111_1111_1111)
        #expect(Broker.telemetrySubscriptionId(metrics: [], pushIntervalMs: 300_000, instanceId: id) == 1_548_735_318)
    }
}

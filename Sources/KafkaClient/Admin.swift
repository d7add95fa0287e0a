import KafkaProtocol

/// A topic config as a broker reports it.
public struct TopicConfigEntry: Sendable, Equatable {
    public var name: String
    public var value: String?
    /// True when set on the topic itself (DYNAMIC_TOPIC_CONFIG), not inherited.
    public var isOverride: Bool
    public var isReadOnly: Bool
    /// Where the value comes from, as Kafka names it (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG, …).
    public var source: String = "UNKNOWN"
    /// The chain of places that define it, most specific first (DescribeConfigs IncludeSynonyms).
    public var synonyms: [ConfigSynonym] = []
}

/// One definition of a config in DescribeConfigs' synonym chain: `source:name=value`.
public struct ConfigSynonym: Sendable, Equatable {
    public var name: String
    public var value: String?
    public var source: String
}

/// Kafka's ConfigSource names by wire value.
func configSourceName(_ value: Int8) -> String {
    switch value {
    case 1: "DYNAMIC_TOPIC_CONFIG"
    case 2: "DYNAMIC_BROKER_CONFIG"
    case 3: "DYNAMIC_DEFAULT_BROKER_CONFIG"
    case 4: "STATIC_BROKER_CONFIG"
    case 5: "DEFAULT_CONFIG"
    case 6: "DYNAMIC_BROKER_LOGGER_CONFIG"
    case 7: "CLIENT_METRICS_CONFIG"
    case 8: "GROUP_CONFIG"
    default: "UNKNOWN"
    }
}

/// Everything `topic describe` shows about one topic.
public struct TopicDescription: Sendable {
    public struct Partition: Sendable, Equatable {
        public var partition: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var isr: [Int32]
        public var logStartOffset: Int64
        public var highWatermark: Int64
        /// Where read_committed consumers stop: the start of the oldest open transaction, else the high watermark.
        public var lastStableOffset: Int64
        /// Producers with a transaction open in the partition, oldest first; nil when the broker cannot say.
        public var openTransactions: [PartitionProducer]?
    }

    public var name: String
    public var id: KafkaUUID
    public var partitions: [Partition]
    public var configs: [TopicConfigEntry]
}

/// A consumer group as `ListGroups` reports it.
public struct GroupSummary: Sendable, Equatable {
    public var groupId: String
    public var protocolType: String
    public var state: String
    /// "classic" or "consumer" (KIP-848), from ListGroups v5+; nil when the broker does not say.
    public var groupType: String? = nil
}

/// A consumer group as `DescribeGroups` reports it.
public struct GroupDetails: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var memberId: String
        public var clientId: String
        public var clientHost: String
        /// The partitions assigned to the member (decoded from the consumer protocol), when the group is stable.
        public var assignment: [String: [Int32]]
    }

    public var groupId: String
    public var state: String
    public var protocolType: String
    public var protocolName: String
    public var members: [Member]
}

/// Admin operations (what kafka-topics.sh and kafka-consumer-groups.sh do), over any Kafka-compatible cluster.
extension KafkaClient {
    /// Throws the broker's error for `code`, naming what was being done (brokers' own messages often do not name
    /// the topic: Tansu's "Topic with this name already exists.").
    /// The broker's message is kept as it is when it names `subject`.
    static func check(_ code: Int16, _ doing: String, subject: String? = nil, brokerMessage: String? = nil) throws {
        let error = ErrorCode(rawValue: code)
        guard error != .none else { return }
        guard let detail = brokerMessage, !detail.allSatisfy(\.isWhitespace) else { throw KafkaClientError.broker(error, message: doing) }
        if let subject, detail.contains(subject) { throw KafkaClientError.broker(error, message: detail) }
        throw KafkaClientError.broker(error, message: "\(doing): \(detail)")
    }

    /// Creates a topic; the error says why it could not be (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, …).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) async throws {
        let connection = try await controllerConnection()
        let response = try await connection.send(CreateTopicsRequest(
            topics: [.init(name: name, numPartitions: partitions, replicationFactor: replicationFactor,
                           configs: configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })],
            timeoutMs: 30_000))
        guard let result = response.topics.first else { throw KafkaClientError.malformedResponse("CreateTopics: no result") }
        try Self.check(result.errorCode, "creating topic \(name)", subject: name, brokerMessage: result.errorMessage)
    }

    /// Deletes a topic.
    public func deleteTopic(_ name: String) async throws {
        let connection = try await controllerConnection()
        let version = try connection.version(for: DeleteTopicsRequest.self)
        let request = version >= 6
            ? DeleteTopicsRequest(topics: [.init(name: name, topicId: .zero)], timeoutMs: 30_000)
            : DeleteTopicsRequest(topicNames: [name], timeoutMs: 30_000)
        let response = try await connection.send(request, version: version)
        guard let result = response.responses.first else { throw KafkaClientError.malformedResponse("DeleteTopics: no result") }
        try Self.check(result.errorCode, "deleting topic \(name)", subject: name, brokerMessage: result.errorMessage)
    }

    /// Every topic (internal ones included), sorted by name.
    public func listTopics() async throws -> [TopicInfo] {
        let metadata = try await refreshMetadata(topics: nil)
        return metadata.topics.values.sorted { $0.name < $1.name }
    }

    /// The offset of `timestamp` in each partition (-2 earliest, -1 latest, or a time in ms). With read_committed,
    /// latest is the last stable offset and a time lookup never lands at or above it.
    public func listOffsets(
        topic: String, partitions: [Int32], timestamp: Int64, isolation: IsolationLevel = .readUncommitted
    ) async throws -> [Int32: Int64] {
        var byLeader: [Int32: [Int32]] = [:]
        for partition in partitions { byLeader[try await leader(topic: topic, partition: partition), default: []].append(partition) }
        var result: [Int32: Int64] = [:]
        for (leader, owned) in byLeader {
            let connection = try await connection(toNode: leader)
            let response = try await connection.send(ListOffsetsRequest(replicaId: -1, isolationLevel: isolation.wireValue, topics: [
                .init(name: topic, partitions: owned.map { .init(partitionIndex: $0, currentLeaderEpoch: -1, timestamp: timestamp) }),
            ]))
            for partition in response.topics.flatMap(\.partitions) {
                try Self.check(partition.errorCode, "listing offsets of \(topic)-\(partition.partitionIndex)")
                result[partition.partitionIndex] = partition.offset
            }
        }
        return result
    }

    /// The topic's configs as the broker reports them.
    public func describeTopicConfigs(_ topic: String) async throws -> [TopicConfigEntry] {
        let connection = try await controllerConnection()
        let response = try await connection.send(DescribeConfigsRequest(
            resources: [.init(resourceType: 2, resourceName: topic, configurationKeys: nil)], includeSynonyms: true))
        guard let result = response.results.first else { throw KafkaClientError.malformedResponse("DescribeConfigs: no result") }
        try Self.check(result.errorCode, "describing configs of \(topic)", subject: topic, brokerMessage: result.errorMessage)
        let version = try connection.version(for: DescribeConfigsRequest.self)
        return result.configs.map {
            TopicConfigEntry(name: $0.name, value: $0.value, isOverride: version >= 1 ? $0.configSource == 1 : false,
                             isReadOnly: $0.readOnly, source: configSourceName($0.configSource),
                             synonyms: $0.synonyms.map { .init(name: $0.name, value: $0.value, source: configSourceName($0.source)) })
        }.sorted { $0.name < $1.name }
    }

    /// Partitions with leaders, log start offsets and high watermarks, plus configs.
    public func describeTopic(_ name: String) async throws -> TopicDescription {
        let info = try await topic(name)
        let partitions = info.partitions.map(\.partition)
        let starts = try await listOffsets(topic: name, partitions: partitions, timestamp: -2)
        let ends = try await listOffsets(topic: name, partitions: partitions, timestamp: -1)
        let stable = try await listOffsets(topic: name, partitions: partitions, timestamp: -1, isolation: .readCommitted)
        let producers = try await describeProducers(topic: name, partitions: partitions)
        let configs = try await describeTopicConfigs(name)
        func open(_ partition: Int32) -> [PartitionProducer]? {
            producers.map { found in
                (found[partition] ?? []).filter { $0.openTransactionStart != nil }
                    .sorted { ($0.openTransactionStart ?? 0) < ($1.openTransactionStart ?? 0) }
            }
        }
        return TopicDescription(
            name: name, id: info.id,
            partitions: info.partitions.map { partition -> TopicDescription.Partition in
                TopicDescription.Partition(
                    partition: partition.partition, leader: partition.leader, replicas: partition.replicas, isr: partition.isr,
                    logStartOffset: starts[partition.partition] ?? -1, highWatermark: ends[partition.partition] ?? -1,
                    lastStableOffset: stable[partition.partition] ?? -1, openTransactions: open(partition.partition))
            },
            configs: configs)
    }

    /// Groups known to every broker of the cluster.
    public func listGroups() async throws -> [GroupSummary] {
        _ = try await refreshMetadata(topics: [])
        var groups: [GroupSummary] = []
        for node in metadata.brokers.keys.sorted() {
            let connection = try await connection(toNode: node)
            let version = try connection.version(for: ListGroupsRequest.self)
            let response = try await connection.send(ListGroupsRequest(), version: version)
            try Self.check(response.errorCode, "listing groups")
            groups += response.groups.map {
                GroupSummary(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.groupState,
                             groupType: version >= 5 ? $0.groupType : nil)
            }
        }
        return groups.sorted { $0.groupId < $1.groupId }
    }

    /// A group's state and members (with their decoded assignments). A KIP-848 consumer group is described with
    /// ConsumerGroupDescribe where the broker offers it (DescribeGroups reports such a group Dead), as Kafka's admin
    /// client does; other groups, or brokers without it, with DescribeGroups.
    public func describeGroup(_ group: String) async throws -> GroupDetails {
        let connection = try await coordinator(forGroup: group)
        if connection.supports(ConsumerGroupDescribeRequest.self),
           let described = try await describeConsumerGroup(group, connection: connection) {
            return described
        }
        let response = try await connection.send(DescribeGroupsRequest(groups: [group]))
        guard let described = response.groups.first else { throw KafkaClientError.malformedResponse("DescribeGroups: no result") }
        try Self.check(described.errorCode, "describing group \(group)")
        return GroupDetails(
            groupId: described.groupId, state: described.groupState, protocolType: described.protocolType,
            protocolName: described.protocolData,
            members: described.members.map { member in
                let assignment = (try? ConsumerProtocol.decodeAssignment(member.memberAssignment))?.partitions ?? [:]
                return .init(memberId: member.memberId, clientId: member.clientId, clientHost: member.clientHost, assignment: assignment)
            })
    }

    /// Committed offsets of a group (all partitions it committed when `partitions` is nil).
    ///
    /// - Parameter requireStable: wait out offsets that an open transaction has committed but not yet decided (the
    ///   broker answers UNSTABLE_OFFSET_COMMIT meanwhile, OffsetFetch v7+); what a read_committed consumer must do
    ///   before starting from committed offsets, or it could reprocess input whose output is already committed.
    public func committedOffsets(
        group: String, topic: String? = nil, partitions: [Int32]? = nil, using dedicated: BrokerConnection? = nil,
        requireStable: Bool = false
    ) async throws -> [String: [Int32: Int64]] {
        let connection: BrokerConnection
        if let dedicated { connection = dedicated } else { connection = try await coordinator(forGroup: group) }
        let version = try connection.version(for: OffsetFetchRequest.self)
        // Without explicit partitions ask for everything (a topic with an empty partition list means "none").
        let wanted = partitions.flatMap { partitions in topic.map { [(name: $0, partitions: partitions)] } }
        return try await Retry.run(attempts: 100, retryIf: { error in
            if case .broker(.unstableOffsetCommit, _) = error { return true }
            return error.isRetriable
        }) {
            var found: [(topic: String, partition: Int32, offset: Int64, error: Int16)] = []
            if version >= 8 {
                let request = OffsetFetchRequest(groups: [.init(
                    groupId: group, memberId: nil, memberEpoch: -1,
                    topics: wanted.map { $0.map { .init(name: $0.name, partitionIndexes: $0.partitions) } })],
                    requireStable: requireStable)
                let response = try await connection.send(request, version: version)
                guard let entry = response.groups.first else { throw KafkaClientError.malformedResponse("OffsetFetch: no group") }
                try Self.check(entry.errorCode, "fetching offsets of group \(group)")
                found = entry.topics.flatMap { t in t.partitions.map { (t.name, $0.partitionIndex, $0.committedOffset, $0.errorCode) } }
            } else {
                let request = OffsetFetchRequest(
                    groupId: group, topics: wanted.map { $0.map { .init(name: $0.name, partitionIndexes: $0.partitions) } },
                    requireStable: requireStable)
                let response = try await connection.send(request, version: version)
                try Self.check(response.errorCode, "fetching offsets of group \(group)")
                found = response.topics.flatMap { t in t.partitions.map { (t.name, $0.partitionIndex, $0.committedOffset, $0.errorCode) } }
            }
            var result: [String: [Int32: Int64]] = [:]
            for entry in found where topic == nil || entry.topic == topic {
                // A partition whose committed offset an open transaction may still change: ask again (retried).
                // Other per-partition errors mean "no usable commit", as before.
                if entry.error == ErrorCode.unstableOffsetCommit.rawValue {
                    throw KafkaClientError.broker(.unstableOffsetCommit, message: "\(entry.topic)-\(entry.partition) of group \(group)")
                }
                if entry.offset >= 0 { result[entry.topic, default: [:]][entry.partition] = entry.offset }
            }
            return result
        }
    }
}

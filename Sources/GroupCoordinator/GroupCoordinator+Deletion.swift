import KafkaProtocol

/// What OffsetDelete may do to one group: a group-level error, or per partition either NONE (its committed offset,
/// if any, goes) or GROUP_SUBSCRIBED_TO_TOPIC (a member still consumes the topic).
public struct OffsetDeletionPlan: Sendable, Equatable {
    public var groupError: ErrorCode
    public var partitionErrors: [TopicPartition: ErrorCode]

    public init(groupError: ErrorCode, partitionErrors: [TopicPartition: ErrorCode]) {
        self.groupError = groupError
        self.partitionErrors = partitionErrors
    }

    /// The partitions whose offsets are to be deleted.
    public var deletable: [TopicPartition] {
        partitionErrors.filter { $0.value == .none }.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}

/// DeleteGroups and OffsetDelete (KIP-496), as Kafka's GroupCoordinator decides them. Each is split in a pure check
/// and an apply step so the broker can persist the deletion between the two while it holds the coordinator's lock.
extension GroupCoordinator {
    /// Why `groupId` cannot be deleted, or NONE: an empty id is INVALID_GROUP_ID, an unknown group (Kafka: also a
    /// Dead one) GROUP_ID_NOT_FOUND, a group in any state but Empty NON_EMPTY_GROUP (a KIP-848 consumer group: any
    /// member).
    public func groupDeletionError(_ groupId: String) -> ErrorCode {
        guard !groupId.isEmpty else { return .invalidGroupId }
        if let consumerGroup = consumerGroups[groupId] { return consumerGroup.members.isEmpty ? .none : .nonEmptyGroup }
        guard let group = groups[groupId] else { return .groupIdNotFound }
        return group.state == .empty ? .none : .nonEmptyGroup
    }

    /// Kafka's OffsetDelete decision. An Empty group may lose any offset; a classic group with members only offsets
    /// of topics none of its members subscribes to ("consumer" protocol type, subscriptions read from the members'
    /// metadata for the selected protocol); a group with members of another protocol type is NON_EMPTY_GROUP.
    /// Partitions without a committed offset are answered NONE, as Kafka does. A KIP-848 consumer group refuses the
    /// topics its members subscribe to (by name or regex, as of its last epoch).
    public func planOffsetDeletion(groupId: String, partitions: [TopicPartition]) -> OffsetDeletionPlan {
        guard !groupId.isEmpty else { return OffsetDeletionPlan(groupError: .invalidGroupId, partitionErrors: [:]) }
        let subscribed: Set<String>
        if let consumerGroup = consumerGroups[groupId] {
            subscribed = consumerGroup.members.isEmpty ? [] : Set(consumerGroup.subscribedTopics.keys)
            return Self.plan(partitions, subscribed: subscribed)
        }
        guard let group = groups[groupId] else {
            return OffsetDeletionPlan(groupError: .groupIdNotFound, partitionErrors: [:])
        }
        switch group.state {
        case .empty, .dead:
            subscribed = []
        case .preparingRebalance, .completingRebalance, .stable:
            guard group.protocolType == ConsumerProtocol.protocolType else {
                return OffsetDeletionPlan(groupError: .nonEmptyGroup, partitionErrors: [:])
            }
            subscribed = group.subscribedTopics
        }
        return Self.plan(partitions, subscribed: subscribed)
    }

    private static func plan(_ partitions: [TopicPartition], subscribed: Set<String>) -> OffsetDeletionPlan {
        var errors: [TopicPartition: ErrorCode] = [:]
        for partition in partitions {
            errors[partition] = subscribed.contains(partition.topic) ? ErrorCode.groupSubscribedToTopic : ErrorCode.none
        }
        return OffsetDeletionPlan(groupError: .none, partitionErrors: errors)
    }

    /// Removes committed offsets (after the broker deleted the persisted ones). An Empty classic group left with no
    /// offsets is removed, as Kafka's offset cleanup does (a consumer group's classic record, which only holds its
    /// offsets, stays while the consumer group exists).
    public mutating func deleteOffsets(groupId: String, partitions: [TopicPartition]) {
        guard groups[groupId] != nil else { return }
        for partition in partitions { groups[groupId]!.offsets[partition] = nil }
        let group = groups[groupId]!
        if consumerGroups[groupId] == nil && group.state == .empty && group.offsets.isEmpty && group.pendingMembers.isEmpty
            && group.pendingTransactionalOffsets.isEmpty {
            removeClassicGroup(groupId)
        }
    }
}

extension Group {
    /// Kafka's `GroupMetadata.subscribedTopics`: the union of the topics the members subscribe to, read from their
    /// consumer-protocol metadata for the selected protocol. A member whose metadata cannot be parsed makes the set
    /// unknown, which Kafka treats as subscribed to nothing.
    var subscribedTopics: Set<String> {
        guard let protocolName else { return [] }
        var topics = Set<String>()
        for member in orderedMembers {
            guard member.supports(protocolName),
                  let subscription = try? ConsumerProtocol.decodeSubscription(member.metadata(for: protocolName))
            else { return [] }
            topics.formUnion(subscription.topics)
        }
        return topics
    }
}

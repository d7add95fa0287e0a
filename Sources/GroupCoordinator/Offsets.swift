import KafkaProtocol

public struct TopicPartition: Hashable, Sendable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}

/// A committed consumer position, as OffsetFetch returns it.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    /// -1 when the client did not send one.
    public var leaderEpoch: Int32
    public var metadata: String?
    public var commitTimestampMs: Int64

    public init(offset: Int64, leaderEpoch: Int32, metadata: String?, commitTimestampMs: Int64) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
    }
}

/// Committed offsets are kept in the group, independent of membership: they outlive the group becoming empty.
/// Offset retention (`offsets.retention.minutes`) is not applied here.
extension GroupCoordinator {
    /// The per-partition check of an OffsetCommit: metadata longer than `maxMetadataBytes` gets
    /// OFFSET_METADATA_TOO_LARGE (measured in UTF-16 code units, like Kafka's Java `String.length`).
    public func offsetMetadataError(_ metadata: String?) -> ErrorCode {
        guard let metadata, metadata.utf16.count > config.maxMetadataBytes else { return .none }
        return .offsetMetadataTooLarge
    }

    /// Records offsets the broker has persisted after `validateOffsetCommit` accepted them.
    public mutating func storeOffsets(groupId: String, offsets: [TopicPartition: CommittedOffset]) {
        if groups[groupId] == nil {
            groups[groupId] = Group(groupId: groupId)
        }
        groups[groupId]!.offsets.merge(offsets) { _, new in new }
    }

    /// The group's committed offsets for `partitions` (nil: all). Partitions without a commit are absent.
    public func committedOffsets(groupId: String, partitions: [TopicPartition]?) -> [TopicPartition: CommittedOffset] {
        guard let stored = groups[groupId]?.offsets else { return [:] }
        guard let partitions else { return stored }
        var result: [TopicPartition: CommittedOffset] = [:]
        for partition in partitions {
            result[partition] = stored[partition]
        }
        return result
    }

    /// Restores persisted offsets at startup; the group comes back empty, as after a coordinator failover.
    public mutating func loadOffsets(groupId: String, offsets: [TopicPartition: CommittedOffset]) {
        storeOffsets(groupId: groupId, offsets: offsets)
    }

    /// A topic was deleted: its offsets go everywhere. Like Kafka's cleanup, an empty group left without offsets
    /// (and without members mid-handshake) is deleted.
    public mutating func removeOffsets(topic: String) {
        for groupId in Array(groups.keys) {
            groups[groupId]!.offsets = groups[groupId]!.offsets.filter { $0.key.topic != topic }
            let group = groups[groupId]!
            if group.state == .empty && group.offsets.isEmpty && group.pendingMembers.isEmpty {
                groups[groupId] = nil
            }
        }
    }

    /// DeleteGroups for one group: only an empty group can go (NON_EMPTY_GROUP otherwise); its offsets go with it,
    /// so the broker deletes the persisted ones too.
    public mutating func deleteGroup(_ groupId: String) -> ErrorCode {
        guard let group = groups[groupId] else { return .groupIdNotFound }
        guard group.state == .empty else { return .nonEmptyGroup }
        groups[groupId] = nil
        return .none
    }
}

import KafkaProtocol

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

    /// Records offsets the broker has persisted after `validateOffsetCommit` accepted them. A plain commit is newer
    /// than any transactional commit of the same partition still pending, which therefore no longer applies when its
    /// transaction commits (Kafka compares their positions in `__consumer_offsets`; the broker deletes the
    /// persisted pending ones in the same write).
    public mutating func storeOffsets(groupId: String, offsets: [TopicPartition: CommittedOffset]) {
        if groups[groupId] == nil {
            groups[groupId] = Group(groupId: groupId)
        }
        groups[groupId]!.offsets.merge(offsets) { _, new in new }
        if !groups[groupId]!.pendingTransactionalOffsets.isEmpty {
            for (producerId, pending) in groups[groupId]!.pendingTransactionalOffsets {
                let left = pending.filter { offsets[$0.key] == nil }
                groups[groupId]!.pendingTransactionalOffsets[producerId] = left.isEmpty ? nil : left
            }
        }
    }

    // MARK: Transactional offsets (TxnOffsetCommit, KIP-98 and KIP-447)

    /// Decides whether a TxnOffsetCommit may be staged: see `Group.validateTransactionalOffsetCommit`. An unknown
    /// group is created (empty) for a memberless commit; a generation for an unknown group is ILLEGAL_GENERATION.
    public mutating func validateTransactionalOffsetCommit(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?
    ) -> ErrorCode {
        guard !groupId.isEmpty else { return .invalidGroupId }
        if groups[groupId] == nil {
            guard generationId < 0 else { return .illegalGeneration }
            groups[groupId] = Group(groupId: groupId)
        }
        return groups[groupId]!.validateTransactionalOffsetCommit(
            memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId)
    }

    /// Stages offsets committed in `producerId`'s open transaction (after the broker persisted them as pending). A
    /// later commit of the same partition by the same producer replaces the earlier one.
    public mutating func stageTransactionalOffsets(groupId: String, producerId: Int64, offsets: [TopicPartition: CommittedOffset]) {
        if groups[groupId] == nil { groups[groupId] = Group(groupId: groupId) }
        groups[groupId]!.pendingTransactionalOffsets[producerId, default: [:]].merge(offsets) { _, new in new }
    }

    /// The offsets `producerId`'s transaction would commit for the group.
    public func pendingTransactionalOffsets(groupId: String, producerId: Int64) -> [TopicPartition: CommittedOffset] {
        groups[groupId]?.pendingTransactionalOffsets[producerId] ?? [:]
    }

    /// The transaction ended (after the broker persisted the outcome): on commit its staged offsets become the
    /// committed ones, on abort they are dropped.
    public mutating func completeTransactionalOffsets(groupId: String, producerId: Int64, commit: Bool) {
        guard let pending = groups[groupId]?.pendingTransactionalOffsets.removeValue(forKey: producerId) else { return }
        if commit { groups[groupId]!.offsets.merge(pending) { _, new in new } }
    }

    /// Whether an open transaction has a commit of this partition staged (OffsetFetch with RequireStable answers
    /// UNSTABLE_OFFSET_COMMIT for it, so the consumer waits for the decision).
    public func hasPendingTransactionalOffset(groupId: String, partition: TopicPartition) -> Bool {
        groups[groupId]?.pendingTransactionalOffsets.values.contains { $0[partition] != nil } ?? false
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
            for (producerId, pending) in groups[groupId]!.pendingTransactionalOffsets {
                let left = pending.filter { $0.key.topic != topic }
                groups[groupId]!.pendingTransactionalOffsets[producerId] = left.isEmpty ? nil : left
            }
            let group = groups[groupId]!
            if group.state == .empty && group.offsets.isEmpty && group.pendingMembers.isEmpty
                && group.pendingTransactionalOffsets.isEmpty {
                removeClassicGroup(groupId)
            }
        }
    }

    /// DeleteGroups for one group: only an empty group can go (NON_EMPTY_GROUP otherwise); its offsets go with it,
    /// so the broker deletes the persisted ones too.
    public mutating func deleteGroup(_ groupId: String) -> ErrorCode {
        let error = groupDeletionError(groupId)
        guard error == .none else { return error }
        // A consumer group's offsets live in its classic record: both go (Kafka).
        removeConsumerGroup(groupId)
        removeClassicGroup(groupId)
        return .none
    }
}

import KafkaProtocol

/// Where a member stands in reconciling towards its target assignment (Kafka's MemberState).
public enum ConsumerMemberState: String, Sendable {
    /// It has its target assignment at the current target epoch.
    case stable = "STABLE"
    /// It must give up partitions (acknowledged by leaving them out of a heartbeat's TopicPartitions) before it
    /// gets new ones and a new epoch.
    case unrevokedPartitions = "UNREVOKED_PARTITIONS"
    /// It is at the target epoch but some of its target partitions are still held by their previous owners.
    case unreleasedPartitions = "UNRELEASED_PARTITIONS"
}

/// A member of a consumer group (KIP-848).
struct ConsumerGroupMember: Sendable, Equatable {
    var memberId: String
    var instanceId: String?
    var rackId: String?
    var clientId: String
    var clientHost: String
    var rebalanceTimeoutMs: Int32 = 0
    var subscribedTopicNames: [String] = []
    var subscribedTopicRegex: String?
    var serverAssignor: String?
    var state: ConsumerMemberState = .stable
    /// 0 until the member got its first assignment; -2 while a static member is away (left with -2).
    var memberEpoch: Int32 = 0
    var previousMemberEpoch: Int32 = -1
    /// The partitions the member may use now.
    var assigned: ConsumerAssignment = [:]
    /// Partitions the member still owns but must give up.
    var pendingRevocation: ConsumerAssignment = [:]
    /// When the member is removed for missing heartbeats.
    var sessionDeadline: Int64
    /// Set while UNREVOKED_PARTITIONS: when the member is removed for not revoking in time (its rebalance timeout).
    var revocationDeadline: Int64?

    /// Kafka's CurrentAssignmentBuilder: one reconciliation step towards `target` at `targetEpoch`. `owned` is the
    /// TopicPartitions of the heartbeat (nil: not sent, so revocations cannot be confirmed); `isOwnedElsewhere` says
    /// whether another member still holds a partition (assigned or pending revocation).
    func reconciled(
        target: ConsumerAssignment, targetEpoch: Int32, owned: ConsumerAssignment?,
        isOwnedElsewhere: (KafkaUUID, Int32) -> Bool
    ) -> ConsumerGroupMember {
        switch state {
        case .stable:
            return memberEpoch == targetEpoch
                ? self : nextAssignment(epoch: memberEpoch, target: target, targetEpoch: targetEpoch, owned: owned,
                                        isOwnedElsewhere: isOwnedElsewhere)
        case .unrevokedPartitions:
            if Self.owns(owned, anyOf: pendingRevocation) { return self }
            return nextAssignment(epoch: memberEpoch + 1, target: target, targetEpoch: targetEpoch, owned: owned,
                                  isOwnedElsewhere: isOwnedElsewhere)
        case .unreleasedPartitions:
            return nextAssignment(epoch: memberEpoch, target: target, targetEpoch: targetEpoch, owned: owned,
                                  isOwnedElsewhere: isOwnedElsewhere)
        }
    }

    /// Whether the reported partitions still include any of `partitions`; an unreported set counts as owning.
    private static func owns(_ owned: ConsumerAssignment?, anyOf partitions: ConsumerAssignment) -> Bool {
        guard let owned else { return true }
        return owned.contains { topic, reported in !reported.isDisjoint(with: partitions[topic] ?? []) }
    }

    private func nextAssignment(
        epoch: Int32, target: ConsumerAssignment, targetEpoch: Int32, owned: ConsumerAssignment?,
        isOwnedElsewhere: (KafkaUUID, Int32) -> Bool
    ) -> ConsumerGroupMember {
        var kept: ConsumerAssignment = [:]
        var revoke: ConsumerAssignment = [:]
        var add: ConsumerAssignment = [:]
        var hasUnreleased = false
        for topic in Set(target.keys).union(assigned.keys) {
            let wanted = target[topic] ?? []
            let current = assigned[topic] ?? []
            let keep = current.intersection(wanted)
            let gone = current.subtracting(keep)
            var incoming = wanted.subtracting(keep)
            let unreleased = incoming.filter { isOwnedElsewhere(topic, $0) }
            if !unreleased.isEmpty {
                hasUnreleased = true
                incoming.subtract(unreleased)
            }
            if !keep.isEmpty { kept[topic] = keep }
            if !gone.isEmpty { revoke[topic] = gone }
            if !incoming.isEmpty { add[topic] = incoming }
        }
        var next = self
        func moveTo(_ state: ConsumerMemberState, epoch newEpoch: Int32, assigned: ConsumerAssignment,
                    pending: ConsumerAssignment) {
            next.state = state
            if newEpoch != next.memberEpoch {
                next.previousMemberEpoch = next.memberEpoch
                next.memberEpoch = newEpoch
            }
            next.assigned = assigned
            next.pendingRevocation = pending
        }
        if !revoke.isEmpty && Self.owns(owned, anyOf: revoke) {
            moveTo(.unrevokedPartitions, epoch: epoch, assigned: kept, pending: revoke)
        } else {
            kept.merge(add) { $0.union($1) }
            moveTo(hasUnreleased ? .unreleasedPartitions : .stable, epoch: targetEpoch, assigned: kept, pending: [:])
        }
        return next
    }
}

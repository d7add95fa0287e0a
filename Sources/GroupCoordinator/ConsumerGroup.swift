import KafkaProtocol

/// A consumer group's state as Kafka reports it (ConsumerGroup.ConsumerGroupState); derived, never stored.
public enum ConsumerGroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    /// The group epoch moved past the target assignment's: a new target is due.
    case assigning = "Assigning"
    /// Some member is not yet at the target epoch or still revoking / waiting for partitions.
    case reconciling = "Reconciling"
    case stable = "Stable"
}

/// A KIP-848 consumer group: members, the group epoch (bumped by every membership, subscription or topic metadata
/// change), the target assignment computed at `assignmentEpoch`, and which member currently holds each partition.
/// Committed offsets are not here: they stay in the classic `Group` record of the same id (see
/// `GroupCoordinator+ConsumerGroups.swift`).
struct ConsumerGroup: Sendable {
    let groupId: String
    var groupEpoch: Int32 = 0
    /// Group epoch bumps so far (each asks for a new target assignment: KIP-848's rebalance), for the broker's
    /// rebalance count. Bump the epoch only through ``bumpEpoch()``.
    private(set) var epochBumps: UInt64 = 0
    var assignmentEpoch: Int32 = 0
    var members: [String: ConsumerGroupMember] = [:]
    /// Static membership: instance id → member id.
    var staticMembers: [String: String] = [:]
    var targetAssignment: [String: ConsumerAssignment] = [:]
    /// The subscribed topics as of the last epoch bump; a difference (topic created, deleted, grown) bumps again.
    var subscribedTopics: [String: ConsumerTopic] = [:]
    /// The assignor the last target assignment used.
    var assignorName: String?

    init(groupId: String) {
        self.groupId = groupId
    }

    var state: ConsumerGroupState {
        if members.isEmpty { return .empty }
        if groupEpoch > assignmentEpoch { return .assigning }
        let reconciling = members.values.contains { $0.memberEpoch != assignmentEpoch || $0.state != .stable }
        return reconciling ? .reconciling : .stable
    }

    var orderedMembers: [ConsumerGroupMember] {
        members.values.sorted { $0.memberId < $1.memberId }
    }

    /// Whether a member other than `memberId` holds the partition (assigned or still to be revoked), so it cannot
    /// be handed over yet.
    func isOwned(_ topic: KafkaUUID, _ partition: Int32, byOtherThan memberId: String) -> Bool {
        members.values.contains { member in
            member.memberId != memberId
                && ((member.assigned[topic]?.contains(partition) ?? false)
                    || (member.pendingRevocation[topic]?.contains(partition) ?? false))
        }
    }

    /// The existing topics a member subscribes to, by names or by regex (whole-name match, as RE2/J `matches`).
    static func subscribedTopics(of member: ConsumerGroupMember, in topics: ConsumerTopicsImage) -> [ConsumerTopic] {
        var result = member.subscribedTopicNames.compactMap { topics.byName[$0] }
        if let pattern = member.subscribedTopicRegex, let regex = try? Regex(pattern) {
            let named = Set(result.map(\.name))
            result += topics.byName.values.filter { topic in
                !named.contains(topic.name) && !topic.name.hasPrefix("__")
                    && ((try? regex.wholeMatch(in: topic.name)) ?? nil) != nil
            }
        }
        return result
    }

    /// The union of every member's subscribed topics, as they are now.
    func subscriptionMetadata(_ topics: ConsumerTopicsImage) -> [String: ConsumerTopic] {
        var result: [String: ConsumerTopic] = [:]
        for member in members.values {
            for topic in Self.subscribedTopics(of: member, in: topics) { result[topic.name] = topic }
        }
        return result
    }

    /// Kafka's preferred server assignor: the one most members asked for (ties by name), else the default.
    func preferredAssignor(default defaultName: String) -> String {
        var votes: [String: Int] = [:]
        for member in members.values { if let name = member.serverAssignor { votes[name, default: 0] += 1 } }
        return votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? defaultName
    }

    /// Recomputes the target assignment for the current group epoch.
    mutating func computeTargetAssignment(assignor: ConsumerAssignor, topics: ConsumerTopicsImage) {
        let inputs = members.values.map { member in
            AssignorMember(
                memberId: member.memberId, topics: Set(Self.subscribedTopics(of: member, in: topics).map(\.id)),
                previous: targetAssignment[member.memberId] ?? [:])
        }
        targetAssignment = assignor.assign(members: inputs, topics: topics).mapValues(\.normalized)
        assignorName = assignor.rawValue
        assignmentEpoch = groupEpoch
    }

    mutating func add(_ member: ConsumerGroupMember) {
        precondition(members[member.memberId] == nil, "group \(groupId): member \(member.memberId) added twice")
        members[member.memberId] = member
        if let instanceId = member.instanceId { staticMembers[instanceId] = member.memberId }
    }

    /// Removes a member (left, fenced or expired): its partitions are free at once and the group epoch moves on.
    mutating func remove(_ memberId: String) {
        guard let member = members.removeValue(forKey: memberId) else {
            preconditionFailure("group \(groupId): removing unknown member \(memberId)")
        }
        targetAssignment[memberId] = nil
        if let instanceId = member.instanceId, staticMembers[instanceId] == memberId { staticMembers[instanceId] = nil }
        bumpEpoch()
    }

    /// Moves the group epoch on (a membership, subscription or topic change).
    mutating func bumpEpoch() {
        groupEpoch += 1
        epochBumps += 1
    }

    /// KIP-345 for KIP-848: the instance rejoined (epoch 0) under `newId` after a temporary leave. The member keeps
    /// its subscription, assignment and target under the new id, so nothing moves (no epoch bump); its epoch restarts
    /// at 0 and reconciliation brings it to the target epoch.
    mutating func replaceStaticMember(oldId: String, newId: String, clientId: String, clientHost: String) {
        guard var member = members.removeValue(forKey: oldId) else {
            preconditionFailure("group \(groupId): replacing unknown member \(oldId)")
        }
        member.memberId = newId
        member.clientId = clientId
        member.clientHost = clientHost
        member.pendingRevocation = [:]
        member.revocationDeadline = nil
        member.memberEpoch = 0
        member.previousMemberEpoch = 0
        member.state = .stable
        members[newId] = member
        targetAssignment[newId] = targetAssignment.removeValue(forKey: oldId)
        if let instanceId = member.instanceId { staticMembers[instanceId] = newId }
    }

    /// The earliest session or revocation deadline.
    var nextDeadline: Int64? {
        members.values.flatMap { [$0.sessionDeadline, $0.revocationDeadline].compactMap { $0 } }.min()
    }

    /// Removes every member whose session or revocation deadline has passed.
    mutating func expireMembers(now: Int64) {
        let expired = members.values.filter { member in
            member.sessionDeadline <= now || (member.revocationDeadline.map { $0 <= now } ?? false)
        }
        for member in expired.sorted(by: { $0.memberId < $1.memberId }) { remove(member.memberId) }
    }
}

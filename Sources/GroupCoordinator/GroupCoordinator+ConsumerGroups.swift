import KafkaProtocol

/// The KIP-848 consumer group protocol beside the classic one, after Kafka 4.0's GroupMetadataManager
/// (consumerGroupHeartbeat, consumerGroupLeave) and ConsumerGroup.
///
/// One group id names either a classic group or a consumer group. Offsets of a consumer group stay in the classic
/// `Group` record of the same id (an empty classic group is just an offset holder), so commits, fetches, topic
/// deletion and the persisted offsets work unchanged; ListGroups and DescribeGroups show the consumer group instead.
///
/// Migration follows `group.consumer.migration.policy=disabled`: a heartbeat for a non-empty classic group gets
/// GROUP_ID_NOT_FOUND, an empty classic group is converted. A classic JoinGroup for a non-empty consumer group gets
/// INCONSISTENT_GROUP_PROTOCOL (Kafka 4 admits classic members into consumer groups, mixed groups, which is not
/// modelled); an empty consumer group is turned back into a classic one.
///
/// Membership lives in memory only: after a broker restart, members heartbeating with their epoch get
/// UNKNOWN_MEMBER_ID and rejoin with epoch 0 (librdkafka and the Java consumer do), committed offsets are kept.
/// Not modelled: rack-aware assignment, subscription-metadata refresh throttling, assignment batching, regex
/// resolution in the background (regexes are resolved on every heartbeat, with Swift's regex syntax instead of RE2/J).
extension GroupCoordinator {
    /// ConsumerGroupHeartbeat: join (epoch 0), heartbeat, acknowledge revocations, leave (-1, -2 static).
    public mutating func consumerGroupHeartbeat(
        _ input: ConsumerHeartbeatInput, topics: ConsumerTopicsImage, now: Int64
    ) -> ConsumerHeartbeatOutcome {
        if let (error, message) = invalidHeartbeat(input) { return .failure(error, message) }
        if input.memberEpoch < 0 { return consumerGroupLeave(input, now: now) }

        let groupId = input.groupId
        let joining = input.memberEpoch == 0
        if consumerGroups[groupId] == nil {
            if let classic = groups[groupId], classic.state != .empty || !classic.pendingMembers.isEmpty {
                return .failure(.groupIdNotFound, "Group \(groupId) is not a consumer group")
            }
            guard joining else { return .failure(.unknownMemberId, "Unknown member \(input.memberId)") }
            consumerGroups[groupId] = ConsumerGroup(groupId: groupId)
        }
        var group = consumerGroups[groupId]!
        defer { consumerGroups[groupId] = group }

        // The member before this request (nil for a new one) and its id.
        let previous: ConsumerGroupMember?
        var memberId = input.memberId
        if let instanceId = input.instanceId {
            let existing = group.staticMembers[instanceId].flatMap { group.members[$0] }
            if joining {
                if let existing {
                    guard existing.memberEpoch == -2 else {
                        return .failure(.unreleasedInstanceId,
                                        "Static member \(existing.memberId) with instance id \(instanceId) is still in the group")
                    }
                    if memberId.isEmpty { memberId = memberIds.next(prefix: instanceId) }
                    group.replaceStaticMember(
                        oldId: existing.memberId, newId: memberId, clientId: input.clientId, clientHost: input.clientHost)
                    previous = group.members[memberId]
                } else {
                    previous = nil
                }
            } else {
                guard let existing else {
                    return .failure(.unknownMemberId, "Instance id \(instanceId) is unknown")
                }
                guard existing.memberId == memberId else {
                    return .failure(.fencedInstanceId, "Instance id \(instanceId) belongs to another member")
                }
                previous = existing
            }
        } else if joining {
            previous = memberId.isEmpty ? nil : group.members[memberId]
        } else {
            guard let existing = group.members[memberId] else {
                return .failure(.unknownMemberId, "Unknown member \(memberId)")
            }
            previous = existing
        }
        if let previous, !joining, let error = Self.epochError(previous, input) {
            return .failure(error, "The consumer group member has a greater or smaller epoch than expected")
        }
        if previous == nil {
            guard group.members.count < Int(config.consumer.maxSize) else {
                return .failure(.groupMaxSizeReached, "The consumer group has reached its maximum size")
            }
            if memberId.isEmpty { memberId = memberIds.next(prefix: input.clientId.isEmpty ? "consumer" : input.clientId) }
        }

        // Apply the request's changes; a new member or a changed subscription bumps the group epoch.
        var member = previous ?? newMember(memberId, input, now: now)
        member.update(from: input)
        let subscriptionChanged = previous.map { !$0.hasSameSubscription(as: member) } ?? true
        if previous == nil { group.add(member) } else { group.members[memberId] = member }
        let metadata = group.subscriptionMetadata(topics)
        if subscriptionChanged || metadata != group.subscribedTopics {
            group.bumpEpoch()
            group.subscribedTopics = metadata
        }
        if group.groupEpoch > group.assignmentEpoch {
            let name = group.preferredAssignor(default: config.consumer.assignors[0].rawValue)
            group.computeTargetAssignment(assignor: ConsumerAssignor(rawValue: name) ?? config.consumer.assignors[0],
                                          topics: topics)
        }

        // Reconcile towards the target, then restart the session and (entering revocation) the rebalance timer.
        let before = group.members[memberId]!
        var after = before.reconciled(
            target: group.targetAssignment[memberId] ?? [:], targetEpoch: group.assignmentEpoch,
            owned: input.ownedPartitions,
            isOwnedElsewhere: { [group] topic, partition in group.isOwned(topic, partition, byOtherThan: memberId) })
        after.sessionDeadline = now + Int64(config.consumer.sessionTimeoutMs)
        if after.state != .unrevokedPartitions {
            after.revocationDeadline = nil
        } else if before.state != .unrevokedPartitions || before.memberEpoch != after.memberEpoch
            || after.revocationDeadline == nil {
            after.revocationDeadline = now + Int64(max(after.rebalanceTimeoutMs, 0))
        }
        group.members[memberId] = after

        let fullRequest = joining
            || (input.rebalanceTimeoutMs != -1 && (input.subscribedTopicNames != nil || input.subscribedTopicRegex != nil)
                && input.ownedPartitions != nil)
        let changed = previous.map { $0.assigned.normalized != after.assigned.normalized } ?? true
        return ConsumerHeartbeatOutcome(
            errorCode: .none, errorMessage: nil, memberId: memberId, memberEpoch: after.memberEpoch,
            heartbeatIntervalMs: config.consumer.heartbeatIntervalMs,
            assignment: fullRequest || changed ? after.assigned.normalized : nil)
    }

    /// Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid (plus the assignor and regex checks).
    private func invalidHeartbeat(_ input: ConsumerHeartbeatInput) -> (ErrorCode, String)? {
        if input.groupId.isEmpty { return (.invalidGroupId, "GroupId can't be empty.") }
        if input.instanceId == "" { return (.invalidRequest, "InstanceId can't be empty.") }
        if input.rackId == "" { return (.invalidRequest, "RackId can't be empty.") }
        if input.memberId.isEmpty && (input.apiVersion >= 1 || input.memberEpoch > 0 || input.memberEpoch == -1) {
            return (.invalidRequest, "MemberId can't be empty.")
        }
        switch input.memberEpoch {
        case 0:
            if input.rebalanceTimeoutMs == -1 { return (.invalidRequest, "RebalanceTimeoutMs must be provided in first request.") }
            if input.ownedPartitions.map({ !$0.normalized.isEmpty }) ?? true {
                return (.invalidRequest, "TopicPartitions must be empty when (re-)joining.")
            }
            if input.subscribedTopicNames == nil && input.subscribedTopicRegex == nil {
                return (.invalidRequest, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
            }
        case -2:
            if input.instanceId == nil { return (.invalidRequest, "InstanceId can't be null.") }
        case ..<(-2):
            return (.invalidRequest, "MemberEpoch is invalid.")
        default:
            break
        }
        if let pattern = input.subscribedTopicRegex, !pattern.isEmpty, (try? Regex(pattern)) == nil {
            return (.invalidRegularExpression, "SubscribedTopicRegex \(pattern) is not a valid regular expression.")
        }
        if let name = input.serverAssignor, !config.consumer.assignors.contains(where: { $0.rawValue == name }) {
            let supported = config.consumer.assignors.map(\.rawValue).joined(separator: ", ")
            return (.unsupportedAssignor, "ServerAssignor \(name) is not supported. Supported assignors: \(supported).")
        }
        return nil
    }

    /// Kafka's throwIfMemberEpochIsInvalid: a newer epoch than the member's is fenced; an older one is accepted
    /// only if it is the previous epoch and the member reports a subset of its partitions (the answer that moved
    /// it on was lost).
    private static func epochError(_ member: ConsumerGroupMember, _ input: ConsumerHeartbeatInput) -> ErrorCode? {
        if input.memberEpoch > member.memberEpoch { return .fencedMemberEpoch }
        if input.memberEpoch < member.memberEpoch {
            guard input.memberEpoch == member.previousMemberEpoch, let owned = input.ownedPartitions,
                owned.normalized.isSubset(of: member.assigned)
            else { return .fencedMemberEpoch }
        }
        return nil
    }

    private func newMember(_ memberId: String, _ input: ConsumerHeartbeatInput, now: Int64) -> ConsumerGroupMember {
        ConsumerGroupMember(
            memberId: memberId, instanceId: input.instanceId, rackId: input.rackId, clientId: input.clientId,
            clientHost: input.clientHost, sessionDeadline: now + Int64(config.consumer.sessionTimeoutMs))
    }

    /// MemberEpoch -1 (leave) or -2 (a static member leaving for a while, keeping its partitions until its session
    /// runs out).
    private mutating func consumerGroupLeave(_ input: ConsumerHeartbeatInput, now: Int64) -> ConsumerHeartbeatOutcome {
        guard var group = consumerGroups[input.groupId] else {
            return .failure(.groupIdNotFound, "Consumer group \(input.groupId) not found.")
        }
        defer { consumerGroups[input.groupId] = group }
        let memberId: String
        if let instanceId = input.instanceId {
            guard let existing = group.staticMembers[instanceId] else {
                return .failure(.unknownMemberId, "Instance id \(instanceId) is unknown")
            }
            guard existing == input.memberId else {
                return .failure(.fencedInstanceId, "Instance id \(instanceId) belongs to another member")
            }
            memberId = existing
        } else {
            guard group.members[input.memberId] != nil else {
                return .failure(.unknownMemberId, "Unknown member \(input.memberId)")
            }
            memberId = input.memberId
        }
        if input.memberEpoch == -2 {
            group.members[memberId]!.memberEpoch = -2
            group.members[memberId]!.pendingRevocation = [:]
            group.members[memberId]!.revocationDeadline = nil
            // It has one session timeout to come back before it is removed and its partitions move.
            group.members[memberId]!.sessionDeadline = now + Int64(config.consumer.sessionTimeoutMs)
        } else {
            group.remove(memberId)
        }
        return ConsumerHeartbeatOutcome(
            errorCode: .none, errorMessage: nil, memberId: memberId, memberEpoch: input.memberEpoch,
            heartbeatIntervalMs: 0, assignment: nil)
    }

    /// Removes members whose session or rebalance timeout ran out (part of `tick`).
    mutating func expireConsumerGroupMembers(now: Int64) {
        for groupId in consumerGroups.keys.sorted() where (consumerGroups[groupId]!.nextDeadline ?? .max) <= now {
            consumerGroups[groupId]!.expireMembers(now: now)
        }
    }

    /// The error for a classic JoinGroup to a consumer group, if any. An empty consumer group is dropped so the
    /// classic group can take the id (its offsets are kept).
    mutating func classicJoinRefusal(groupId: String) -> ErrorCode? {
        guard let group = consumerGroups[groupId] else { return nil }
        guard group.members.isEmpty else { return .inconsistentGroupProtocol }
        removeConsumerGroup(groupId)
        return nil
    }

    // MARK: Offsets

    /// OffsetCommit (`transactional` false, v9+ carries the member epoch) or TxnOffsetCommit for a consumer group;
    /// nil when the group is not one. Kafka's ConsumerGroup.validateOffsetCommit: without members a memberless
    /// commit (epoch < 0) is fine; otherwise the member must exist (UNKNOWN_MEMBER_ID), commit with OffsetCommit
    /// v9+ (UNSUPPORTED_VERSION) and at its current epoch (STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for
    /// TxnOffsetCommit, as Kafka maps it). A member's commit does not count as a heartbeat in this protocol.
    public func validateConsumerGroupOffsetCommit(
        groupId: String, memberId: String, memberEpoch: Int32, transactional: Bool, apiVersion: Int16
    ) -> ErrorCode? {
        guard let group = consumerGroups[groupId] else { return nil }
        if memberEpoch < 0 && group.members.isEmpty { return ErrorCode.none }
        guard let member = group.members[memberId] else { return .unknownMemberId }
        if !transactional && apiVersion < 9 { return .unsupportedVersion }
        guard memberEpoch == member.memberEpoch else { return transactional ? .illegalGeneration : .staleMemberEpoch }
        return ErrorCode.none
    }

    /// OffsetFetch v9's member check for a consumer group (NONE otherwise): no member id and a negative epoch is an
    /// admin fetch; else the member must exist at that epoch.
    public func validateConsumerGroupOffsetFetch(groupId: String, memberId: String?, memberEpoch: Int32) -> ErrorCode {
        guard let group = consumerGroups[groupId] else { return .none }
        if memberId == nil && memberEpoch < 0 { return .none }
        guard let member = memberId.flatMap({ group.members[$0] }) else { return .unknownMemberId }
        return member.memberEpoch == memberEpoch ? .none : .staleMemberEpoch
    }

    // MARK: Queries

    /// ConsumerGroupDescribe for one group: GROUP_ID_NOT_FOUND for unknown and classic groups, as Kafka.
    public func describeConsumerGroup(_ groupId: String, topics: ConsumerTopicsImage) -> ConsumerGroupDescription {
        guard let group = consumerGroups[groupId] else {
            let message = groups[groupId] == nil ? "Group \(groupId) not found." : "Group \(groupId) is not a consumer group."
            return ConsumerGroupDescription(
                errorCode: .groupIdNotFound, errorMessage: message, groupId: groupId, state: "Dead", groupEpoch: -1,
                assignmentEpoch: -1, assignorName: "", members: [])
        }
        let members = group.orderedMembers.map { member in
            ConsumerMemberDescription(
                memberId: member.memberId, instanceId: member.instanceId, rackId: member.rackId,
                memberEpoch: member.memberEpoch, clientId: member.clientId, clientHost: member.clientHost,
                subscribedTopicNames: member.subscribedTopicNames, subscribedTopicRegex: member.subscribedTopicRegex,
                assignment: member.assigned.normalized, targetAssignment: group.targetAssignment[member.memberId] ?? [:])
        }
        return ConsumerGroupDescription(
            errorCode: .none, errorMessage: nil, groupId: groupId, state: group.state.rawValue,
            groupEpoch: group.groupEpoch, assignmentEpoch: group.assignmentEpoch,
            assignorName: group.preferredAssignor(default: config.consumer.assignors[0].rawValue), members: members)
    }

    /// ListGroups entries of the consumer groups (protocol type "consumer", group type "consumer").
    public func listConsumerGroups(statesFilter: [String]) -> [GroupListing] {
        let wanted = Set(statesFilter.map { $0.lowercased() })
        return consumerGroups.values
            .filter { wanted.isEmpty || wanted.contains($0.state.rawValue.lowercased()) }
            .map { GroupListing(groupId: $0.groupId, protocolType: "consumer", state: $0.state.rawValue) }
    }

    /// Whether `groupId` is a consumer group (ListGroups and DescribeGroups then leave its classic offset holder out).
    public func isConsumerGroup(_ groupId: String) -> Bool {
        consumerGroups[groupId] != nil
    }
}

extension ConsumerGroupMember {
    /// Applies the non-null fields of a heartbeat.
    mutating func update(from input: ConsumerHeartbeatInput) {
        if let rackId = input.rackId { self.rackId = rackId }
        if input.rebalanceTimeoutMs != -1 { rebalanceTimeoutMs = input.rebalanceTimeoutMs }
        if let names = input.subscribedTopicNames { subscribedTopicNames = Array(Set(names)).sorted() }
        if let regex = input.subscribedTopicRegex { subscribedTopicRegex = regex.isEmpty ? nil : regex }
        if let assignor = input.serverAssignor { serverAssignor = assignor }
        clientId = input.clientId
        clientHost = input.clientHost
    }

    /// Kafka's hasMemberSubscriptionChanged: what the assignment depends on.
    func hasSameSubscription(as other: ConsumerGroupMember) -> Bool {
        subscribedTopicNames == other.subscribedTopicNames && subscribedTopicRegex == other.subscribedTopicRegex
            && serverAssignor == other.serverAssignor && rackId == other.rackId
    }
}

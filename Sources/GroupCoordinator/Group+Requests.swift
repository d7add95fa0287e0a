import KafkaProtocol
import NIOCore

/// SyncGroup, Heartbeat, LeaveGroup and offset-commit validation for an existing group.
extension Group {
    mutating func sync(
        _ input: SyncGroupInput, now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        func reply(_ outcome: SyncGroupOutcome) {
            actions.append(.syncResponse(input.requestId, outcome))
        }
        let memberId = input.memberId
        if let error = validateCurrentMember(memberId, groupInstanceId: input.groupInstanceId) {
            return reply(.failure(error))
        }
        guard input.generationId == generationId else { return reply(.failure(.illegalGeneration)) }
        if let type = input.protocolType, type != protocolType {
            return reply(.failure(.inconsistentGroupProtocol))
        }
        if let name = input.protocolName, name != protocolName {
            return reply(.failure(.inconsistentGroupProtocol))
        }
        guard var member = members[memberId] else { preconditionFailure("validated member \(memberId) is missing") }

        switch state {
        case .preparingRebalance:
            reply(.failure(.rebalanceInProgress))
        case .completingRebalance:
            if let previous = member.awaitingSync {
                // A retried SyncGroup replaces the parked one (Kafka drops the old callback); answer the old one
                // with a retriable error rather than never.
                actions.append(.syncResponse(previous, .failure(.rebalanceInProgress)))
            }
            member.awaitingSync = input.requestId
            member.refreshSession(now: now)
            members[memberId] = member
            markSynced(memberId)
            if memberId == leaderId {
                var assignments: [String: ByteBuffer] = [:]
                for entry in input.assignments where members[entry.memberId] != nil {
                    assignments[entry.memberId] = entry.assignment
                }
                setAndPropagateAssignment(assignments, now: now, into: &actions)
            }
        case .stable:
            markSynced(memberId)
            member.refreshSession(now: now)
            members[memberId] = member
            reply(
                SyncGroupOutcome(
                    errorCode: .none, protocolType: protocolType, protocolName: protocolName,
                    assignment: member.assignment))
        case .empty, .dead:
            preconditionFailure("group \(groupId) has member \(memberId) in state \(state)")
        }
    }

    /// Kafka's heartbeat: validates, restarts the session, and tells members of a running rebalance to rejoin.
    mutating func heartbeat(memberId: String, groupInstanceId: String?, generationId: Int32, now: Int64) -> ErrorCode {
        if let error = validateCurrentMember(memberId, groupInstanceId: groupInstanceId) { return error }
        guard generationId == self.generationId else { return .illegalGeneration }
        members[memberId]?.refreshSession(now: now)
        switch state {
        case .preparingRebalance:
            return .rebalanceInProgress
        case .completingRebalance, .stable:
            return .none
        case .empty, .dead:
            preconditionFailure("group \(groupId) has member \(memberId) in state \(state)")
        }
    }

    /// Kafka's LeaveGroup: one error per leaving identity, in order. A member id "" with a group instance id removes
    /// that static instance (the admin form of LeaveGroup v3+).
    mutating func leave(
        _ leaving: [(memberId: String, groupInstanceId: String?)], now: Int64, config: GroupCoordinatorConfig,
        into actions: inout [CoordinatorAction]
    ) -> [ErrorCode] {
        var errors: [ErrorCode] = []
        for identity in leaving {
            errors.append(leaveOne(identity, now: now, config: config, into: &actions))
        }
        return errors
    }

    private mutating func leaveOne(
        _ identity: (memberId: String, groupInstanceId: String?), now: Int64, config: GroupCoordinatorConfig,
        into actions: inout [CoordinatorAction]
    ) -> ErrorCode {
        if identity.memberId.isEmpty {
            guard let instanceId = identity.groupInstanceId, let current = staticMemberId(instanceId) else {
                return .unknownMemberId
            }
            removeMemberAndUpdateGroup(current, now: now, config: config, into: &actions)
            return .none
        }
        if isPendingMember(identity.memberId) {
            removePendingMember(identity.memberId, now: now, into: &actions)
            return .none
        }
        if let error = validateCurrentMember(identity.memberId, groupInstanceId: identity.groupInstanceId) {
            return error
        }
        removeMemberAndUpdateGroup(identity.memberId, now: now, config: config, into: &actions)
        return .none
    }

    /// Kafka's `validateOffsetCommit` plus the state check of `doCommitOffsets`.
    ///
    /// Generation < 0 on an empty group is a "simple" commit (a consumer that assigns partitions itself, or an admin
    /// tool). Otherwise the committer must be a current member of the current generation. Commits are refused in
    /// CompletingRebalance (the member is about to get a new assignment) but accepted in PreparingRebalance, where
    /// the member still owns its partitions until it rejoins. An accepted member commit counts as a heartbeat.
    /// KIP-447: a transactional commit is fenced by the group generation as a plain one is, but a commit without a
    /// member (generation -1, member "") is accepted even while the group has members (producers that do not
    /// know the consumer's membership), and a rebalance in progress does not refuse it (Kafka's
    /// `validateOffsetCommit(isTransactional = true)`).
    func validateTransactionalOffsetCommit(memberId: String, generationId: Int32, groupInstanceId: String?) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if generationId < 0 && state == .empty { return .none }
        guard generationId >= 0 || !memberId.isEmpty || groupInstanceId != nil else { return .none }
        if let error = validateCurrentMember(memberId, groupInstanceId: groupInstanceId) { return error }
        return generationId == self.generationId ? .none : .illegalGeneration
    }

    mutating func validateOffsetCommit(
        memberId: String, generationId: Int32, groupInstanceId: String?, now: Int64
    ) -> ErrorCode {
        if generationId < 0 && state == .empty { return .none }
        if generationId >= 0 || !memberId.isEmpty || groupInstanceId != nil {
            if let error = validateCurrentMember(memberId, groupInstanceId: groupInstanceId) { return error }
            guard generationId == self.generationId else { return .illegalGeneration }
        } else {
            // A simple commit while the group has members would fight with their assignment.
            return .unknownMemberId
        }
        switch state {
        case .stable, .preparingRebalance:
            members[memberId]?.refreshSession(now: now)
            return .none
        case .completingRebalance:
            return .rebalanceInProgress
        case .empty, .dead:
            preconditionFailure("group \(groupId) has member \(memberId) in state \(state)")
        }
    }
}

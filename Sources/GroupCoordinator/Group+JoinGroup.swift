import KafkaProtocol

/// JoinGroup handling (Kafka's `doNewMemberJoinGroup` / `doCurrentMemberJoinGroup`).
extension Group {
    /// Handles a JoinGroup whose group id and session timeout the coordinator already validated. `protocols` are the
    /// request's protocols without repeated names.
    mutating func join(
        _ input: JoinGroupInput, protocols: [GroupProtocol], now: Int64, config: GroupCoordinatorConfig,
        memberIds: inout MemberIDGenerator, into actions: inout [CoordinatorAction]
    ) {
        guard supportsProtocols(type: input.protocolType, names: protocols.map(\.name)) else {
            actions.append(
                .joinResponse(input.requestId, .failure(.inconsistentGroupProtocol, memberId: input.memberId)))
            return
        }
        if input.memberId.isEmpty {
            joinNewMember(input, protocols: protocols, now: now, config: config, memberIds: &memberIds, into: &actions)
        } else {
            joinCurrentMember(input, protocols: protocols, now: now, config: config, into: &actions)
        }
        maybeCompleteJoin(now: now, into: &actions)
    }

    private mutating func joinNewMember(
        _ input: JoinGroupInput, protocols: [GroupProtocol], now: Int64, config: GroupCoordinatorConfig,
        memberIds: inout MemberIDGenerator, into actions: inout [CoordinatorAction]
    ) {
        var newId: String
        repeat {
            newId = memberIds.next(prefix: input.groupInstanceId ?? input.clientId)
        } while members[newId] != nil || pendingMembers[newId] != nil

        if let instanceId = input.groupInstanceId {
            if let oldId = staticMemberId(instanceId) {
                rejoinStaticMember(
                    input, instanceId: instanceId, oldId: oldId, newId: newId, protocols: protocols, now: now,
                    config: config, into: &actions)
            } else {
                addMemberAndRebalance(
                    input, memberId: newId, protocols: protocols, now: now, config: config, into: &actions)
            }
        } else if input.requireKnownMemberId {
            // KIP-394: hand out the id first and only count the member once it comes back with it, so that a client
            // that lost the response does not leave a ghost member holding up every rebalance. The id expires after
            // the session timeout if it is never used (librdkafka#5569).
            pendingMembers[newId] = now + Int64(input.sessionTimeoutMs)
            actions.append(.joinResponse(input.requestId, .failure(.memberIdRequired, memberId: newId)))
        } else {
            addMemberAndRebalance(
                input, memberId: newId, protocols: protocols, now: now, config: config, into: &actions)
        }
    }

    private mutating func joinCurrentMember(
        _ input: JoinGroupInput, protocols: [GroupProtocol], now: Int64, config: GroupCoordinatorConfig,
        into actions: inout [CoordinatorAction]
    ) {
        let memberId = input.memberId
        if isPendingMember(memberId) {
            guard input.groupInstanceId == nil else {
                // Pending ids are only handed to dynamic members; Kafka treats this as impossible and throws. A client
                // can still send it: forget the id and let it start over.
                pendingMembers[memberId] = nil
                actions.append(.joinResponse(input.requestId, .failure(.unknownMemberId, memberId: memberId)))
                return
            }
            addMemberAndRebalance(
                input, memberId: memberId, protocols: protocols, now: now, config: config, into: &actions)
            return
        }
        if let error = validateCurrentMember(memberId, groupInstanceId: input.groupInstanceId) {
            actions.append(.joinResponse(input.requestId, .failure(error, memberId: memberId)))
            return
        }
        guard var member = members[memberId] else { preconditionFailure("validated member \(memberId) is missing") }
        member.refreshSession(now: now)
        members[memberId] = member

        switch state {
        case .preparingRebalance:
            updateMemberAndRebalance(input, protocols: protocols, now: now, config: config, into: &actions)
        case .completingRebalance:
            if member.matches(protocols) {
                // Probably lost the JoinGroup response: repeat the current generation's answer.
                let view = memberId == leaderId ? currentMemberMetadata() : []
                actions.append(.joinResponse(input.requestId, joinOutcome(for: memberId, members: view)))
            } else {
                updateMemberAndRebalance(input, protocols: protocols, now: now, config: config, into: &actions)
            }
        case .stable:
            if memberId == leaderId || !member.matches(protocols) {
                // A leader rejoining asks for a new assignment (e.g. topic metadata changed); a follower with new
                // metadata needs one too.
                updateMemberAndRebalance(input, protocols: protocols, now: now, config: config, into: &actions)
            } else {
                actions.append(.joinResponse(input.requestId, joinOutcome(for: memberId, members: [])))
            }
        case .empty, .dead:
            preconditionFailure("group \(groupId) has member \(memberId) in state \(state)")
        }
    }

    /// A member with a fresh id joins and the group rebalances (or the running join phase waits for it).
    private mutating func addMemberAndRebalance(
        _ input: JoinGroupInput, memberId: String, protocols: [GroupProtocol], now: Int64,
        config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        let member = Member(
            memberId: memberId, groupInstanceId: input.groupInstanceId, clientId: input.clientId,
            clientHost: input.clientHost, rebalanceTimeoutMs: input.rebalanceTimeoutMs,
            sessionTimeoutMs: input.sessionTimeoutMs, protocolType: input.protocolType, protocols: protocols,
            awaitingJoin: input.requestId, isNew: true, heartbeatDeadline: now + config.newMemberJoinTimeoutMs)
        if state == .preparingRebalance && generationId == 0 {
            newMemberAdded = true
        }
        add(member)
        maybePrepareRebalance(now: now, config: config, into: &actions)
    }

    /// A known member rejoins with (possibly) new metadata and waits for the join phase.
    ///
    /// If it already had a JoinGroup parked (the client gave up on it and retried), Kafka silently replaces the
    /// callback. Here the old request is answered REBALANCE_IN_PROGRESS — a retriable error that makes a client
    /// still listening simply rejoin — so that the broker never holds a request forever.
    private mutating func updateMemberAndRebalance(
        _ input: JoinGroupInput, protocols: [GroupProtocol], now: Int64, config: GroupCoordinatorConfig,
        into actions: inout [CoordinatorAction]
    ) {
        guard var member = members[input.memberId] else { preconditionFailure("updating unknown member") }
        if let previous = member.awaitingJoin {
            actions.append(.joinResponse(previous, .failure(.rebalanceInProgress, memberId: input.memberId)))
        }
        member.protocols = protocols
        member.rebalanceTimeoutMs = input.rebalanceTimeoutMs
        member.sessionTimeoutMs = input.sessionTimeoutMs
        member.awaitingJoin = input.requestId
        members[input.memberId] = member
        maybePrepareRebalance(now: now, config: config, into: &actions)
    }

    /// KIP-345: a known static instance rejoins without a member id (typically after a restart). It takes over the
    /// old member under a new id; in a stable group whose protocol choice does not change it gets the current
    /// generation at once, without a rebalance — the point of static membership.
    private mutating func rejoinStaticMember(
        _ input: JoinGroupInput, instanceId: String, oldId: String, newId: String, protocols: [GroupProtocol],
        now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        let previousLeader = leaderId
        replaceStaticMember(groupInstanceId: instanceId, oldId: oldId, newId: newId, into: &actions)
        guard var member = members[newId] else { preconditionFailure("replaced static member is missing") }
        member.refreshSession(now: now)
        member.protocols = protocols
        member.rebalanceTimeoutMs = input.rebalanceTimeoutMs
        member.sessionTimeoutMs = input.sessionTimeoutMs
        member.awaitingJoin = input.requestId
        members[newId] = member

        switch state {
        case .stable:
            if selectProtocol() == protocolName {
                // The old leader id is returned so that a rejoining leader does not compute an assignment the stable
                // group would never distribute (Kafka before JoinGroup v9's SkipAssignment).
                members[newId]?.awaitingJoin = nil
                let outcome = joinOutcome(for: newId, members: [], leader: previousLeader ?? "")
                actions.append(.joinResponse(input.requestId, outcome))
            } else {
                maybePrepareRebalance(now: now, config: config, into: &actions)
            }
        case .completingRebalance:
            // The leader may already be assigning under the old id: start over.
            prepareRebalance(now: now, config: config, into: &actions)
        case .preparingRebalance:
            break
        case .empty, .dead:
            preconditionFailure("group \(groupId) has static member \(instanceId) in state \(state)")
        }
    }
}

import KafkaProtocol
import NIOCore

/// The rebalance itself: starting it, completing the join phase, distributing the leader's assignment.
extension Group {
    mutating func maybePrepareRebalance(
        now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        if state.canRebalance {
            prepareRebalance(now: now, config: config, into: &actions)
        }
    }

    /// Starts a join phase. Members parked in SyncGroup are told REBALANCE_IN_PROGRESS so they rejoin; members
    /// learn of the rebalance through their next heartbeat.
    ///
    /// An empty group waits the initial delay (Kafka's InitialDelayedJoin) so that consumers started together end up
    /// in one generation; a non-empty group waits until every member rejoined, at most the rebalance timeout.
    mutating func prepareRebalance(now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction])
    {
        if state == .completingRebalance {
            resetAndPropagateAssignmentError(.rebalanceInProgress, now: now, into: &actions)
        }
        pendingSyncMembers.removeAll()
        syncDeadline = nil

        let timeout = rebalanceTimeoutMs
        if state == .empty {
            let delay = max(config.initialRebalanceDelayMs, 0)
            initialJoin = InitialJoin(delayMs: delay, remainingMs: max(timeout - delay, 0))
            newMemberAdded = false
            joinDeadline = now + delay
        } else {
            initialJoin = nil
            joinDeadline = now + timeout
        }
        transition(to: .preparingRebalance)
        maybeCompleteJoin(now: now, into: &actions)
    }

    /// Completes the join phase early once everybody is in. The initial delay is never cut short: its point is to
    /// wait for members not known yet.
    mutating func maybeCompleteJoin(now: Int64, into actions: inout [CoordinatorAction]) {
        guard state == .preparingRebalance, initialJoin == nil, allMembersJoined else { return }
        completeJoin(now: now, into: &actions)
    }

    /// The join-phase timer ran out. An initial delay during which new members arrived is extended by another delay,
    /// as long as the rebalance timeout leaves room; otherwise the join phase completes with whoever rejoined.
    mutating func joinDeadlinePassed(
        now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        precondition(state == .preparingRebalance, "group \(groupId): join deadline in \(state)")
        if var initial = initialJoin, newMemberAdded, initial.remainingMs > 0 {
            let delay = min(max(config.initialRebalanceDelayMs, 0), initial.remainingMs)
            if delay > 0 {
                newMemberAdded = false
                initial.remainingMs = max(initial.remainingMs - initial.delayMs, 0)
                initial.delayMs = delay
                initialJoin = initial
                joinDeadline = now + delay
                return
            }
        }
        completeJoin(now: now, into: &actions)
    }

    /// Kafka's `onCompleteJoin`: drops dynamic members that did not rejoin, opens the next generation and answers
    /// every parked JoinGroup — the leader with all members' metadata, followers with an empty list.
    mutating func completeJoin(now: Int64, into actions: inout [CoordinatorAction]) {
        precondition(state == .preparingRebalance, "group \(groupId): completing a join phase in \(state)")
        for member in orderedMembers where member.awaitingJoin == nil && !member.isStatic {
            drop(member.memberId, into: &actions)
        }
        if !members.isEmpty && !electJoinedLeader() {
            // Only static members that have not rejoined remain. Like Kafka, keep waiting (they may rejoin, or their
            // sessions expire); the floor of 1 ms keeps a zero rebalance timeout from spinning.
            initialJoin = nil
            joinDeadline = now + max(rebalanceTimeoutMs, 1)
            return
        }
        initialJoin = nil
        joinDeadline = nil
        // Generation ids only grow; after Int32.max (billions of rebalances) wrap to 1, never 0 or negative.
        generationId = generationId == .max ? 1 : generationId + 1
        completedRebalances += 1

        if members.isEmpty {
            protocolName = nil
            transition(to: .empty)
            return
        }
        protocolName = selectProtocol()
        transition(to: .completingRebalance)

        let leaderView = currentMemberMetadata()
        for memberId in memberOrder {
            guard var member = members[memberId] else { continue }
            if let request = member.awaitingJoin {
                let outcome = joinOutcome(for: memberId, members: memberId == leaderId ? leaderView : [])
                actions.append(.joinResponse(request, outcome))
                member.awaitingJoin = nil
            }
            member.refreshSession(now: now)
            member.isNew = false
            members[memberId] = member
            pendingSyncMembers.insert(memberId)
        }
        syncDeadline = now + rebalanceTimeoutMs
    }

    /// Keeps the leader if it rejoined, else promotes the first member that did. False if nobody rejoined.
    private mutating func electJoinedLeader() -> Bool {
        guard let leaderId else { return false }
        if members[leaderId]?.awaitingJoin != nil { return true }
        guard let joined = memberOrder.first(where: { members[$0]?.awaitingJoin != nil }) else { return false }
        self.leaderId = joined
        return true
    }

    /// The leader's SyncGroup arrived: every member gets the bytes the leader sent for it (empty if the leader sent
    /// none), the parked SyncGroups are answered and the group is stable.
    mutating func setAndPropagateAssignment(
        _ assignments: [String: ByteBuffer], now: Int64, into actions: inout [CoordinatorAction]
    ) {
        precondition(state == .completingRebalance, "group \(groupId): assignment in \(state)")
        for memberId in memberOrder {
            members[memberId]?.assignment = assignments[memberId] ?? ByteBuffer()
        }
        propagateAssignment(.none, now: now, into: &actions)
        transition(to: .stable)
    }

    /// A new rebalance overtook CompletingRebalance: nobody keeps the unfinished assignment.
    private mutating func resetAndPropagateAssignmentError(
        _ error: ErrorCode, now: Int64, into actions: inout [CoordinatorAction]
    ) {
        for memberId in memberOrder {
            members[memberId]?.assignment = ByteBuffer()
        }
        propagateAssignment(error, now: now, into: &actions)
    }

    /// Answers every parked SyncGroup. Their members were exempt from session expiry while parked, so the session
    /// restarts now.
    private mutating func propagateAssignment(_ error: ErrorCode, now: Int64, into actions: inout [CoordinatorAction]) {
        for memberId in memberOrder {
            guard var member = members[memberId], let request = member.awaitingSync else { continue }
            let outcome =
                error == .none
                ? SyncGroupOutcome(
                    errorCode: .none, protocolType: protocolType, protocolName: protocolName,
                    assignment: member.assignment)
                : .failure(error)
            actions.append(.syncResponse(request, outcome))
            member.awaitingSync = nil
            member.refreshSession(now: now)
            members[memberId] = member
        }
    }

    /// Kafka's `removeMemberAndUpdateGroup`: a member left or expired; the others must rebalance without it (or, in
    /// the join phase, may now all be in).
    mutating func removeMemberAndUpdateGroup(
        _ memberId: String, now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        drop(memberId, into: &actions)
        switch state {
        case .stable, .completingRebalance:
            maybePrepareRebalance(now: now, config: config, into: &actions)
        case .preparingRebalance:
            maybeCompleteJoin(now: now, into: &actions)
        case .empty, .dead:
            break
        }
    }

    /// A pending member (KIP-394) left or expired: it no longer holds up the join phase.
    mutating func removePendingMember(_ memberId: String, now: Int64, into actions: inout [CoordinatorAction]) {
        pendingMembers[memberId] = nil
        maybeCompleteJoin(now: now, into: &actions)
    }

    /// Kafka's pending-sync expiry: members that got their JoinGroup answer but never sent SyncGroup within the
    /// rebalance timeout are removed, and the rest rebalance without them.
    mutating func syncDeadlinePassed(
        now: Int64, config: GroupCoordinatorConfig, into actions: inout [CoordinatorAction]
    ) {
        precondition(state == .completingRebalance || state == .stable, "group \(groupId): sync deadline in \(state)")
        for memberId in memberOrder where pendingSyncMembers.contains(memberId) {
            drop(memberId, into: &actions)
        }
        pendingSyncMembers.removeAll()
        syncDeadline = nil
        prepareRebalance(now: now, config: config, into: &actions)
    }
}

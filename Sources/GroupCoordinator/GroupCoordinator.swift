import KafkaProtocol

/// Kafka's classic consumer-group coordinator as a pure state machine.
///
/// No I/O, clocks or threads: the broker serialises calls (one lock), passes the time in, answers the requests named
/// by the returned actions, persists offsets before calling `storeOffsets`, and calls `tick(now:)` at `nextDeadline`.
/// Protocol errors are `ErrorCode` values; a broken internal invariant traps.
///
/// Static membership (KIP-345) follows Kafka: a known instance rejoining without a member id takes over under a new
/// id and the old id is fenced (FENCED_INSTANCE_ID); static members are not dropped for missing a rebalance (only by
/// their session). JoinGroup v9's SkipAssignment is not modelled: the pre-v9 behaviour (old leader id in the answer)
/// applies.
///
/// Deliberate differences from Kafka: a retried JoinGroup or SyncGroup answers the parked request it replaces with
/// REBALANCE_IN_PROGRESS (Kafka leaves it unanswered); protocol vote ties go to the first member's preference (Kafka:
/// hash order); a member's JoinGroup and SyncGroup always restart its session. Not modelled: `group.max.size`, offset
/// retention, transactional offset commits, coordinator loading/migration errors.
public struct GroupCoordinator: Sendable {
    public let config: GroupCoordinatorConfig
    var groups: [String: Group] = [:]
    /// KIP-848 groups (`GroupCoordinator+ConsumerGroups.swift`); their offsets stay in `groups`.
    var consumerGroups: [String: ConsumerGroup] = [:]
    var memberIds: MemberIDGenerator
    /// Rebalances of groups since removed (``rebalanceCount`` must never go back).
    var removedGroupsRebalances: UInt64 = 0

    /// `memberIds` exists for tests that need predictable member ids.
    public init(config: GroupCoordinatorConfig, memberIds: MemberIDGenerator = .random()) {
        precondition(config.minSessionTimeoutMs <= config.maxSessionTimeoutMs, "min session timeout above max")
        precondition(config.initialRebalanceDelayMs >= 0 && config.newMemberJoinTimeoutMs >= 0, "negative delay")
        self.config = config
        self.memberIds = memberIds
    }

    /// JoinGroup. The answer to `input.requestId` is among the returned actions, or among those of a later call once
    /// the join phase completes.
    public mutating func joinGroup(_ input: JoinGroupInput, now: Int64) -> [CoordinatorAction] {
        func reject(_ error: ErrorCode) -> [CoordinatorAction] {
            [.joinResponse(input.requestId, .failure(error, memberId: input.memberId))]
        }
        guard !input.groupId.isEmpty else { return reject(.invalidGroupId) }
        guard input.sessionTimeoutMs >= config.minSessionTimeoutMs, input.sessionTimeoutMs <= config.maxSessionTimeoutMs
        else { return reject(.invalidSessionTimeout) }

        if let refusal = classicJoinRefusal(groupId: input.groupId) { return reject(refusal) }
        let protocols = ProtocolSelection.deduplicated(input.protocols)
        if groups[input.groupId] == nil {
            // Only a member without an id may create a group; a known id for an unknown group is stale.
            guard input.memberId.isEmpty else { return reject(.unknownMemberId) }
            // Kafka creates the group before validating the protocols; not creating it avoids an empty group
            // nobody asked for.
            guard !input.protocolType.isEmpty, !protocols.isEmpty else { return reject(.inconsistentGroupProtocol) }
            groups[input.groupId] = Group(groupId: input.groupId)
        }
        var actions: [CoordinatorAction] = []
        groups[input.groupId]!.join(
            input, protocols: protocols, now: now, config: config, memberIds: &memberIds, into: &actions)
        groups[input.groupId]!.runDueTimers(now: now, config: config, into: &actions)
        return actions
    }

    /// SyncGroup. Followers (and the leader) wait in CompletingRebalance until the leader's assignment arrives.
    public mutating func syncGroup(_ input: SyncGroupInput, now: Int64) -> [CoordinatorAction] {
        guard !input.groupId.isEmpty else { return [.syncResponse(input.requestId, .failure(.invalidGroupId))] }
        guard groups[input.groupId] != nil else { return [.syncResponse(input.requestId, .failure(.unknownMemberId))] }
        var actions: [CoordinatorAction] = []
        groups[input.groupId]!.sync(input, now: now, config: config, into: &actions)
        groups[input.groupId]!.runDueTimers(now: now, config: config, into: &actions)
        return actions
    }

    /// Heartbeat. NONE while stable or awaiting the assignment, REBALANCE_IN_PROGRESS while members must rejoin.
    public mutating func heartbeat(
        groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32, now: Int64
    ) -> (error: ErrorCode, actions: [CoordinatorAction]) {
        guard !groupId.isEmpty else { return (.invalidGroupId, []) }
        guard groups[groupId] != nil else { return (.unknownMemberId, []) }
        let error = groups[groupId]!.heartbeat(
            memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, now: now)
        var actions: [CoordinatorAction] = []
        groups[groupId]!.runDueTimers(now: now, config: config, into: &actions)
        return (error, actions)
    }

    /// LeaveGroup for one member (v0-2) or a batch (v3+). `memberErrors` has one entry per leaving identity, in
    /// order; for LeaveGroup v0-2 the broker reports the single member error as the top-level error (Kafka does).
    /// An invalid group id fills every entry with INVALID_GROUP_ID.
    public mutating func leaveGroup(
        groupId: String, members: [(memberId: String, groupInstanceId: String?)], now: Int64
    ) -> (error: ErrorCode, memberErrors: [ErrorCode], actions: [CoordinatorAction]) {
        guard !groupId.isEmpty else {
            return (.invalidGroupId, Array(repeating: .invalidGroupId, count: members.count), [])
        }
        guard groups[groupId] != nil else {
            return (.none, Array(repeating: .unknownMemberId, count: members.count), [])
        }
        var actions: [CoordinatorAction] = []
        let errors = groups[groupId]!.leave(members, now: now, config: config, into: &actions)
        groups[groupId]!.runDueTimers(now: now, config: config, into: &actions)
        return (.none, errors, actions)
    }

    /// Decides whether an OffsetCommit may be stored (the broker then persists the offsets and calls
    /// `storeOffsets`). Generation -1 with member id "" is a simple commit, allowed while the group has no members;
    /// it creates the (empty) group if needed, as Kafka does. An unknown group with a generation >= 0 is a stale
    /// member: ILLEGAL_GENERATION. A member commit counts as its heartbeat.
    public mutating func validateOffsetCommit(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?, now: Int64
    ) -> ErrorCode {
        if groups[groupId] == nil {
            guard generationId < 0 else { return .illegalGeneration }
            groups[groupId] = Group(groupId: groupId)
        }
        return groups[groupId]!.validateOffsetCommit(
            memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId, now: now)
    }

    /// Fires every timer due at `now` across all groups: pending-member and session expiry, the end of initial
    /// delays and rebalance timeouts, and sync timeouts.
    public mutating func tick(now: Int64) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        let due = groups.filter { $0.value.nextDeadline.map { $0 <= now } ?? false }.keys.sorted()
        for groupId in due {
            groups[groupId]!.runDueTimers(now: now, config: config, into: &actions)
        }
        expireConsumerGroupMembers(now: now)
        return actions
    }

    /// The earliest time at which `tick(now:)` has work; nil if no timer is running.
    public var nextDeadline: Int64? {
        (groups.values.compactMap(\.nextDeadline) + consumerGroups.values.compactMap(\.nextDeadline)).min()
    }
}

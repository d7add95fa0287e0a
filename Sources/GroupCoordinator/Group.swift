import KafkaProtocol
import NIOCore

/// One consumer group: membership, the rebalance in progress (if any), and committed offsets.
///
/// Request handling lives in extensions (`Group+JoinGroup.swift`, `Group+Requests.swift`), the state transitions in
/// `Rebalance.swift`, the timers in `Timers.swift`. This file holds the data and the membership bookkeeping that
/// keeps it consistent.
struct Group: Sendable {
    let groupId: String
    private(set) var state: GroupState = .empty
    /// Incremented by every completed join phase, including one that leaves the group empty (Kafka does).
    var generationId: Int32 = 0
    /// Join phases completed (generations opened) by this group, for the broker's rebalance count.
    var completedRebalances: UInt64 = 0
    /// Set by the first member; kept while the group is empty (DescribeGroups still reports it).
    var protocolType: String?
    /// The protocol of the current generation; nil while empty.
    var protocolName: String?
    var leaderId: String?
    /// Change membership only through `add`, `drop` and `replaceStaticMember`, which keep the indexes below in step.
    var members: [String: Member] = [:]
    /// Member ids in join order: makes leader choice, vote tie-breaks and member lists deterministic.
    private(set) var memberOrder: [String] = []
    /// KIP-394 ids handed out with MEMBER_ID_REQUIRED and not yet used, with their expiry. Until they join or
    /// expire they hold up the join phase (so a consumer mid-handshake lands in this generation).
    var pendingMembers: [String: Int64] = [:]
    /// KIP-345: group.instance.id → current member id.
    private(set) var staticMembers: [String: String] = [:]
    /// Members that got their JoinGroup answer but have not sent SyncGroup yet; removed at `syncDeadline`.
    var pendingSyncMembers: Set<String> = []
    /// Set while `pendingSyncMembers` is non-empty in CompletingRebalance or Stable.
    var syncDeadline: Int64?
    /// Set exactly while PreparingRebalance: when the join phase completes (or, for an initial delay, is re-checked).
    var joinDeadline: Int64?
    /// Non-nil while the join phase is Kafka's InitialDelayedJoin (the first rebalance of an empty group).
    var initialJoin: InitialJoin?
    /// A member was added during the initial delay: the delay is extended once more when it runs out.
    var newMemberAdded = false
    var offsets: [TopicPartition: CommittedOffset] = [:]
    /// Offsets committed inside open transactions (TxnOffsetCommit), by producer id: invisible to OffsetFetch until
    /// the transaction commits, dropped if it aborts.
    var pendingTransactionalOffsets: [Int64: [TopicPartition: CommittedOffset]] = [:]

    /// Kafka's InitialDelayedJoin parameters: the current delay and how much of the rebalance timeout is left for
    /// extensions.
    struct InitialJoin: Sendable, Equatable {
        var delayMs: Int64
        var remainingMs: Int64
    }

    init(groupId: String) {
        self.groupId = groupId
    }

    var orderedMembers: [Member] {
        memberOrder.map { id in
            guard let member = members[id] else { preconditionFailure("member order lists unknown member \(id)") }
            return member
        }
    }

    func isPendingMember(_ memberId: String) -> Bool {
        pendingMembers[memberId] != nil
    }

    func staticMemberId(_ groupInstanceId: String) -> String? {
        staticMembers[groupInstanceId]
    }

    /// Kafka's `hasAllMembersJoined`: every member has a JoinGroup parked and nobody is mid-handshake.
    var allMembersJoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy { $0.awaitingJoin != nil }
    }

    /// The largest rebalance timeout among the members: how long a rebalance waits for everybody to rejoin.
    var rebalanceTimeoutMs: Int64 {
        members.values.map { Int64(max($0.rebalanceTimeoutMs, 0)) }.max() ?? 0
    }

    mutating func transition(to next: GroupState) {
        precondition(state.canTransition(to: next), "group \(groupId): illegal transition \(state) -> \(next)")
        state = next
    }

    /// Adds a member. The caller has checked `supportsProtocols`, so the group's protocol type matches.
    mutating func add(_ member: Member) {
        let id = member.memberId
        precondition(members[id] == nil, "group \(groupId): member \(id) added twice")
        if members.isEmpty {
            protocolType = member.protocolType
        }
        precondition(protocolType == member.protocolType, "group \(groupId): protocol type mismatch")
        if leaderId == nil {
            leaderId = id
        }
        members[id] = member
        memberOrder.append(id)
        pendingMembers[id] = nil
        if let instanceId = member.groupInstanceId {
            staticMembers[instanceId] = id
        }
    }

    /// Removes a member, first answering whatever it has parked so that no client waits forever. Does not touch the
    /// group state; callers decide whether this starts or completes a rebalance.
    mutating func drop(
        _ memberId: String, joinError: ErrorCode = .unknownMemberId, syncError: ErrorCode = .unknownMemberId,
        into actions: inout [CoordinatorAction]
    ) {
        answerParkedRequests(of: memberId, joinError: joinError, joinMemberId: "", syncError: syncError, into: &actions)
        guard let member = members.removeValue(forKey: memberId) else {
            preconditionFailure("group \(groupId): dropping unknown member \(memberId)")
        }
        memberOrder.removeAll { $0 == memberId }
        if let instanceId = member.groupInstanceId, staticMembers[instanceId] == memberId {
            staticMembers[instanceId] = nil
        }
        if leaderId == memberId {
            leaderId = memberOrder.first
        }
        markSynced(memberId)
    }

    /// KIP-345: the same instance rejoined without its member id. The member keeps its place, assignment and
    /// leadership under `newId`; requests parked under the old id are fenced (a duplicate instance must stop).
    mutating func replaceStaticMember(
        groupInstanceId: String, oldId: String, newId: String, into actions: inout [CoordinatorAction]
    ) {
        answerParkedRequests(
            of: oldId, joinError: .fencedInstanceId, joinMemberId: oldId, syncError: .fencedInstanceId, into: &actions)
        guard var member = members.removeValue(forKey: oldId),
            let position = memberOrder.firstIndex(of: oldId)
        else {
            preconditionFailure("group \(groupId): replacing unknown static member \(oldId)")
        }
        member.memberId = newId
        members[newId] = member
        memberOrder[position] = newId
        staticMembers[groupInstanceId] = newId
        if leaderId == oldId {
            leaderId = newId
        }
        if pendingSyncMembers.remove(oldId) != nil {
            pendingSyncMembers.insert(newId)
        }
    }

    /// The member sent its SyncGroup (or left): it no longer holds the group to the sync deadline.
    mutating func markSynced(_ memberId: String) {
        pendingSyncMembers.remove(memberId)
        if pendingSyncMembers.isEmpty {
            syncDeadline = nil
        }
    }

    private mutating func answerParkedRequests(
        of memberId: String, joinError: ErrorCode, joinMemberId: String, syncError: ErrorCode,
        into actions: inout [CoordinatorAction]
    ) {
        guard var member = members[memberId] else { return }
        if let request = member.awaitingJoin {
            actions.append(.joinResponse(request, .failure(joinError, memberId: joinMemberId)))
            member.awaitingJoin = nil
        }
        if let request = member.awaitingSync {
            actions.append(.syncResponse(request, .failure(syncError)))
            member.awaitingSync = nil
        }
        members[memberId] = member
    }

    /// Kafka's `validateCurrentMember`: a static member must present the instance's current member id (an older
    /// one is a fenced duplicate); any member must exist.
    func validateCurrentMember(_ memberId: String, groupInstanceId: String?) -> ErrorCode? {
        if let groupInstanceId {
            guard let current = staticMembers[groupInstanceId] else { return .unknownMemberId }
            if current != memberId { return .fencedInstanceId }
        }
        return members[memberId] == nil ? .unknownMemberId : nil
    }

    /// The JoinGroup answer for the current generation.
    func joinOutcome(for memberId: String, members: [JoinedMember], leader: String? = nil) -> JoinGroupOutcome {
        JoinGroupOutcome(
            errorCode: .none, generationId: generationId, protocolType: protocolType, protocolName: protocolName,
            leader: leader ?? leaderId ?? "", memberId: memberId, members: members)
    }

    /// What the leader needs to compute the assignment: every member with its metadata for the selected protocol.
    func currentMemberMetadata() -> [JoinedMember] {
        precondition(state == .completingRebalance || state == .stable, "group \(groupId): no generation in \(state)")
        guard let protocolName else { preconditionFailure("group \(groupId): generation without protocol") }
        return orderedMembers.map {
            JoinedMember(
                memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata(for: protocolName))
        }
    }
}

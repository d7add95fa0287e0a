import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// Heartbeat answers and session refresh; LeaveGroup per-member results and their effect on the group.
@Suite struct HeartbeatAndLeaveTests {
    @Test func heartbeatErrors() throws {
        // Goal: Heartbeat reports invalid group id, unknown group or member, and a stale generation.
        var group = StableGroup(members: 1)
        let a = group.memberIds[0]
        func beat(_ groupId: String = "g", _ member: String, _ generation: Int32) -> ErrorCode {
            group.coordinator.heartbeat(
                groupId: groupId, memberId: member, groupInstanceId: nil, generationId: generation, now: 1
            ).error
        }
        #expect(beat("", a, group.generation) == .invalidGroupId)
        #expect(beat("other", a, group.generation) == .unknownMemberId)
        #expect(beat("g", "ghost", group.generation) == .unknownMemberId)
        #expect(beat("g", a, group.generation - 1) == .illegalGeneration)
        #expect(beat("g", a, group.generation) == .none)
    }

    @Test func heartbeatWhileAwaitingTheAssignmentIsFine() throws {
        // Goal: in CompletingRebalance heartbeats of the new generation get NONE (the member waits for its assignment).
        var coordinator = makeCoordinator()
        let a = coordinator.memberId(requestId: 1, now: 0)
        _ = coordinator.joinGroup(join(2, member: a), now: 0)
        #expect(coordinator.state() == .completingRebalance)
        #expect(
            coordinator.heartbeat(groupId: "g", memberId: a, groupInstanceId: nil, generationId: 1, now: 1).error
                == .none)
    }

    @Test func heartbeatRefreshesTheSession() throws {
        // Goal: each heartbeat pushes the member's session deadline, also while a rebalance is in progress.
        var group = StableGroup(members: 2, session: 10_000)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        #expect(group.coordinator.nextDeadline == 10_000)
        _ = group.coordinator.heartbeat(
            groupId: "g", memberId: a, groupInstanceId: nil, generationId: group.generation, now: 4000)
        _ = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: group.generation, now: 6000)
        #expect(group.coordinator.nextDeadline == 14_000)
        _ = group.coordinator.joinGroup(join(1, member: a, client: "c0", rebalance: 60_000), now: 7000)
        let beat = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: group.generation, now: 9000)
        #expect(beat.error == .rebalanceInProgress)
        #expect(group.coordinator.nextDeadline == 19_000)  // b's refreshed session; a waits in JoinGroup
    }

    @Test func leaveOfUnknownGroupReportsEachMember() throws {
        // Goal: LeaveGroup for an unknown group has top-level NONE and UNKNOWN_MEMBER_ID per member (Kafka).
        var coordinator = makeCoordinator()
        let result = coordinator.leaveGroup(groupId: "nope", members: [("a", nil), ("b", "i")], now: 0)
        #expect(result.error == .none && result.memberErrors == [.unknownMemberId, .unknownMemberId])
        #expect(coordinator.leaveGroup(groupId: "", members: [("a", nil)], now: 0).error == .invalidGroupId)
    }

    @Test func leaveBatchReportsPerMemberResults() throws {
        // Goal: a batched LeaveGroup removes known members, forgets pending ones and flags unknown ones, in order.
        var group = StableGroup(members: 2)
        let pending = group.coordinator.memberId(requestId: 1, client: "p", now: 0)
        let result = group.coordinator.leaveGroup(
            groupId: "g", members: [(group.memberIds[1], nil), ("ghost", nil), (pending, nil)], now: 5)
        #expect(result.error == .none)
        #expect(result.memberErrors == [.none, .unknownMemberId, .none])
        #expect(
            group.coordinator.joinGroup(join(2, member: pending, client: "p"), now: 6).join(2)?.errorCode
                == .unknownMemberId)
    }

    @Test func leaveTriggersRebalance() throws {
        // Goal: a member leaving a stable group makes the others rejoin; the survivor gets a generation of its own.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        #expect(group.coordinator.leaveGroup(groupId: "g", members: [(b, nil)], now: 10).memberErrors == [.none])
        #expect(group.coordinator.state() == .preparingRebalance)
        let beat = group.coordinator.heartbeat(
            groupId: "g", memberId: a, groupInstanceId: nil, generationId: group.generation, now: 11)
        #expect(beat.error == .rebalanceInProgress)
        let rejoined = try #require(group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 12).join(1))
        #expect(rejoined.generationId == group.generation + 1 && rejoined.members.map(\.memberId) == [a])
    }

    @Test func leavingCompletesAJoinPhaseWaitingForTheLeaver() throws {
        // Goal: when the only member that had not rejoined leaves, the join phase completes at once for the others.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        #expect(group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 1).isEmpty)
        let result = group.coordinator.leaveGroup(groupId: "g", members: [(b, nil)], now: 2)
        #expect(result.actions.join(1)?.members.map(\.memberId) == [a])
    }

    @Test func leavingWithAParkedJoinAnswersIt() throws {
        // Goal: a member that leaves while its JoinGroup is parked gets that request answered UNKNOWN_MEMBER_ID.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        #expect(
            group.coordinator.joinGroup(join(1, member: b, client: "c1", protocols: [("range", "new")]), now: 1).isEmpty
        )
        let result = group.coordinator.leaveGroup(groupId: "g", members: [(b, nil)], now: 2)
        #expect(result.actions == [.joinResponse(1, .failure(.unknownMemberId, memberId: ""))])
        #expect(
            group.coordinator.joinGroup(join(2, member: a, client: "c0"), now: 3).join(2)?.members.map(\.memberId) == [
                a
            ])
    }

    @Test func expiredMemberWithParkedSyncIsAnswered() throws {
        // Goal: no parked request outlives its member: a leader dying in CompletingRebalance frees the followers.
        var coordinator = makeCoordinator(initialDelay: 1000)
        _ = coordinator.joinGroup(join(1, client: "a", session: 10_000, requireKnownMemberId: false), now: 0)
        _ = coordinator.joinGroup(join(2, client: "b", session: 10_000, requireKnownMemberId: false), now: 0)
        let done = coordinator.tick(now: 1000) + coordinator.tick(now: 2000)  // b extended the delay
        let follower = try #require(done.join(2)).memberId
        #expect(coordinator.syncGroup(sync(3, generation: 1, member: follower), now: 2500).isEmpty)
        // The leader never syncs nor heartbeats: its session ends at 12000, before the 30 s sync timeout.
        #expect(coordinator.nextDeadline == 12_000)
        let actions = coordinator.tick(now: 12_000)
        #expect(actions == [.syncResponse(3, .failure(.rebalanceInProgress))])
    }
}

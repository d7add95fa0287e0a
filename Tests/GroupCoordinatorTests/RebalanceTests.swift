import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// Rebalances: initial delay, members joining and leaving, session and rebalance timeouts.
@Suite struct RebalanceTests {
    @Test func initialDelayCollectsMembersJoiningWithinIt() throws {
        // Goal: with an initial delay, two consumers joining within it end up in one rebalance (generation 1).
        var coordinator = makeCoordinator(initialDelay: 3000)
        let a = coordinator.memberId(requestId: 1, client: "a", now: 0)
        #expect(coordinator.joinGroup(join(2, member: a, client: "a"), now: 0).isEmpty)
        #expect(coordinator.state() == .preparingRebalance)
        #expect(coordinator.nextDeadline == 3000)

        let b = coordinator.memberId(requestId: 3, client: "b", now: 1000)
        #expect(coordinator.joinGroup(join(4, member: b, client: "b"), now: 1000).isEmpty)
        #expect(coordinator.tick(now: 2999).isEmpty)
        // b arrived during the delay: Kafka's InitialDelayedJoin waits one more delay.
        #expect(coordinator.tick(now: 3000).isEmpty)
        #expect(coordinator.nextDeadline == 6000)

        let done = coordinator.tick(now: 6000)
        let leader = try #require(done.join(2))
        let follower = try #require(done.join(4))
        #expect(leader.generationId == 1 && follower.generationId == 1)
        #expect(leader.leader == a && follower.leader == a)
        #expect(leader.members.map(\.memberId) == [a, b])
        #expect(follower.members.isEmpty)
        #expect(coordinator.generation() == 1)
    }

    @Test func initialDelayEndsWithoutNewArrivals() throws {
        // Goal: an initial delay during which nobody else joins completes when it runs out, not earlier.
        var coordinator = makeCoordinator(initialDelay: 3000)
        let a = coordinator.memberId(requestId: 1, now: 0)
        #expect(coordinator.joinGroup(join(2, member: a), now: 0).isEmpty)
        #expect(coordinator.tick(now: 2999).isEmpty)
        #expect(coordinator.tick(now: 3000).join(2)?.generationId == 1)
    }

    @Test func initialDelayIsCappedByTheRebalanceTimeout() throws {
        // Goal: extensions of the initial delay stop at the largest rebalance timeout (Kafka's remainingMs).
        var coordinator = makeCoordinator(initialDelay: 3000)
        let a = coordinator.memberId(requestId: 1, client: "a", now: 0)
        _ = coordinator.joinGroup(join(2, member: a, client: "a", rebalance: 5000), now: 0)
        let b = coordinator.memberId(requestId: 3, client: "b", now: 1000)
        _ = coordinator.joinGroup(join(4, member: b, client: "b", rebalance: 5000), now: 1000)
        #expect(coordinator.tick(now: 3000).isEmpty)
        #expect(coordinator.nextDeadline == 5000)  // extended by min(delay, 5000 - 3000)
        let c = coordinator.memberId(requestId: 5, client: "c", now: 4000)
        _ = coordinator.joinGroup(join(6, member: c, client: "c", rebalance: 5000), now: 4000)
        let done = coordinator.tick(now: 5000)  // no further extension although c arrived
        #expect(Set(done.answered) == [2, 4, 6])
        #expect(done.join(2)?.members.map(\.memberId) == [a, b, c])
    }

    @Test func secondConsumerJoiningStableGroupTriggersRebalance() throws {
        // Goal: a second consumer makes the stable first one rejoin (via heartbeat) and both share generation 2.
        var group = StableGroup(members: 1)
        let a = group.memberIds[0]
        #expect(group.generation == 1)
        let b = group.coordinator.memberId(requestId: 1, client: "b", now: 100)
        #expect(group.coordinator.state() == .stable)  // the handshake alone does not rebalance
        #expect(
            group.coordinator.joinGroup(join(2, member: b, client: "b", protocols: [("range", "sub-b")]), now: 100)
                .isEmpty)
        #expect(group.coordinator.state() == .preparingRebalance)

        let beat = group.coordinator.heartbeat(
            groupId: "g", memberId: a, groupInstanceId: nil, generationId: 1, now: 200)
        #expect(beat.error == .rebalanceInProgress)

        let rejoined = group.coordinator.joinGroup(join(3, member: a, client: "c0"), now: 300)
        let leaderAnswer = try #require(rejoined.join(3))
        let followerAnswer = try #require(rejoined.join(2))
        #expect(leaderAnswer.generationId == 2 && followerAnswer.generationId == 2)
        #expect(leaderAnswer.leader == a && followerAnswer.leader == a)
        #expect(
            leaderAnswer.members == [
                JoinedMember(memberId: a, groupInstanceId: nil, metadata: bytes("sub")),
                JoinedMember(memberId: b, groupInstanceId: nil, metadata: bytes("sub-b")),
            ])
        #expect(followerAnswer.members.isEmpty)

        #expect(group.coordinator.syncGroup(sync(4, generation: 2, member: b), now: 400).isEmpty)
        let synced = group.coordinator.syncGroup(
            sync(5, generation: 2, member: a, assignments: [(a, "t-0"), (b, "t-1")]), now: 500)
        #expect(synced.sync(5)?.assignment == bytes("t-0"))
        #expect(synced.sync(4)?.assignment == bytes("t-1"))
        let after = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: 2, now: 600)
        #expect(after.error == .none)
    }

    @Test func expiredSessionRemovesMemberAndReassigns() throws {
        // Goal: a member that stops heartbeating is removed at its session timeout and the rest rebalance without it.
        var group = StableGroup(members: 2, session: 10_000)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        let generation = group.generation
        for now in [Int64(4000), 8000] {
            let beat = group.coordinator.heartbeat(
                groupId: "g", memberId: a, groupInstanceId: nil, generationId: generation, now: now)
            #expect(beat.error == .none)
        }
        #expect(group.coordinator.nextDeadline == 10_000)  // b's session
        #expect(group.coordinator.tick(now: 9999).isEmpty)
        #expect(group.coordinator.tick(now: 10_000).isEmpty)
        #expect(group.coordinator.state() == .preparingRebalance)

        let beat = group.coordinator.heartbeat(
            groupId: "g", memberId: a, groupInstanceId: nil, generationId: generation, now: 11_000)
        #expect(beat.error == .rebalanceInProgress)
        let rejoined = try #require(group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 11_000).join(1))
        #expect(rejoined.generationId == generation + 1)
        #expect(rejoined.members.map(\.memberId) == [a])
        let gone = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: generation, now: 11_000)
        #expect(gone.error == .unknownMemberId)
    }

    @Test func rebalanceTimeoutRemovesMembersThatDidNotRejoin() throws {
        // Goal: a member that keeps heartbeating but never rejoins is dropped when the rebalance timeout expires.
        var group = StableGroup(members: 2, session: 10_000, rebalance: 30_000)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        let generation = group.generation
        let c = group.coordinator.memberId(requestId: 1, client: "new", now: 1000)
        #expect(group.coordinator.joinGroup(join(2, member: c, client: "new"), now: 1000).isEmpty)
        #expect(group.coordinator.joinGroup(join(3, member: a, client: "c0"), now: 2000).isEmpty)
        var now: Int64 = 1000
        while now < 31_000 {
            let beat = group.coordinator.heartbeat(
                groupId: "g", memberId: b, groupInstanceId: nil, generationId: generation, now: now)
            #expect(beat.error == .rebalanceInProgress)
            #expect(beat.actions.isEmpty)
            now += 3000
        }
        #expect(group.coordinator.nextDeadline == 31_000)  // join started at 1000 with a 30 s rebalance timeout
        let done = group.coordinator.tick(now: 31_000)
        #expect(Set(done.answered) == [2, 3])
        #expect(done.join(3)?.members.map(\.memberId) == [a, c])
        #expect(done.join(2)?.generationId == generation + 1)
        let dropped = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: generation, now: 31_001)
        #expect(dropped.error == .unknownMemberId)
    }

    @Test func membersWaitingInJoinAreNotExpiredBySession() throws {
        // Goal: a member parked in JoinGroup cannot heartbeat, so its session does not expire during a long rebalance.
        var group = StableGroup(members: 2, session: 10_000, rebalance: 60_000)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        let generation = group.generation
        #expect(group.coordinator.joinGroup(join(1, member: a, client: "c0", rebalance: 60_000), now: 1000).isEmpty)
        var now: Int64 = 1000
        while now < 61_000 {
            _ = group.coordinator.heartbeat(
                groupId: "g", memberId: b, groupInstanceId: nil, generationId: generation, now: now)
            #expect(group.coordinator.tick(now: now).isEmpty)
            now += 5000
        }
        let done = group.coordinator.tick(now: 61_000)
        #expect(done.join(1)?.members.map(\.memberId) == [a])
    }

    @Test func orphanedPendingMemberDoesNotStallTheGroup() throws {
        // Goal: librdkafka#5569: an unused MEMBER_ID_REQUIRED id holds the join phase only until its session ends.
        var group = StableGroup(members: 1)
        let a = group.memberIds[0]
        let orphan = group.coordinator.memberId(requestId: 1, client: "b", session: 10_000, now: 0)
        let used = group.coordinator.memberId(requestId: 2, client: "b", session: 10_000, now: 0)
        #expect(orphan != used)
        #expect(group.coordinator.joinGroup(join(3, member: used, client: "b"), now: 0).isEmpty)
        // The join phase waits for the orphan.
        #expect(group.coordinator.joinGroup(join(4, member: a, client: "c0"), now: 100).isEmpty)
        #expect(group.coordinator.nextDeadline == 10_000)
        let done = group.coordinator.tick(now: 10_000)
        #expect(Set(done.answered) == [3, 4])
        #expect(done.join(4)?.members.map(\.memberId) == [a, used])
        #expect(
            group.coordinator.joinGroup(join(5, member: orphan, client: "b"), now: 10_001).join(5)?.errorCode
                == .unknownMemberId)
    }

    @Test func pendingMemberExpiresAfterItsSessionTimeout() throws {
        // Goal: a pending member id that is never used is forgotten after its session timeout.
        var coordinator = makeCoordinator()
        let id = coordinator.memberId(requestId: 1, session: 10_000, now: 0)
        #expect(coordinator.nextDeadline == 10_000)
        #expect(coordinator.tick(now: 9999).isEmpty)
        #expect(coordinator.tick(now: 10_000).isEmpty)
        #expect(coordinator.nextDeadline == nil)
        #expect(coordinator.joinGroup(join(2, member: id), now: 10_001).join(2)?.errorCode == .unknownMemberId)
    }

    @Test func newMemberThatNeverCompletesJoinIsDropped() throws {
        // Goal: a new member parked in a rebalance longer than the new-member join timeout is answered and removed.
        var coordinator = GroupCoordinator(
            config: GroupCoordinatorConfig(initialRebalanceDelayMs: 0, newMemberJoinTimeoutMs: 20_000),
            memberIds: MemberIDGenerator(seed: 1))
        let a = coordinator.memberId(requestId: 1, client: "a", now: 0)
        let first = try #require(
            coordinator.joinGroup(join(2, member: a, client: "a", rebalance: 600_000), now: 0).join(2))
        _ = coordinator.syncGroup(sync(3, generation: first.generationId, member: a), now: 0)
        let c = coordinator.memberId(requestId: 4, client: "late", now: 1000)
        #expect(coordinator.joinGroup(join(5, member: c, client: "late"), now: 1000).isEmpty)
        var now: Int64 = 1000
        while now < 21_000 {
            _ = coordinator.heartbeat(
                groupId: "g", memberId: a, groupInstanceId: nil, generationId: first.generationId, now: now)
            now += 4000
        }
        let expired = coordinator.tick(now: 21_000)
        #expect(expired == [.joinResponse(5, .failure(.unknownMemberId, memberId: ""))])
        #expect(coordinator.state() == .preparingRebalance)  // a still has to rejoin
    }

    @Test func rebalanceStartedDuringSyncAnswersParkedSyncs() throws {
        // Goal: members parked in SyncGroup get REBALANCE_IN_PROGRESS when a new rebalance overtakes the sync phase.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        _ = group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 0)
        let joined = group.coordinator.joinGroup(join(2, member: b, client: "c1"), now: 0)
        let generation = try #require(joined.join(2)).generationId
        #expect(group.coordinator.syncGroup(sync(3, generation: generation, member: b), now: 1).isEmpty)

        let c = group.coordinator.memberId(requestId: 4, client: "c", now: 2)
        let actions = group.coordinator.joinGroup(join(5, member: c, client: "c"), now: 2)
        #expect(actions == [.syncResponse(3, .failure(.rebalanceInProgress))])
        #expect(group.coordinator.state() == .preparingRebalance)
    }

    @Test func followerThatNeverSyncsIsRemovedAfterTheRebalanceTimeout() throws {
        // Goal: a member that got its JoinGroup answer but never sends SyncGroup is dropped at the rebalance timeout.
        var group = StableGroup(members: 2, rebalance: 30_000)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        _ = group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 1000)
        let joined = group.coordinator.joinGroup(join(2, member: b, client: "c1"), now: 1000)
        let generation = try #require(joined.join(1)).generationId
        let leaderSync = group.coordinator.syncGroup(sync(3, generation: generation, member: a), now: 2000)
        #expect(leaderSync.sync(3)?.errorCode == ErrorCode.none)
        #expect(group.coordinator.state() == .stable)
        for now in stride(from: Int64(5000), to: 31_000, by: 5000) {
            for member in [a, b] {
                let beat = group.coordinator.heartbeat(
                    groupId: "g", memberId: member, groupInstanceId: nil, generationId: generation, now: now)
                #expect(beat.error == .none)
            }
        }
        #expect(group.coordinator.nextDeadline == 31_000)
        #expect(group.coordinator.tick(now: 31_000).isEmpty)
        #expect(group.coordinator.state() == .preparingRebalance)
        let beat = group.coordinator.heartbeat(
            groupId: "g", memberId: b, groupInstanceId: nil, generationId: generation, now: 31_001)
        #expect(beat.error == .unknownMemberId)
    }

    @Test func lastMemberLeavingEmptiesTheGroupAndBumpsTheGeneration() throws {
        // Goal: when the last member leaves the group becomes Empty and the generation still increments (Kafka).
        var group = StableGroup(members: 1)
        let result = group.coordinator.leaveGroup(groupId: "g", members: [(group.memberIds[0], nil)], now: 10)
        #expect(result.error == .none && result.memberErrors == [.none] && result.actions.isEmpty)
        #expect(group.coordinator.state() == .empty)
        #expect(group.coordinator.generation() == group.generation + 1)
        #expect(group.coordinator.nextDeadline == nil)
    }

    @Test func emptiedGroupRestartsWithAnInitialDelay() throws {
        // Goal: a group that became Empty waits the initial delay again when members return, with a new generation.
        var coordinator = makeCoordinator(initialDelay: 1000)
        let a = coordinator.memberId(requestId: 1, now: 0)
        _ = coordinator.joinGroup(join(2, member: a), now: 0)
        let first = try #require(coordinator.tick(now: 1000).join(2))
        _ = coordinator.leaveGroup(groupId: "g", members: [(a, nil)], now: 1100)
        let b = coordinator.memberId(requestId: 3, now: 2000)
        #expect(coordinator.joinGroup(join(4, member: b), now: 2000).isEmpty)
        #expect(coordinator.tick(now: 3000).join(4)?.generationId == first.generationId + 2)
    }
}

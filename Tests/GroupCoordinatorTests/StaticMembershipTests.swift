import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// KIP-345 static membership: instance ids survive restarts without rebalancing; stale ids are fenced.
@Suite struct StaticMembershipTests {
    /// A stable group of static members "i0", "i1" (joined without handshake, as Kafka does for static members).
    func staticGroup() throws -> (GroupCoordinator, ids: [String], generation: Int32) {
        var coordinator = makeCoordinator(initialDelay: 100)
        _ = coordinator.joinGroup(join(1, instance: "i0", client: "c0"), now: 0)
        _ = coordinator.joinGroup(join(2, instance: "i1", client: "c1"), now: 0)
        let done = coordinator.tick(now: 100) + coordinator.tick(now: 200)  // i1 extended the delay
        let leader = try #require(done.join(1))
        let follower = try #require(done.join(2))
        _ = coordinator.syncGroup(
            sync(3, generation: leader.generationId, member: follower.memberId, instance: "i1"), now: 200)
        let synced = coordinator.syncGroup(
            sync(
                4, generation: leader.generationId, member: leader.memberId, instance: "i0",
                assignments: [(leader.memberId, "x0"), (follower.memberId, "x1")]), now: 200)
        #expect(synced.count == 2)
        return (coordinator, [leader.memberId, follower.memberId], leader.generationId)
    }

    @Test func staticMembersJoinWithoutHandshake() throws {
        // Goal: a JoinGroup with a group instance id gets a `<instanceId>-<uuid>` member id without MEMBER_ID_REQUIRED.
        let (coordinator, ids, generation) = try staticGroup()
        #expect(generation == 1)
        #expect(ids[0].hasPrefix("i0-") && ids[1].hasPrefix("i1-"))
        #expect(coordinator.describeGroup("g").members.map(\.groupInstanceId) == ["i0", "i1"])
    }

    @Test func restartedStaticMemberTakesOverWithoutRebalance() throws {
        // Goal: a known instance rejoining without member id gets a new id and the generation; the old id is fenced.
        var (coordinator, ids, generation) = try staticGroup()
        let rejoin = try #require(coordinator.joinGroup(join(10, instance: "i1", client: "c1"), now: 300).join(10))
        #expect(rejoin.errorCode == .none && rejoin.generationId == generation && rejoin.members.isEmpty)
        #expect(rejoin.memberId != ids[1] && rejoin.memberId.hasPrefix("i1-"))
        #expect(coordinator.state() == .stable)

        let stale = coordinator.heartbeat(
            groupId: "g", memberId: ids[1], groupInstanceId: "i1", generationId: generation, now: 301)
        #expect(stale.error == .fencedInstanceId)
        let fresh = coordinator.heartbeat(
            groupId: "g", memberId: rejoin.memberId, groupInstanceId: "i1", generationId: generation, now: 301)
        #expect(fresh.error == .none)
        let assignment = coordinator.syncGroup(
            sync(11, generation: generation, member: rejoin.memberId, instance: "i1"), now: 302)
        #expect(assignment.sync(11)?.assignment == bytes("x1"))
    }

    @Test func restartedStaticLeaderIsToldTheOldLeaderId() throws {
        // Goal: a rejoining static leader gets the old leader id back so it does not compute an unused assignment.
        var (coordinator, ids, _) = try staticGroup()
        let rejoin = try #require(coordinator.joinGroup(join(10, instance: "i0", client: "c0"), now: 300).join(10))
        #expect(rejoin.leader == ids[0] && rejoin.memberId != ids[0])
        #expect(coordinator.describeGroup("g").members.first?.memberId == rejoin.memberId)
    }

    @Test func staleMemberIdOfStaticInstanceIsFenced() throws {
        // Goal: JoinGroup/LeaveGroup with an instance id but not its current member id get FENCED_INSTANCE_ID.
        var (coordinator, ids, _) = try staticGroup()
        let join = coordinator.joinGroup(join(10, member: ids[0], instance: "i1", client: "c1"), now: 300)
        #expect(join.join(10) == .failure(.fencedInstanceId, memberId: ids[0]))
        let leave = coordinator.leaveGroup(groupId: "g", members: [(ids[0], "i1"), ("", "unknown")], now: 301)
        #expect(leave.memberErrors == [.fencedInstanceId, .unknownMemberId])
    }

    @Test func staticMemberCanBeRemovedByInstanceId() throws {
        // Goal: LeaveGroup with member id "" and an instance id removes that static member and rebalances.
        var (coordinator, _, _) = try staticGroup()
        let leave = coordinator.leaveGroup(groupId: "g", members: [("", "i1")], now: 300)
        #expect(leave.memberErrors == [.none])
        #expect(coordinator.state() == .preparingRebalance)
        #expect(coordinator.describeGroup("g").members.map(\.groupInstanceId) == ["i0"])
    }

    @Test func staticMemberMissingARebalanceStaysInTheGroup() throws {
        // Goal: unlike dynamic members, a static member that misses a rebalance is kept (only its session removes it).
        var (coordinator, ids, generation) = try staticGroup()
        _ = coordinator.joinGroup(
            join(10, member: ids[1], instance: "i1", client: "c1", protocols: [("range", "v2")]), now: 300)
        for now in stride(from: Int64(1000), through: 30_000, by: 3000) {
            _ = coordinator.heartbeat(
                groupId: "g", memberId: ids[0], groupInstanceId: "i0", generationId: generation, now: now)
        }
        let done = coordinator.tick(now: 30_300)
        let answer = try #require(done.join(10))
        #expect(answer.generationId == generation + 1)
        #expect(answer.leader == ids[1])  // the old leader did not rejoin, so a member that did leads
        #expect(answer.members.map(\.memberId) == [ids[0], ids[1]])
    }
}

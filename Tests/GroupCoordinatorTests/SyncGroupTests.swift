import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// SyncGroup: parking until the leader's assignment, exact assignment bytes, and errors.
@Suite struct SyncGroupTests {
    /// `count` members (v0-3 joins, no handshake) after one rebalance: CompletingRebalance, generation 1, at time 2000
    /// (the second member extends the initial delay once).
    func completingGroup(_ count: Int = 2) throws -> (GroupCoordinator, [String], leader: String) {
        var coordinator = makeCoordinator(initialDelay: 1000)
        var requests: [RequestID] = []
        for index in 0..<count {
            let request = RequestID(index + 1)
            requests.append(request)
            _ = coordinator.joinGroup(join(request, client: "c\(index)", requireKnownMemberId: false), now: 0)
        }
        let done = coordinator.tick(now: 1000) + coordinator.tick(now: 2000)
        let ids = try requests.map { try #require(done.join($0)).memberId }
        return (coordinator, ids, try #require(done.join(1)).leader)
    }

    @Test func followersWaitForTheLeaderAndReceiveItsExactBytes() throws {
        // Goal: followers' SyncGroups park until the leader's arrives; each gets exactly the bytes sent for it.
        var (coordinator, ids, leader) = try completingGroup(2)
        let follower = ids[1]
        #expect(leader == ids[0])
        #expect(coordinator.syncGroup(sync(10, generation: 1, member: follower), now: 2100).isEmpty)
        let assignment = ByteBuffer(bytes: [
            0, 0, 0, 0, 0, 1, 0, 5, 0x74, 0x6F, 0x70, 0x69, 0x63, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
        ])
        var input = sync(11, generation: 1, member: leader)
        input.assignments = [(leader, bytes("mine")), (follower, assignment)]
        let actions = coordinator.syncGroup(input, now: 2200)
        #expect(actions.answered == [11, 10])
        #expect(
            actions.sync(10)
                == SyncGroupOutcome(
                    errorCode: .none, protocolType: "consumer", protocolName: "range", assignment: assignment))
        #expect(actions.sync(11)?.assignment == bytes("mine"))
        #expect(coordinator.state() == .stable)
    }

    @Test func membersTheLeaderOmittedGetEmptyAssignments() throws {
        // Goal: a member the leader sent nothing for gets an empty assignment (not an error); unknown ids are ignored.
        var (coordinator, ids, leader) = try completingGroup(3)
        _ = coordinator.syncGroup(sync(10, generation: 1, member: ids[2]), now: 2100)
        let actions = coordinator.syncGroup(
            sync(11, generation: 1, member: leader, assignments: [(ids[1], "b"), ("stranger", "x")]), now: 2200)
        #expect(
            actions.sync(10)
                == SyncGroupOutcome(
                    errorCode: .none, protocolType: "consumer", protocolName: "range", assignment: ByteBuffer()))
        #expect(actions.sync(11)?.assignment == ByteBuffer())
        let late = coordinator.syncGroup(sync(12, generation: 1, member: ids[1]), now: 2300)
        #expect(late.sync(12)?.assignment == bytes("b"))  // Stable: answered at once with the stored assignment
    }

    @Test func syncValidationErrors() throws {
        // Goal: SyncGroup reports invalid group id, unknown group/member, wrong generation and protocol mismatches.
        var (coordinator, ids, leader) = try completingGroup(1)
        func error(_ input: SyncGroupInput) -> ErrorCode? {
            coordinator.syncGroup(input, now: 2100).sync(input.requestId)?.errorCode
        }
        #expect(error(sync(1, group: "", generation: 1, member: leader)) == .invalidGroupId)
        #expect(error(sync(2, group: "nope", generation: 1, member: leader)) == .unknownMemberId)
        #expect(error(sync(3, generation: 1, member: "ghost")) == .unknownMemberId)
        #expect(error(sync(4, generation: 2, member: leader)) == .illegalGeneration)
        #expect(error(sync(5, generation: 1, member: leader, type: "connect")) == .inconsistentGroupProtocol)
        #expect(
            error(sync(6, generation: 1, member: leader, type: "consumer", name: "roundrobin"))
                == .inconsistentGroupProtocol)
        #expect(error(sync(7, generation: 1, member: leader, type: "consumer", name: "range")) == ErrorCode.none)
        #expect(ids == [leader])
    }

    @Test func syncDuringPreparingRebalanceAsksToRejoin() throws {
        // Goal: a SyncGroup arriving while the group collects JoinGroups gets REBALANCE_IN_PROGRESS at once.
        var group = StableGroup(members: 2)
        _ = group.coordinator.joinGroup(join(1, member: group.memberIds[0], client: "c0"), now: 1)
        let answer = group.coordinator.syncGroup(
            sync(2, generation: group.generation, member: group.memberIds[1]), now: 2)
        #expect(answer == [.syncResponse(2, .failure(.rebalanceInProgress))])
    }

    @Test func stableGroupAnswersSyncAtOnce() throws {
        // Goal: in Stable a SyncGroup is answered immediately with the member's current assignment.
        var group = StableGroup(members: 2)
        let answer = group.coordinator.syncGroup(
            sync(1, generation: group.generation, member: group.memberIds[1]), now: 5)
        #expect(
            answer.sync(1)
                == SyncGroupOutcome(
                    errorCode: .none, protocolType: "consumer", protocolName: "range", assignment: bytes("a1")))
    }

    @Test func retriedSyncAnswersTheParkedOne() throws {
        // Goal: a second SyncGroup from a parked member answers the first with REBALANCE_IN_PROGRESS, never drops it.
        var (coordinator, ids, _) = try completingGroup(2)
        #expect(coordinator.syncGroup(sync(10, generation: 1, member: ids[1]), now: 2100).isEmpty)
        #expect(
            coordinator.syncGroup(sync(11, generation: 1, member: ids[1]), now: 2200) == [
                .syncResponse(10, .failure(.rebalanceInProgress))
            ])
        let done = coordinator.syncGroup(
            sync(12, generation: 1, member: ids[0], assignments: [(ids[1], "x")]), now: 2300)
        #expect(done.sync(11)?.assignment == bytes("x"))
    }
}

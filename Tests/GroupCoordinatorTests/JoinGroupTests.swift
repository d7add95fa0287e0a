import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// JoinGroup validation, the KIP-394 handshake and the answers to known members.
@Suite struct JoinGroupTests {
    @Test func emptyGroupIdIsInvalid() throws {
        // Goal: JoinGroup without a group id fails at once with INVALID_GROUP_ID and Kafka's error shape.
        var coordinator = makeCoordinator()
        let actions = coordinator.joinGroup(join(1, group: ""), now: 0)
        #expect(actions == [.joinResponse(1, .failure(.invalidGroupId, memberId: ""))])
        #expect(actions.join(1)?.generationId == -1 && actions.join(1)?.leader == "")
        #expect(coordinator.listGroups(statesFilter: []).isEmpty)
    }

    @Test func sessionTimeoutOutsideBoundsIsInvalid() throws {
        // Goal: session timeouts below the minimum or above the maximum get INVALID_SESSION_TIMEOUT, echoing the id.
        var coordinator = makeCoordinator(minSession: 6000, maxSession: 60_000)
        #expect(coordinator.joinGroup(join(1, session: 5999), now: 0).join(1)?.errorCode == .invalidSessionTimeout)
        let tooLong = coordinator.joinGroup(join(2, member: "m", session: 60_001), now: 0).join(2)
        #expect(tooLong == .failure(.invalidSessionTimeout, memberId: "m"))
        #expect(coordinator.joinGroup(join(3, session: 6000), now: 0).join(3)?.errorCode == .memberIdRequired)
        #expect(coordinator.joinGroup(join(4, session: 60_000), now: 0).join(4)?.errorCode == .memberIdRequired)
    }

    @Test func emptyProtocolTypeOrNoProtocolsIsInconsistent() throws {
        // Goal: a JoinGroup without protocol type or without protocols is refused and creates no group.
        var coordinator = makeCoordinator()
        #expect(coordinator.joinGroup(join(1, type: ""), now: 0).join(1)?.errorCode == .inconsistentGroupProtocol)
        #expect(coordinator.joinGroup(join(2, protocols: []), now: 0).join(2)?.errorCode == .inconsistentGroupProtocol)
        #expect(coordinator.listGroups(statesFilter: []).isEmpty)
    }

    @Test func differentProtocolTypeIsInconsistent() throws {
        // Goal: joining a non-empty group with another protocol type gets INCONSISTENT_GROUP_PROTOCOL.
        var group = StableGroup(members: 1)
        let outcome = group.coordinator.joinGroup(join(1, type: "connect"), now: 0).join(1)
        #expect(outcome == .failure(.inconsistentGroupProtocol, memberId: ""))
    }

    @Test func noSharedProtocolIsInconsistent() throws {
        // Goal: a member sharing no protocol name with the group is refused; one sharing any name is accepted.
        var group = StableGroup(members: 1)
        let refused = group.coordinator.joinGroup(join(1, protocols: [("roundrobin", "x")]), now: 0).join(1)
        #expect(refused?.errorCode == .inconsistentGroupProtocol)
        let accepted = group.coordinator.joinGroup(join(2, protocols: [("roundrobin", "x"), ("range", "y")]), now: 0)
        #expect(accepted.join(2)?.errorCode == .memberIdRequired)
    }

    @Test func unknownMemberIdIsRejected() throws {
        // Goal: a non-empty member id unknown to the group (or for an unknown group) gets UNKNOWN_MEMBER_ID at once.
        var group = StableGroup(members: 1)
        let inKnownGroup = group.coordinator.joinGroup(join(1, member: "ghost"), now: 0).join(1)
        #expect(inKnownGroup == .failure(.unknownMemberId, memberId: "ghost"))
        let inUnknownGroup = group.coordinator.joinGroup(join(2, group: "other", member: "ghost"), now: 0).join(2)
        #expect(inUnknownGroup == .failure(.unknownMemberId, memberId: "ghost"))
        #expect(group.coordinator.describeGroup("other").state == "Dead")
    }

    @Test func memberIdRequiredHandshake() throws {
        // Goal: KIP-394 — JoinGroup without id gets MEMBER_ID_REQUIRED and `<clientId>-<uuid>`; that id then joins.
        var coordinator = makeCoordinator()
        let first = coordinator.joinGroup(join(1, client: "rdkafka"), now: 0)
        let required = try #require(first.join(1))
        #expect(required.errorCode == .memberIdRequired)
        #expect(required.generationId == -1 && required.leader == "" && required.members.isEmpty)
        #expect(required.memberId.hasPrefix("rdkafka-") && required.memberId.count == "rdkafka-".count + 36)
        #expect(coordinator.state() == .empty)

        let second = coordinator.joinGroup(join(2, member: required.memberId, client: "rdkafka"), now: 10)
        let joined = try #require(second.join(2))
        #expect(joined.errorCode == .none && joined.memberId == required.memberId)
    }

    @Test func singleConsumerWithoutInitialDelayIsAssignedAtOnce() throws {
        // Goal: with initial delay 0 a lone consumer leads generation 1 at once and gets its assignment from SyncGroup.
        var coordinator = makeCoordinator(initialDelay: 0)
        let id = coordinator.memberId(requestId: 1, now: 0)
        let joined = try #require(coordinator.joinGroup(join(2, member: id), now: 0).join(2))
        #expect(joined.errorCode == .none)
        #expect(joined.generationId == 1)
        #expect(joined.leader == id && joined.memberId == id)
        #expect(joined.protocolType == "consumer" && joined.protocolName == "range")
        #expect(joined.members == [JoinedMember(memberId: id, groupInstanceId: nil, metadata: bytes("sub"))])
        #expect(coordinator.state() == .completingRebalance)

        let synced = coordinator.syncGroup(sync(3, generation: 1, member: id, assignments: [(id, "p0,p1")]), now: 5)
        #expect(
            synced == [
                .syncResponse(
                    3,
                    SyncGroupOutcome(
                        errorCode: .none, protocolType: "consumer", protocolName: "range", assignment: bytes("p0,p1")))
            ])
        #expect(coordinator.state() == .stable)
    }

    @Test func oldJoinGroupVersionsJoinWithoutHandshake() throws {
        // Goal: JoinGroup v0-3 (requireKnownMemberId false) adds the member directly under a generated id.
        var coordinator = makeCoordinator()
        let outcome = try #require(
            coordinator.joinGroup(join(1, client: "old", requireKnownMemberId: false), now: 0).join(1))
        #expect(outcome.errorCode == .none && outcome.generationId == 1)
        #expect(outcome.memberId.hasPrefix("old-") && outcome.leader == outcome.memberId)
    }

    @Test func repeatedProtocolNamesCountOnce() throws {
        // Goal: a protocol listed twice keeps its first metadata and does not distort the group's choice.
        var coordinator = makeCoordinator()
        let id = coordinator.memberId(requestId: 1, now: 0)
        let outcome = coordinator.joinGroup(
            join(2, member: id, protocols: [("range", "first"), ("range", "second")]), now: 0)
        #expect(outcome.join(2)?.members.first?.metadata == bytes("first"))
    }

    @Test func knownMemberRejoiningDuringCompletingRebalanceGetsCurrentGeneration() throws {
        // Goal: in CompletingRebalance an unchanged rejoin repeats the current answer; changed metadata rebalances.
        var coordinator = makeCoordinator()
        let id = coordinator.memberId(requestId: 1, now: 0)
        let first = try #require(coordinator.joinGroup(join(2, member: id), now: 0).join(2))
        let again = try #require(coordinator.joinGroup(join(3, member: id), now: 1).join(3))
        #expect(again == first)
        #expect(coordinator.state() == .completingRebalance)

        let changed = coordinator.joinGroup(join(4, member: id, protocols: [("range", "new")]), now: 2)
        let outcome = try #require(changed.join(4))
        #expect(outcome.generationId == 2 && outcome.members.first?.metadata == bytes("new"))
    }

    @Test func followerRejoiningStableGroupWithSameMetadataDoesNotRebalance() throws {
        // Goal: in Stable an unchanged follower rejoin is answered at once; changed metadata starts a rebalance.
        var group = StableGroup(members: 2)
        let follower = group.memberIds.first { $0 != group.leader }!
        let index = group.memberIds.firstIndex(of: follower)!
        let same = try #require(
            group.coordinator.joinGroup(join(1, member: follower, client: "c\(index)"), now: 1).join(1))
        #expect(same.errorCode == .none && same.generationId == group.generation && same.members.isEmpty)
        #expect(same.leader == group.leader)
        #expect(group.coordinator.state() == .stable)

        let changed = group.coordinator.joinGroup(join(2, member: follower, protocols: [("range", "v2")]), now: 2)
        #expect(changed.isEmpty)
        #expect(group.coordinator.state() == .preparingRebalance)
    }

    @Test func leaderRejoiningStableGroupRebalances() throws {
        // Goal: the leader's JoinGroup in Stable forces a rebalance (to reassign); alone, it completes at once.
        var group = StableGroup(members: 1)
        let outcome = try #require(
            group.coordinator.joinGroup(join(1, member: group.leader, client: "c0"), now: 1).join(1))
        #expect(outcome.generationId == group.generation + 1)
        #expect(outcome.members.map(\.memberId) == [group.leader])
    }

    @Test func duplicateJoinWhileParkedAnswersTheOldRequest() throws {
        // Goal: a second JoinGroup from a parked member answers the first with REBALANCE_IN_PROGRESS, never drops it.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        #expect(group.coordinator.joinGroup(join(1, member: a), now: 1).isEmpty)
        let retried = group.coordinator.joinGroup(join(2, member: a), now: 2)
        #expect(retried == [.joinResponse(1, .failure(.rebalanceInProgress, memberId: a))])
        let completed = group.coordinator.joinGroup(join(3, member: b), now: 3)
        #expect(Set(completed.answered) == [2, 3])
        #expect(completed.join(2)?.errorCode == ErrorCode.none)
    }
}

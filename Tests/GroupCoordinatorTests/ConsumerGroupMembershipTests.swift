import KafkaProtocol
import Testing

@testable import GroupCoordinator

/// Consumer groups: static members, timers, offsets, and living beside classic groups.
@Suite struct ConsumerGroupMembershipTests {
    @Test func staticMemberComesBackToItsPartitions() {
        // Goal: a static member leaving with -2 keeps its partitions; rejoining under a new id gets them back with
        // no rebalance; a second instance with the same id is refused while the first is there.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 4)
        var join1 = joinHeartbeat("s1", instance: "i1")
        var outcome = coordinator.consumerGroupHeartbeat(join1, topics: topics, now: 0)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m2"), topics: topics, now: 0)
        outcome = coordinator.consumerGroupHeartbeat(heartbeat("s1", epoch: 1, instance: "i1"), topics: topics, now: 0)
        let kept = outcome.assignment!
        _ = coordinator.consumerGroupHeartbeat(heartbeat("s1", epoch: 1, owned: kept, instance: "i1"), topics: topics, now: 0)
        let epochBefore = coordinator.describeConsumerGroup("g", topics: topics).groupEpoch

        #expect(coordinator.consumerGroupHeartbeat(joinHeartbeat("s2", instance: "i1"), topics: topics, now: 0).errorCode
            == .unreleasedInstanceId)
        let away = coordinator.consumerGroupHeartbeat(heartbeat("s1", epoch: -2, instance: "i1"), topics: topics, now: 0)
        #expect(away.errorCode == .none && away.memberEpoch == -2)
        join1.memberId = "s1-again"
        let back = coordinator.consumerGroupHeartbeat(join1, topics: topics, now: 100)
        #expect(back.errorCode == .none && back.memberId == "s1-again" && back.assignment == kept)
        #expect(coordinator.describeConsumerGroup("g", topics: topics).groupEpoch == epochBefore)
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("s1", epoch: 2, instance: "i1"), topics: topics, now: 100)
            .errorCode == .fencedInstanceId)
    }

    @Test func staticMemberThatStaysAwayIsRemovedAfterItsSession() {
        // Goal: after a -2 leave the partitions stay reserved for one session timeout, then move.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("s1", instance: "i1"), topics: topics, now: 0)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m2"), topics: topics, now: 0)
        _ = coordinator.consumerGroupHeartbeat(heartbeat("s1", epoch: -2, instance: "i1"), topics: topics, now: 1_000)
        let waiting = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 2_000)
        #expect(waiting.assignment == nil, "s1's partitions are held for it")
        _ = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 40_000)
        _ = coordinator.tick(now: 46_000)
        let moved = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 46_000)
        #expect(moved.memberEpoch == 3 && moved.assignment == onA(0, 1))
    }

    @Test func sessionTimeoutRemovesTheMember() {
        // Goal: a member silent for group.consumer.session.timeout.ms is removed; the group epoch moves on.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: topics, now: 0)
        #expect(coordinator.nextDeadline == 45_000)
        _ = coordinator.tick(now: 44_999)
        #expect(coordinator.describeConsumerGroup("g", topics: topics).members.count == 1)
        _ = coordinator.tick(now: 45_000)
        let described = coordinator.describeConsumerGroup("g", topics: topics)
        #expect(described.members.isEmpty && described.state == "Empty" && described.groupEpoch == 2)
        #expect(coordinator.nextDeadline == nil)
    }

    @Test func memberThatDoesNotRevokeInTimeIsRemoved() {
        // Goal: the rebalance timeout bounds how long a member may hold partitions another member is waiting for.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1", rebalanceTimeout: 1_000), topics: topics, now: 0)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m2"), topics: topics, now: 0)
        _ = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: topics, now: 100)  // told to revoke
        #expect(coordinator.nextDeadline == 1_100)
        _ = coordinator.tick(now: 1_100)
        #expect(coordinator.describeConsumerGroup("g", topics: topics).members.map(\.memberId) == ["m2"])
        let m2 = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 1_200)
        #expect(m2.memberEpoch == 3 && m2.assignment == onA(0, 1), "epoch 3: m1 joined 1, m2 joined 2, m1 removed 3")
    }

    @Test func offsetCommitsCheckTheMemberEpoch() {
        // Goal: OffsetCommit v9 needs the member's current epoch (STALE_MEMBER_EPOCH otherwise); a memberless
        // commit is only allowed while the group is empty; older OffsetCommit versions are refused for members.
        var coordinator = makeConsumerCoordinator()
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: consumerTopics(), now: 0)
        func commit(_ member: String, _ epoch: Int32, version: Int16 = 9, transactional: Bool = false) -> ErrorCode? {
            coordinator.validateConsumerGroupOffsetCommit(
                groupId: "g", memberId: member, memberEpoch: epoch, transactional: transactional, apiVersion: version)
        }
        #expect(commit("m1", 1) == ErrorCode.none)
        #expect(commit("m1", 0) == .staleMemberEpoch)
        #expect(commit("m1", 0, transactional: true) == .illegalGeneration)
        #expect(commit("m1", 1, version: 8) == .unsupportedVersion)
        #expect(commit("", -1) == .unknownMemberId)
        #expect(commit("x", 1) == .unknownMemberId)
        #expect(coordinator.validateConsumerGroupOffsetCommit(
            groupId: "classic", memberId: "", memberEpoch: -1, transactional: false, apiVersion: 9) == nil)
        #expect(coordinator.validateConsumerGroupOffsetFetch(groupId: "g", memberId: "m1", memberEpoch: 0) == .staleMemberEpoch)
        #expect(coordinator.validateConsumerGroupOffsetFetch(groupId: "g", memberId: nil, memberEpoch: -1) == .none)
        _ = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: -1), topics: consumerTopics(), now: 0)
        #expect(commit("", -1) == ErrorCode.none)
    }

    @Test func classicAndConsumerGroupsShareTheIdSpaceAsKafka() {
        // Goal: migration policy "disabled": no heartbeat into a live classic group, no JoinGroup into a live
        // consumer group; empty groups convert either way, keeping their offsets.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics()
        _ = coordinator.joinGroup(join(1, group: "g", requireKnownMemberId: false), now: 0)
        #expect(coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: topics, now: 0).errorCode
            == .groupIdNotFound)

        coordinator.storeOffsets(groupId: "h", offsets: [TopicPartition(topic: "a", partition: 0): CommittedOffset(
            offset: 5, leaderEpoch: -1, metadata: nil, commitTimestampMs: 0)])
        var intoH = joinHeartbeat("m1")
        intoH.groupId = "h"
        #expect(coordinator.consumerGroupHeartbeat(intoH, topics: topics, now: 0).errorCode == .none)
        #expect(coordinator.listGroups(statesFilter: []).map(\.groupId) == ["g"], "h's offset holder is hidden")
        #expect(coordinator.listConsumerGroups(statesFilter: []).map(\.groupId) == ["h"])
        #expect(coordinator.describeGroup("h").state == "Dead")
        let refused = coordinator.joinGroup(join(2, group: "h", requireKnownMemberId: false), now: 0)
        #expect(refused == [.joinResponse(2, .failure(.inconsistentGroupProtocol, memberId: ""))])

        var leave = heartbeat("m1", epoch: -1)
        leave.groupId = "h"
        _ = coordinator.consumerGroupHeartbeat(leave, topics: topics, now: 0)
        let converted = coordinator.joinGroup(join(3, group: "h", requireKnownMemberId: false), now: 0)
        #expect(converted.allSatisfy { if case .joinResponse(_, let o) = $0 { o.errorCode == .none } else { false } })
        #expect(!coordinator.isConsumerGroup("h"))
        #expect(coordinator.committedOffsets(groupId: "h", partitions: nil).count == 1)
    }
}

/// DeleteGroups of a consumer group.
@Suite struct ConsumerGroupDeletionTests {
    @Test func onlyAnEmptyConsumerGroupIsDeletedWithItsOffsets() {
        // Goal: NON_EMPTY_GROUP while members remain; once empty, the group and its offsets go.
        var coordinator = makeConsumerCoordinator()
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: consumerTopics(), now: 0)
        coordinator.storeOffsets(groupId: "g", offsets: [TopicPartition(topic: "a", partition: 0): CommittedOffset(
            offset: 1, leaderEpoch: -1, metadata: nil, commitTimestampMs: 0)])
        #expect(coordinator.deleteGroup("g") == .nonEmptyGroup)
        _ = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: -1), topics: consumerTopics(), now: 0)
        #expect(coordinator.deleteGroup("g") == .none)
        #expect(!coordinator.isConsumerGroup("g") && coordinator.committedOffsets(groupId: "g", partitions: nil).isEmpty)
        #expect(coordinator.deleteGroup("g") == .groupIdNotFound)
    }
}

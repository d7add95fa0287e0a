import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// OffsetCommit validation and the committed-offset store.
@Suite struct OffsetTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)
    let u0 = TopicPartition(topic: "u", partition: 0)

    func offset(_ value: Int64, metadata: String? = nil) -> CommittedOffset {
        CommittedOffset(offset: value, leaderEpoch: -1, metadata: metadata, commitTimestampMs: 1000 + value)
    }

    @Test func simpleCommitCreatesAnEmptyGroup() throws {
        // Goal: generation -1 with member "" is accepted for an unknown group, which then exists as Empty.
        var coordinator = makeCoordinator()
        #expect(
            coordinator.validateOffsetCommit(groupId: "s", memberId: "", generationId: -1, groupInstanceId: nil, now: 0)
                == .none)
        #expect(
            coordinator.listGroups(statesFilter: []) == [GroupListing(groupId: "s", protocolType: "", state: "Empty")])
        coordinator.storeOffsets(groupId: "s", offsets: [p0: offset(5), p1: offset(7, metadata: "m")])
        #expect(
            coordinator.committedOffsets(groupId: "s", partitions: nil) == [
                p0: offset(5), p1: offset(7, metadata: "m"),
            ])
        #expect(coordinator.committedOffsets(groupId: "s", partitions: [p1, u0]) == [p1: offset(7, metadata: "m")])
        #expect(coordinator.committedOffsets(groupId: "other", partitions: nil).isEmpty)
        coordinator.storeOffsets(groupId: "s", offsets: [p0: offset(9)])
        #expect(coordinator.committedOffsets(groupId: "s", partitions: [p0]) == [p0: offset(9)])
    }

    @Test func commitForUnknownGroupWithGenerationIsStale() throws {
        // Goal: a commit with a real generation for a group the coordinator does not know gets ILLEGAL_GENERATION.
        var coordinator = makeCoordinator()
        #expect(
            coordinator.validateOffsetCommit(groupId: "g", memberId: "m", generationId: 3, groupInstanceId: nil, now: 0)
                == .illegalGeneration)
        #expect(coordinator.listGroups(statesFilter: []).isEmpty)
    }

    @Test func memberCommitValidation() throws {
        // Goal: member commits need a current member and generation; simple commits are refused while members exist.
        var group = StableGroup(members: 1)
        let a = group.memberIds[0]
        func validate(_ member: String, _ generation: Int32) -> ErrorCode {
            group.coordinator.validateOffsetCommit(
                groupId: "g", memberId: member, generationId: generation, groupInstanceId: nil, now: 1)
        }
        #expect(validate(a, group.generation) == .none)
        #expect(validate(a, group.generation + 1) == .illegalGeneration)
        #expect(validate("ghost", group.generation) == .unknownMemberId)
        #expect(validate("", -1) == .unknownMemberId)
        #expect(validate(a, -1) == .illegalGeneration)
    }

    @Test func commitDuringRebalancePhases() throws {
        // Goal: commits are refused in CompletingRebalance, accepted in PreparingRebalance from the current generation.
        var group = StableGroup(members: 2)
        let (a, b) = (group.memberIds[0], group.memberIds[1])
        _ = group.coordinator.joinGroup(join(1, member: a, client: "c0"), now: 1)
        #expect(group.coordinator.state() == .preparingRebalance)
        #expect(
            group.coordinator.validateOffsetCommit(
                groupId: "g", memberId: b, generationId: group.generation, groupInstanceId: nil, now: 2) == .none)
        let joined = group.coordinator.joinGroup(join(2, member: b, client: "c1"), now: 3)
        let next = try #require(joined.join(2)).generationId
        #expect(group.coordinator.state() == .completingRebalance)
        #expect(
            group.coordinator.validateOffsetCommit(
                groupId: "g", memberId: b, generationId: next, groupInstanceId: nil, now: 4) == .rebalanceInProgress)
        #expect(
            group.coordinator.validateOffsetCommit(
                groupId: "g", memberId: b, generationId: group.generation, groupInstanceId: nil, now: 4)
                == .illegalGeneration)
    }

    @Test func commitCountsAsHeartbeat() throws {
        // Goal: an accepted member commit refreshes the member's session like a heartbeat.
        var group = StableGroup(members: 1, session: 10_000)
        #expect(group.coordinator.nextDeadline == 10_000)
        let error = group.coordinator.validateOffsetCommit(
            groupId: "g", memberId: group.memberIds[0], generationId: group.generation, groupInstanceId: nil, now: 8000)
        #expect(error == .none)
        #expect(group.coordinator.nextDeadline == 18_000)
    }

    @Test func offsetsSurviveTheGroupBecomingEmpty() throws {
        // Goal: committed offsets stay when the last member leaves, and simple commits are then allowed again.
        var group = StableGroup(members: 1)
        group.coordinator.storeOffsets(groupId: "g", offsets: [p0: offset(42)])
        _ = group.coordinator.leaveGroup(groupId: "g", members: [(group.memberIds[0], nil)], now: 5)
        #expect(group.coordinator.state() == .empty)
        #expect(group.coordinator.committedOffsets(groupId: "g", partitions: nil) == [p0: offset(42)])
        #expect(
            group.coordinator.validateOffsetCommit(
                groupId: "g", memberId: "", generationId: -1, groupInstanceId: nil, now: 6) == .none)
    }

    @Test func removingATopicDropsItsOffsetsEverywhere() throws {
        // Goal: removeOffsets(topic:) drops that topic in every group; empty groups left without offsets disappear.
        var coordinator = makeCoordinator()
        coordinator.loadOffsets(groupId: "x", offsets: [p0: offset(1), u0: offset(2)])
        coordinator.loadOffsets(groupId: "y", offsets: [p1: offset(3)])
        #expect(coordinator.state("x") == .empty && coordinator.state("y") == .empty)
        coordinator.removeOffsets(topic: "t")
        #expect(coordinator.committedOffsets(groupId: "x", partitions: nil) == [u0: offset(2)])
        #expect(coordinator.committedOffsets(groupId: "y", partitions: nil).isEmpty)
        #expect(coordinator.listGroups(statesFilter: []).map(\.groupId) == ["x"])
    }

    @Test func removingATopicKeepsActiveGroups() throws {
        // Goal: a group with members survives losing all its offsets to a topic deletion.
        var group = StableGroup(members: 1)
        group.coordinator.storeOffsets(groupId: "g", offsets: [p0: offset(1)])
        group.coordinator.removeOffsets(topic: "t")
        #expect(group.coordinator.committedOffsets(groupId: "g", partitions: nil).isEmpty)
        #expect(group.coordinator.state() == .stable)
    }

    @Test func oversizedMetadataIsRefused() throws {
        // Goal: commit metadata longer than maxMetadataBytes gets OFFSET_METADATA_TOO_LARGE; nil and short are fine.
        let coordinator = GroupCoordinator(config: GroupCoordinatorConfig(maxMetadataBytes: 4))
        #expect(coordinator.offsetMetadataError(nil) == .none)
        #expect(coordinator.offsetMetadataError("abcd") == .none)
        #expect(coordinator.offsetMetadataError("abcde") == .offsetMetadataTooLarge)
    }

    @Test func deleteGroupOnlyWhenEmpty() throws {
        // Goal: DeleteGroups removes an empty group with its offsets and refuses groups that have members.
        var group = StableGroup(members: 1)
        group.coordinator.loadOffsets(groupId: "old", offsets: [p0: offset(1)])
        #expect(group.coordinator.deleteGroup("g") == .nonEmptyGroup)
        #expect(group.coordinator.deleteGroup("old") == .none)
        #expect(group.coordinator.deleteGroup("old") == .groupIdNotFound)
        #expect(group.coordinator.committedOffsets(groupId: "old", partitions: nil).isEmpty)
    }
}

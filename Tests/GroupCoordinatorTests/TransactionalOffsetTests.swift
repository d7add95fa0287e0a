import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// TxnOffsetCommit: staged offsets per producer, made visible or dropped by the transaction's outcome, and the
/// KIP-447 membership checks.
@Suite struct TransactionalOffsetTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    func offset(_ value: Int64) -> CommittedOffset {
        CommittedOffset(offset: value, leaderEpoch: -1, metadata: nil, commitTimestampMs: value)
    }

    @Test func stagedOffsetsBecomeVisibleOnlyWhenTheTransactionCommits() {
        var coordinator = makeCoordinator()
        #expect(coordinator.validateTransactionalOffsetCommit(groupId: "g", memberId: "", generationId: -1, groupInstanceId: nil) == .none)
        coordinator.storeOffsets(groupId: "g", offsets: [p0: offset(3)])
        coordinator.stageTransactionalOffsets(groupId: "g", producerId: 7, offsets: [p0: offset(10), p1: offset(20)])
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [p0: offset(3)])
        #expect(coordinator.hasPendingTransactionalOffset(groupId: "g", partition: p0))
        #expect(coordinator.pendingTransactionalOffsets(groupId: "g", producerId: 7) == [p0: offset(10), p1: offset(20)])
        coordinator.completeTransactionalOffsets(groupId: "g", producerId: 7, commit: true)
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [p0: offset(10), p1: offset(20)])
        #expect(!coordinator.hasPendingTransactionalOffset(groupId: "g", partition: p0))
    }

    @Test func anAbortDropsTheStagedOffsets() {
        var coordinator = makeCoordinator()
        coordinator.storeOffsets(groupId: "g", offsets: [p0: offset(3)])
        coordinator.stageTransactionalOffsets(groupId: "g", producerId: 7, offsets: [p0: offset(10)])
        coordinator.stageTransactionalOffsets(groupId: "g", producerId: 8, offsets: [p1: offset(11)])
        coordinator.completeTransactionalOffsets(groupId: "g", producerId: 7, commit: false)
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [p0: offset(3)])
        // The other producer's transaction is untouched.
        #expect(coordinator.hasPendingTransactionalOffset(groupId: "g", partition: p1))
    }

    @Test func aLaterPlainCommitWinsOverAStagedOne() {
        var coordinator = makeCoordinator()
        coordinator.stageTransactionalOffsets(groupId: "g", producerId: 7, offsets: [p0: offset(10), p1: offset(10)])
        coordinator.storeOffsets(groupId: "g", offsets: [p0: offset(15)])
        coordinator.completeTransactionalOffsets(groupId: "g", producerId: 7, commit: true)
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [p0: offset(15), p1: offset(10)])
    }

    @Test func membershipIsCheckedAsKip447Says() {
        var group = StableGroup(members: 2)
        let a = group.memberIds[0]
        func validate(_ member: String, _ generation: Int32, instance: String? = nil) -> ErrorCode {
            group.coordinator.validateTransactionalOffsetCommit(
                groupId: "g", memberId: member, generationId: generation, groupInstanceId: instance)
        }
        #expect(validate(a, group.generation) == .none)
        #expect(validate(a, group.generation - 1) == .illegalGeneration)
        #expect(validate("ghost", group.generation) == .unknownMemberId)
        // Unlike a plain commit, a memberless one is accepted while the group has members.
        #expect(validate("", -1) == .none)
        #expect(group.coordinator.validateTransactionalOffsetCommit(
            groupId: "unknown", memberId: "m", generationId: 4, groupInstanceId: nil) == .illegalGeneration)
        #expect(group.coordinator.validateTransactionalOffsetCommit(
            groupId: "", memberId: "", generationId: -1, groupInstanceId: nil) == .invalidGroupId)
    }

    @Test func deletingATopicDropsItsStagedOffsets() {
        var coordinator = makeCoordinator()
        coordinator.stageTransactionalOffsets(groupId: "g", producerId: 7, offsets: [p0: offset(10)])
        coordinator.removeOffsets(topic: "t")
        #expect(!coordinator.hasPendingTransactionalOffset(groupId: "g", partition: p0))
        #expect(coordinator.listGroups(statesFilter: []).isEmpty)
    }
}

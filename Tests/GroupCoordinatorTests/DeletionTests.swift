import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// DeleteGroups and OffsetDelete decisions (KIP-496), without sockets or a store.
@Suite struct DeletionTests {
    let t0 = TopicPartition(topic: "t", partition: 0)
    let t1 = TopicPartition(topic: "t", partition: 1)
    let u0 = TopicPartition(topic: "u", partition: 0)

    func offset(_ value: Int64) -> CommittedOffset {
        CommittedOffset(offset: value, leaderEpoch: -1, metadata: nil, commitTimestampMs: 0)
    }

    /// A Stable group "g" of one consumer subscribed to `topics` (real consumer-protocol metadata).
    func consumerGroup(subscribedTo topics: [String], protocolType: String = "consumer") -> GroupCoordinator {
        var coordinator = makeCoordinator()
        let memberId = coordinator.memberId(requestId: 1, now: 0)
        let metadata = ConsumerProtocol.encodeSubscription(topics: topics)
        let joined = coordinator.joinGroup(JoinGroupInput(
            requestId: 2, groupId: "g", memberId: memberId, groupInstanceId: nil, clientId: "c", clientHost: "/h",
            sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, protocolType: protocolType,
            protocols: [GroupProtocol(name: "range", metadata: metadata)], requireKnownMemberId: true), now: 0)
        let generation = joined.join(2)!.generationId
        _ = coordinator.syncGroup(sync(3, generation: generation, member: memberId, assignments: [(memberId, "a")]), now: 0)
        #expect(coordinator.state() == .stable)
        return coordinator
    }

    @Test func deletionErrorsFollowKafka() {
        // Goal: empty id INVALID_GROUP_ID, unknown GROUP_ID_NOT_FOUND, members NON_EMPTY_GROUP, Empty deletable.
        var coordinator = consumerGroup(subscribedTo: ["t"])
        coordinator.loadOffsets(groupId: "idle", offsets: [t0: offset(3)])
        #expect(coordinator.groupDeletionError("") == .invalidGroupId)
        #expect(coordinator.groupDeletionError("nope") == .groupIdNotFound)
        #expect(coordinator.groupDeletionError("g") == .nonEmptyGroup)
        #expect(coordinator.groupDeletionError("idle") == .none)
        #expect(coordinator.deleteGroup("idle") == .none)
        #expect(coordinator.groupDeletionError("idle") == .groupIdNotFound)
        #expect(coordinator.committedOffsets(groupId: "idle", partitions: nil).isEmpty)
    }

    @Test func offsetsOfSubscribedTopicsStay() {
        // Goal: with members, partitions of subscribed topics are GROUP_SUBSCRIBED_TO_TOPIC, others deletable (NONE
        // even without a committed offset); applying removes only the deletable ones.
        var coordinator = consumerGroup(subscribedTo: ["t"])
        coordinator.storeOffsets(groupId: "g", offsets: [t0: offset(1), u0: offset(2)])
        let plan = coordinator.planOffsetDeletion(groupId: "g", partitions: [t0, t1, u0])
        #expect(plan.groupError == .none)
        #expect(plan.partitionErrors == [t0: .groupSubscribedToTopic, t1: .groupSubscribedToTopic, u0: .none])
        #expect(plan.deletable == [u0])
        coordinator.deleteOffsets(groupId: "g", partitions: plan.deletable)
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [t0: offset(1)])
        #expect(coordinator.state() == .stable)
    }

    @Test func anEmptyGroupLosesAnyOffsetAndGoesWithTheLast() {
        // Goal: an Empty group is subscribed to nothing; deleting its last offset removes the group (Kafka's cleanup).
        var coordinator = makeCoordinator()
        coordinator.loadOffsets(groupId: "e", offsets: [t0: offset(1), t1: offset(2)])
        let plan = coordinator.planOffsetDeletion(groupId: "e", partitions: [t0])
        #expect(plan == OffsetDeletionPlan(groupError: .none, partitionErrors: [t0: .none]))
        coordinator.deleteOffsets(groupId: "e", partitions: [t0])
        #expect(coordinator.state("e") == .empty)
        coordinator.deleteOffsets(groupId: "e", partitions: [t1])
        #expect(coordinator.state("e") == nil)
    }

    @Test func groupLevelErrors() {
        // Goal: unknown group GROUP_ID_NOT_FOUND, empty id INVALID_GROUP_ID, a non-consumer group with members
        // NON_EMPTY_GROUP (its members' subscriptions cannot be known).
        let connect = consumerGroup(subscribedTo: ["t"], protocolType: "connect")
        #expect(connect.planOffsetDeletion(groupId: "g", partitions: [u0]).groupError == .nonEmptyGroup)
        #expect(connect.planOffsetDeletion(groupId: "x", partitions: [u0]).groupError == .groupIdNotFound)
        #expect(connect.planOffsetDeletion(groupId: "", partitions: [u0]).groupError == .invalidGroupId)
    }

    @Test func aConsumerGroupKeepsOffsetsOfTopicsItsMembersSubscribeTo() {
        // Goal: a KIP-848 group refuses its members' topics and lets others go; its offsets record stays while the
        // consumer group exists, and with no members nothing is refused.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2, b: 1)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1", topics: ["a"]), topics: topics, now: 0)
        let a0 = TopicPartition(topic: "a", partition: 0), b0 = TopicPartition(topic: "b", partition: 0)
        coordinator.storeOffsets(groupId: "g", offsets: [a0: offset(1), b0: offset(2)])
        let plan = coordinator.planOffsetDeletion(groupId: "g", partitions: [a0, b0])
        #expect(plan.groupError == .none && plan.partitionErrors == [a0: .groupSubscribedToTopic, b0: .none])
        coordinator.deleteOffsets(groupId: "g", partitions: plan.deletable)
        #expect(coordinator.committedOffsets(groupId: "g", partitions: nil) == [a0: offset(1)])
        _ = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: -1), topics: topics, now: 0)
        #expect(coordinator.planOffsetDeletion(groupId: "g", partitions: [a0]).partitionErrors == [a0: .none])
        coordinator.deleteOffsets(groupId: "g", partitions: [a0])
        #expect(coordinator.isConsumerGroup("g") && coordinator.groupDeletionError("g") == .none)
    }

    @Test func unreadableSubscriptionsCountAsNone() {
        // Goal: as Kafka, metadata that is not a consumer subscription leaves the subscribed set empty.
        var group = StableGroup(members: 1)
        group.coordinator.storeOffsets(groupId: "g", offsets: [t0: offset(1)])
        #expect(group.coordinator.planOffsetDeletion(groupId: "g", partitions: [t0]).partitionErrors == [t0: .none])
    }
}

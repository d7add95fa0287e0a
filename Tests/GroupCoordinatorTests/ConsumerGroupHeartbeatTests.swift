import KafkaProtocol
import Testing

@testable import GroupCoordinator

/// ConsumerGroupHeartbeat: joining, epochs, revocation before reassignment, leaving, fencing and errors.
@Suite struct ConsumerGroupHeartbeatTests {
    @Test func firstMemberGetsEveryPartitionAtEpochOne() {
        // Goal: a join creates the group, bumps it to epoch 1 and hands the lone member every partition.
        var coordinator = makeConsumerCoordinator()
        let outcome = coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: consumerTopics(a: 3), now: 0)
        #expect(outcome.errorCode == .none && outcome.memberId == "m1" && outcome.memberEpoch == 1)
        #expect(outcome.heartbeatIntervalMs == 5000 && outcome.assignment == onA(0, 1, 2))
        let described = coordinator.describeConsumerGroup("g", topics: consumerTopics(a: 3))
        #expect(described.state == "Stable" && described.groupEpoch == 1 && described.assignmentEpoch == 1)
        #expect(described.assignorName == "uniform")
    }

    @Test func partitionMovesOnlyAfterThePreviousOwnerRevokedIt() {
        // Goal: a new member waits (UNRELEASED) for partitions until their owner acknowledged the revocation.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 4)
        var first = SimulatedConsumer("m1")
        first.beat(&coordinator, topics: topics, now: 0)
        #expect(first.owned == onA(0, 1, 2, 3) && first.epoch == 1)

        var second = SimulatedConsumer("m2")
        let joined = second.beat(&coordinator, topics: topics, now: 10)
        #expect(joined.memberEpoch == 2 && joined.assignment == [:], "m1 still owns everything")
        #expect(coordinator.describeConsumerGroup("g", topics: topics).state == "Reconciling")

        // m1 is told to keep two partitions and stays at epoch 1 until it revokes the others.
        let revoke = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: topics, now: 20)
        #expect(revoke.memberEpoch == 1 && revoke.assignment?.partitionCount == 2)
        let kept = revoke.assignment!
        let wait = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 30)
        #expect(wait.assignment == nil, "nothing released yet")

        // m1 acknowledges: it moves to epoch 2; then m2 gets the released partitions.
        let acked = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1, owned: kept), topics: topics, now: 40)
        #expect(acked.memberEpoch == 2 && acked.assignment == nil)
        let got = coordinator.consumerGroupHeartbeat(heartbeat("m2", epoch: 2), topics: topics, now: 50)
        #expect(got.memberEpoch == 2 && got.assignment == [topicA: Set(0..<4).subtracting(kept[topicA]!)])
        #expect(coordinator.describeConsumerGroup("g", topics: topics).state == "Stable")
    }

    @Test func partialHeartbeatDoesNotConfirmRevocation() {
        // Goal: without TopicPartitions the coordinator cannot know the partitions were revoked.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2)
        var consumers = [SimulatedConsumer("m1")]
        settle(&consumers, &coordinator, topics: topics)
        _ = coordinator.consumerGroupHeartbeat(joinHeartbeat("m2"), topics: topics, now: 0)
        let revoke = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: topics, now: 0)
        #expect(revoke.memberEpoch == 1 && revoke.assignment?.partitionCount == 1)
        let again = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: topics, now: 0)
        #expect(again.memberEpoch == 1, "still UNREVOKED_PARTITIONS")
    }

    @Test func leaveFreesPartitionsForTheOthers() {
        // Goal: MemberEpoch -1 removes the member at once; the rest take its partitions at a new epoch.
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 6)
        var consumers = [SimulatedConsumer("m1"), SimulatedConsumer("m2"), SimulatedConsumer("m3")]
        settle(&consumers, &coordinator, topics: topics)
        #expect(consumers.map(\.owned.partitionCount) == [2, 2, 2])
        let left = coordinator.consumerGroupHeartbeat(heartbeat("m3", epoch: consumers[2].epoch), topics: topics, now: 0)
        #expect(left.errorCode == .none)
        let leave = coordinator.consumerGroupHeartbeat(heartbeat("m3", epoch: -1), topics: topics, now: 0)
        #expect(leave.errorCode == .none && leave.memberEpoch == -1 && leave.memberId == "m3")
        consumers.removeLast()
        settle(&consumers, &coordinator, topics: topics)
        #expect(consumers.map(\.owned.partitionCount) == [3, 3])
        #expect(consumers[0].owned[topicA]!.isDisjoint(with: consumers[1].owned[topicA]!))
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m3", epoch: 3), topics: topics, now: 0).errorCode
            == .unknownMemberId)
    }

    @Test func epochsAreFencedAsKafkaDoes() {
        // Goal: a newer epoch is fenced; the previous epoch only with a subset of the partitions (a lost answer).
        var coordinator = makeConsumerCoordinator()
        let topics = consumerTopics(a: 2)
        var consumers = [SimulatedConsumer("m1")]
        settle(&consumers, &coordinator, topics: topics)
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 2), topics: topics, now: 0).errorCode
            == .fencedMemberEpoch)
        // Topic grows: epoch 2 for m1.
        let grown = consumerTopics(a: 3)
        let bumped = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: grown, now: 0)
        #expect(bumped.memberEpoch == 2 && bumped.assignment == onA(0, 1, 2))
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1, owned: onA(0, 1)), topics: grown, now: 0)
            .errorCode == .none, "previous epoch with a subset")
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1), topics: grown, now: 0).errorCode
            == .fencedMemberEpoch, "previous epoch without partitions")
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 0, owned: onA(0)), topics: grown, now: 0)
            .errorCode == .invalidRequest, "joining with partitions")
    }

    @Test func topicChangesBumpTheGroupEpoch() {
        // Goal: a topic created, grown or deleted reaches the group with the next heartbeat.
        var coordinator = makeConsumerCoordinator()
        var consumers = [SimulatedConsumer("m1")]
        let none = ConsumerTopicsImage([])
        let outcome = consumers[0].beat(&coordinator, topics: none, now: 0)
        #expect(outcome.memberEpoch == 1 && outcome.assignment == [:])
        settle(&consumers, &coordinator, topics: consumerTopics(a: 2))
        #expect(consumers[0].owned == onA(0, 1) && consumers[0].epoch == 2)
        settle(&consumers, &coordinator, topics: consumerTopics(a: 4))
        #expect(consumers[0].owned == onA(0, 1, 2, 3) && consumers[0].epoch == 3)
        settle(&consumers, &coordinator, topics: none)
        #expect(consumers[0].owned == [:] && consumers[0].epoch == 4)
    }

    @Test func requestValidation() {
        // Goal: Kafka's request checks and error codes.
        var coordinator = makeConsumerCoordinator(maxSize: 1)
        let topics = consumerTopics()
        var noTimeout = joinHeartbeat("m1")
        noTimeout.rebalanceTimeoutMs = -1
        #expect(coordinator.consumerGroupHeartbeat(noTimeout, topics: topics, now: 0).errorCode == .invalidRequest)
        var noSubscription = joinHeartbeat("m1")
        noSubscription.subscribedTopicNames = nil
        #expect(coordinator.consumerGroupHeartbeat(noSubscription, topics: topics, now: 0).errorCode == .invalidRequest)
        #expect(coordinator.consumerGroupHeartbeat(joinHeartbeat("m1", assignor: "sticky"), topics: topics, now: 0)
            .errorCode == .unsupportedAssignor)
        var badRegex = joinHeartbeat("m1")
        badRegex.subscribedTopicRegex = "a("
        #expect(coordinator.consumerGroupHeartbeat(badRegex, topics: topics, now: 0).errorCode == .invalidRegularExpression)
        var v1NoId = joinHeartbeat("")
        v1NoId.apiVersion = 1
        #expect(coordinator.consumerGroupHeartbeat(v1NoId, topics: topics, now: 0).errorCode == .invalidRequest)
        #expect(coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: -3), topics: topics, now: 0).errorCode
            == .invalidRequest)
        #expect(coordinator.consumerGroupHeartbeat(joinHeartbeat("m1"), topics: topics, now: 0).errorCode == .none)
        #expect(coordinator.consumerGroupHeartbeat(joinHeartbeat("m2"), topics: topics, now: 0).errorCode
            == .groupMaxSizeReached)
        var v0 = joinHeartbeat("")
        v0.apiVersion = 0
        v0.groupId = "other"
        let generated = coordinator.consumerGroupHeartbeat(v0, topics: topics, now: 0)
        #expect(generated.errorCode == .none && (generated.memberId?.hasPrefix("") ?? false) && generated.memberId != "")
    }

    @Test func regexSubscriptionFollowsNewTopics() {
        // Goal: a regex subscription matches whole topic names, including topics created later.
        var coordinator = makeConsumerCoordinator()
        var input = joinHeartbeat("m1")
        input.subscribedTopicNames = nil
        input.subscribedTopicRegex = "[ab]"
        let first = coordinator.consumerGroupHeartbeat(input, topics: consumerTopics(a: 1), now: 0)
        #expect(first.assignment == onA(0))
        let later = coordinator.consumerGroupHeartbeat(heartbeat("m1", epoch: 1, owned: onA(0)),
                                                       topics: consumerTopics(a: 1, b: 2), now: 0)
        #expect(later.memberEpoch == 2 && later.assignment == [topicA: [0], topicB: [0, 1]])
    }
}

import KafkaProtocol
import Testing

@testable import GroupCoordinator

/// The server-side assignors: every partition to exactly one subscriber, balance, stickiness, determinism.
@Suite struct ConsumerAssignorTests {
    static func members(_ ids: [String], topics: Set<KafkaUUID> = [topicA], previous: [String: ConsumerAssignment] = [:])
        -> [AssignorMember]
    {
        ids.map { AssignorMember(memberId: $0, topics: topics, previous: previous[$0] ?? [:]) }
    }

    static func checkCoverage(_ result: [String: ConsumerAssignment], _ topics: ConsumerTopicsImage) {
        for topic in topics.byId.values {
            let owners = result.values.flatMap { Array($0[topic.id] ?? []) }
            #expect(owners.sorted() == Array(0..<topic.partitionCount), "each partition of \(topic.name) exactly once")
        }
    }

    @Test(arguments: [ConsumerAssignor.uniform, .range])
    func balancedForIdenticalSubscriptions(assignor: ConsumerAssignor) {
        // Goal: 7 partitions over 3 members: 3/2/2, all covered, and the same answer for shuffled input.
        let topics = consumerTopics(a: 7)
        let result = assignor.assign(members: Self.members(["m3", "m1", "m2"]), topics: topics)
        Self.checkCoverage(result, topics)
        #expect(result.values.map(\.partitionCount).sorted() == [2, 2, 3])
        #expect(assignor.assign(members: Self.members(["m2", "m3", "m1"]), topics: topics) == result)
    }

    @Test func rangeGivesContiguousRangesInMemberOrder() {
        // Goal: Kafka's range layout, co-partitioned topics aligned.
        let topics = consumerTopics(a: 5, b: 5)
        let result = ConsumerAssignor.range.assign(members: Self.members(["m2", "m1"], topics: [topicA, topicB]),
                                                   topics: topics)
        #expect(result["m1"] == [topicA: [0, 1, 2], topicB: [0, 1, 2]])
        #expect(result["m2"] == [topicA: [3, 4], topicB: [3, 4]])
    }

    @Test func uniformIsSticky() {
        // Goal: a member joining takes partitions from the others without shuffling the rest.
        let topics = consumerTopics(a: 6)
        let before = ConsumerAssignor.uniform.assign(members: Self.members(["m1", "m2"]), topics: topics)
        let after = ConsumerAssignor.uniform.assign(members: Self.members(["m1", "m2", "m3"], previous: before),
                                                    topics: topics)
        Self.checkCoverage(after, topics)
        #expect(after.values.map(\.partitionCount) == [2, 2, 2])
        #expect(after["m1"]![topicA]!.isSubset(of: before["m1"]![topicA]!))
        #expect(after["m2"]![topicA]!.isSubset(of: before["m2"]![topicA]!))
    }

    @Test func uniformBalancesDifferentSubscriptions() {
        // Goal: m1 reads a and b, m2 only a: m1 takes all of b, a is split so that the counts are as even as the
        // subscriptions allow.
        let topics = consumerTopics(a: 4, b: 2)
        let result = ConsumerAssignor.uniform.assign(
            members: [AssignorMember(memberId: "m1", topics: [topicA, topicB], previous: [:]),
                      AssignorMember(memberId: "m2", topics: [topicA], previous: [:])],
            topics: topics)
        Self.checkCoverage(result, topics)
        #expect(result["m1"]![topicB] == [0, 1] && result["m2"]![topicA]!.count == 3)
        #expect(result["m1"]!.partitionCount == 3)
    }

    @Test func membersWithoutSubscribedTopicsGetNothing() {
        let result = ConsumerAssignor.uniform.assign(members: Self.members(["m1"], topics: []), topics: consumerTopics())
        #expect(result == ["m1": [:]])
    }
}

import KafkaProtocol

@testable import GroupCoordinator

/// Topics "a" (id 1) and "b" (id 2) with the given partition counts.
func consumerTopics(a: Int32 = 6, b: Int32? = nil) -> ConsumerTopicsImage {
    var topics = [ConsumerTopic(id: topicA, name: "a", partitionCount: a)]
    if let b { topics.append(ConsumerTopic(id: topicB, name: "b", partitionCount: b)) }
    return ConsumerTopicsImage(topics)
}

let topicA = KafkaUUID(high: 0, low: 1)
let topicB = KafkaUUID(high: 0, low: 2)

/// A coordinator for consumer-group tests: 45 s sessions, 5 s heartbeats, the given assignors and size limit.
func makeConsumerCoordinator(
    assignors: [ConsumerAssignor] = [.uniform, .range], maxSize: Int32 = .max
) -> GroupCoordinator {
    var config = GroupCoordinatorConfig()
    config.consumer = ConsumerGroupConfig(maxSize: maxSize, assignors: assignors)
    return GroupCoordinator(config: config, memberIds: MemberIDGenerator(seed: 7))
}

/// A full first heartbeat (epoch 0) as a client sends it.
func joinHeartbeat(
    _ member: String, topics: [String] = ["a"], instance: String? = nil, assignor: String? = nil,
    rebalanceTimeout: Int32 = 10_000
) -> ConsumerHeartbeatInput {
    ConsumerHeartbeatInput(
        groupId: "g", memberId: member, memberEpoch: 0, instanceId: instance, rebalanceTimeoutMs: rebalanceTimeout,
        subscribedTopicNames: topics, serverAssignor: assignor, ownedPartitions: [:], clientId: member,
        clientHost: "/127.0.0.1")
}

/// A heartbeat at `epoch` reporting `owned` (nil: unchanged).
func heartbeat(_ member: String, epoch: Int32, owned: ConsumerAssignment? = nil, instance: String? = nil)
    -> ConsumerHeartbeatInput
{
    ConsumerHeartbeatInput(
        groupId: "g", memberId: member, memberEpoch: epoch, instanceId: instance, ownedPartitions: owned,
        clientId: member, clientHost: "/127.0.0.1")
}

/// Partitions of topic "a".
func onA(_ partitions: Int32...) -> ConsumerAssignment {
    partitions.isEmpty ? [:] : [topicA: Set(partitions)]
}

/// A consumer as librdkafka behaves: it keeps the last assignment it got and reports it back when it changed.
struct SimulatedConsumer {
    let id: String
    var epoch: Int32 = 0
    var owned: ConsumerAssignment = [:]

    init(_ id: String) { self.id = id }

    /// One heartbeat; adopts the answer. Returns it.
    @discardableResult
    mutating func beat(
        _ coordinator: inout GroupCoordinator, topics: ConsumerTopicsImage, now: Int64,
        subscribe: [String] = ["a"]
    ) -> ConsumerHeartbeatOutcome {
        let input = epoch == 0 ? joinHeartbeat(id, topics: subscribe) : heartbeat(id, epoch: epoch, owned: owned)
        let outcome = coordinator.consumerGroupHeartbeat(input, topics: topics, now: now)
        precondition(outcome.errorCode == .none, "\(id): \(outcome.errorCode) \(outcome.errorMessage ?? "")")
        epoch = outcome.memberEpoch
        if let assignment = outcome.assignment { owned = assignment }
        return outcome
    }
}

/// Heartbeats every consumer in turn until nobody's answer changes; returns the rounds it took.
@discardableResult
func settle(
    _ consumers: inout [SimulatedConsumer], _ coordinator: inout GroupCoordinator, topics: ConsumerTopicsImage,
    now: Int64 = 0, rounds: Int = 10
) -> Int {
    for round in 1...rounds {
        let before = consumers.map { ($0.epoch, $0.owned) }
        for index in consumers.indices { consumers[index].beat(&coordinator, topics: topics, now: now) }
        if zip(before, consumers).allSatisfy({ $0.0 == $1.epoch && $0.1 == $1.owned }) { return round }
    }
    return rounds
}

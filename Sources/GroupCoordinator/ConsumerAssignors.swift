import KafkaProtocol

/// One member as a server-side assignor sees it.
struct AssignorMember: Sendable, Equatable {
    var memberId: String
    /// The topics (existing ones, by id) the member subscribes to, names and regex resolved.
    var topics: Set<KafkaUUID>
    /// The member's partitions in the previous target assignment (stickiness).
    var previous: ConsumerAssignment
}

/// KIP-848 server-side assignors (`group.consumer.assignors`). Pure functions of the members, the topics and the
/// previous target assignment; the result has an entry for every member and gives each existing partition of a
/// subscribed topic to exactly one subscribed member.
public enum ConsumerAssignor: String, Sendable, CaseIterable {
    case uniform
    case range

    func assign(members: [AssignorMember], topics: ConsumerTopicsImage) -> [String: ConsumerAssignment] {
        switch self {
        case .uniform: UniformAssignor.assign(members: members, topics: topics)
        case .range: RangeAssignor.assign(members: members, topics: topics)
        }
    }
}

/// Kafka's UniformAssignor: as balanced as the subscriptions allow and sticky. Each member first keeps the partitions
/// it had that it still subscribes to; unowned partitions go to the least loaded subscribed member; then partitions
/// move from a member to a subscribed member with at least two fewer until none can, so with identical
/// subscriptions the counts differ by at most one (Kafka's optimized builder), and with different ones no single move
/// improves the balance (Kafka's general builder aims at the same). Ties break on member id, partitions are visited
/// in (topic name, partition) order: the result depends only on the input.
enum UniformAssignor {
    static func assign(members: [AssignorMember], topics: ConsumerTopicsImage) -> [String: ConsumerAssignment] {
        let ordered = members.sorted { $0.memberId < $1.memberId }
        var owner: [TopicPartitionId: String] = [:]
        var owned: [String: Set<TopicPartitionId>] = [:]
        for member in ordered { owned[member.memberId] = [] }
        let subscribers = subscribersByTopic(ordered)

        // Stickiness: keep what is still valid and not already kept by another member.
        for member in ordered {
            for (topicId, partitions) in member.previous where member.topics.contains(topicId) {
                guard let topic = topics.byId[topicId] else { continue }
                for partition in partitions.sorted() where partition < topic.partitionCount {
                    let key = TopicPartitionId(topicId: topicId, partition: partition)
                    guard owner[key] == nil else { continue }
                    owner[key] = member.memberId
                    owned[member.memberId]!.insert(key)
                }
            }
        }
        // Unowned partitions to the least loaded subscriber.
        for key in allPartitions(subscribers: subscribers, topics: topics) where owner[key] == nil {
            let candidates = subscribers[key.topicId]!
            let target = candidates.min { (owned[$0]!.count, $0) < (owned[$1]!.count, $1) }!
            owner[key] = target
            owned[target]!.insert(key)
        }
        // Rebalance: move from the most loaded member while a subscriber has at least two fewer.
        var moved = true
        while moved {
            moved = false
            let byLoad = ordered.map(\.memberId).sorted { (owned[$0]!.count, $1) > (owned[$1]!.count, $0) }
            search: for donor in byLoad {
                let donorCount = owned[donor]!.count
                for key in owned[donor]!.sorted(by: { $0.sortKey(topics) > $1.sortKey(topics) }) {
                    let receivers = subscribers[key.topicId]!.filter { owned[$0]!.count <= donorCount - 2 }
                    guard let receiver = receivers.min(by: { (owned[$0]!.count, $0) < (owned[$1]!.count, $1) }) else {
                        continue
                    }
                    owned[donor]!.remove(key)
                    owned[receiver]!.insert(key)
                    owner[key] = receiver
                    moved = true
                    break search
                }
            }
        }
        return owned.mapValues { keys in
            var assignment: ConsumerAssignment = [:]
            for key in keys { assignment[key.topicId, default: []].insert(key.partition) }
            return assignment
        }
    }
}

/// Kafka's RangeAssignor, server side: for each topic, its subscribers in member-id order get contiguous ranges,
/// the first `partitions % subscribers` one partition more. Co-partitioned topics land together (same ranges), which
/// is what range is chosen for; it is not sticky beyond that (the ranges depend only on the membership).
enum RangeAssignor {
    static func assign(members: [AssignorMember], topics: ConsumerTopicsImage) -> [String: ConsumerAssignment] {
        var result: [String: ConsumerAssignment] = [:]
        for member in members { result[member.memberId] = [:] }
        let subscribers = subscribersByTopic(members.sorted { $0.memberId < $1.memberId })
        for (topicId, memberIds) in subscribers {
            guard let topic = topics.byId[topicId], topic.partitionCount > 0 else { continue }
            let count = Int32(memberIds.count)
            let base = topic.partitionCount / count
            let extra = topic.partitionCount % count
            var next: Int32 = 0
            for (index, memberId) in memberIds.enumerated() {
                let size = base + (Int32(index) < extra ? 1 : 0)
                if size > 0 { result[memberId]![topicId] = Set(next..<(next + size)) }
                next += size
            }
        }
        return result
    }
}

/// A partition named by topic id.
struct TopicPartitionId: Hashable, Sendable {
    var topicId: KafkaUUID
    var partition: Int32

    /// (topic name, partition): the order partitions are handed out in.
    func sortKey(_ topics: ConsumerTopicsImage) -> SortKey {
        SortKey(topic: topics.byId[topicId]?.name ?? topicId.description, partition: partition)
    }

    struct SortKey: Comparable {
        var topic: String
        var partition: Int32
        static func < (a: SortKey, b: SortKey) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    }
}

/// Subscribed member ids per topic, in the order of `members`.
private func subscribersByTopic(_ members: [AssignorMember]) -> [KafkaUUID: [String]] {
    var result: [KafkaUUID: [String]] = [:]
    for member in members {
        for topicId in member.topics { result[topicId, default: []].append(member.memberId) }
    }
    return result
}

/// Every partition of a topic somebody subscribes to, in (topic name, partition) order.
private func allPartitions(subscribers: [KafkaUUID: [String]], topics: ConsumerTopicsImage) -> [TopicPartitionId] {
    subscribers.keys.compactMap { topics.byId[$0] }.sorted { $0.name < $1.name }.flatMap { topic in
        (0..<topic.partitionCount).map { TopicPartitionId(topicId: topic.id, partition: $0) }
    }
}

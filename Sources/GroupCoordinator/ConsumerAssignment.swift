import KafkaProtocol

/// Partitions by topic id: a member's assignment in the KIP-848 protocol (which names topics by id on the wire).
public typealias ConsumerAssignment = [KafkaUUID: Set<Int32>]

/// A topic as the consumer group protocol sees it: the broker passes the current topics in with every call, so the
/// coordinator notices created, grown and deleted topics without being told.
public struct ConsumerTopic: Sendable, Equatable {
    public var id: KafkaUUID
    public var name: String
    public var partitionCount: Int32

    public init(id: KafkaUUID, name: String, partitionCount: Int32) {
        self.id = id
        self.name = name
        self.partitionCount = partitionCount
    }
}

/// The broker's topics at the time of a call, by name and by id.
public struct ConsumerTopicsImage: Sendable, Equatable {
    public private(set) var byName: [String: ConsumerTopic] = [:]
    public private(set) var byId: [KafkaUUID: ConsumerTopic] = [:]

    public init(_ topics: [ConsumerTopic]) {
        for topic in topics {
            byName[topic.name] = topic
            byId[topic.id] = topic
        }
    }
}

extension Dictionary where Key == KafkaUUID, Value == Set<Int32> {
    /// Every (topic id, partition) pair.
    var partitionCount: Int { values.reduce(0) { $0 + $1.count } }

    /// Whether every partition of `self` is also in `other`.
    func isSubset(of other: ConsumerAssignment) -> Bool {
        allSatisfy { topic, partitions in partitions.isSubset(of: other[topic] ?? []) }
    }

    /// Drops topics left without partitions, so that equal assignments compare equal.
    var normalized: ConsumerAssignment { filter { !$0.value.isEmpty } }

    /// Topics in a stable order (by id text), partitions ascending: what goes on the wire.
    public var sortedEntries: [(topicId: KafkaUUID, partitions: [Int32])] {
        normalized.sorted { $0.key.description < $1.key.description }.map { ($0.key, $0.value.sorted()) }
    }
}

import NIOCore

/// The "consumer" embedded protocol carried opaquely inside JoinGroup and SyncGroup: what each member subscribes to
/// and what the leader assigns. Classic (non-flexible) encoding whatever the JoinGroup version.
///
/// Subscription: int16 version, topics [string], user_data nullable bytes; v1+ owned_partitions [topic string,
/// [int32]]; v2+ generation_id int32; v3+ rack_id nullable string. Assignment: int16 version, [topic string,
/// [int32]], user_data nullable bytes.
public enum ConsumerProtocol {
    /// The JoinGroup protocol type of consumers (Kafka Connect workers use "connect").
    public static let protocolType = "consumer"

    public struct Subscription: Sendable, Equatable {
        public var version: Int16
        public var topics: [String]
        public var ownedPartitions: [String: [Int32]]
    }

    public struct Assignment: Sendable, Equatable {
        public var partitions: [String: [Int32]]
    }

    public static func encodeSubscription(topics: [String], ownedPartitions: [String: [Int32]] = [:]) -> ByteBuffer {
        var writer = KafkaWriter(capacity: 64)
        writer.writeInt16(1)
        writer.writeStringArray(topics.sorted(), compact: false)
        writer.writeNullableBytes(nil, compact: false)
        writer.writeArrayCount(ownedPartitions.count, compact: false)
        for (topic, partitions) in ownedPartitions.sorted(by: { $0.key < $1.key }) {
            writer.writeString(topic, compact: false)
            writer.writeInt32Array(partitions.sorted(), compact: false)
        }
        return writer.buffer
    }

    public static func decodeSubscription(_ bytes: ByteBuffer) throws(KafkaDecodingError) -> Subscription {
        var reader = KafkaReader(bytes)
        let version = try reader.readInt16()
        let topics = try reader.readStringArray(compact: false) ?? []
        _ = try reader.readNullableBytes(compact: false)
        var owned: [String: [Int32]] = [:]
        if version >= 1 && reader.remaining > 0 {
            let count = try reader.readArrayCount(compact: false) ?? 0
            for _ in 0..<count {
                let topic = try reader.readString(compact: false)
                owned[topic] = try reader.readInt32Array(compact: false) ?? []
            }
        }
        // v2 generation and v3 rack follow; an assignor that ignores them need not read them.
        return Subscription(version: version, topics: topics, ownedPartitions: owned)
    }

    public static func encodeAssignment(_ partitions: [String: [Int32]]) -> ByteBuffer {
        var writer = KafkaWriter(capacity: 64)
        writer.writeInt16(0)
        writer.writeArrayCount(partitions.count, compact: false)
        for (topic, owned) in partitions.sorted(by: { $0.key < $1.key }) {
            writer.writeString(topic, compact: false)
            writer.writeInt32Array(owned.sorted(), compact: false)
        }
        writer.writeNullableBytes(nil, compact: false)
        return writer.buffer
    }

    public static func decodeAssignment(_ bytes: ByteBuffer) throws(KafkaDecodingError) -> Assignment {
        guard bytes.readableBytes > 0 else { return Assignment(partitions: [:]) }
        var reader = KafkaReader(bytes)
        _ = try reader.readInt16()
        var partitions: [String: [Int32]] = [:]
        let count = try reader.readArrayCount(compact: false) ?? 0
        for _ in 0..<count {
            let topic = try reader.readString(compact: false)
            partitions[topic, default: []] += try reader.readInt32Array(compact: false) ?? []
        }
        return Assignment(partitions: partitions)
    }
}

/// Partition assignment strategies, computed by the group leader (Kafka's RangeAssignor and RoundRobinAssignor).
public enum Assignor: String, Sendable, CaseIterable {
    case range
    case roundrobin

    /// - Parameters:
    ///   - members: member id -> subscribed topics.
    ///   - partitionCounts: topic -> number of partitions.
    /// - Returns: member id -> topic -> partitions. Every member appears, possibly with nothing.
    public func assign(members: [String: [String]], partitionCounts: [String: Int32]) -> [String: [String: [Int32]]] {
        var result: [String: [String: [Int32]]] = Dictionary(uniqueKeysWithValues: members.keys.map { ($0, [:]) })
        let memberIds = members.keys.sorted()
        switch self {
        case .range:
            // Per topic: consumers in member-id order, each takes a contiguous range; the first ones take one extra.
            for topic in Set(members.values.flatMap { $0 }).sorted() {
                guard let count = partitionCounts[topic], count > 0 else { continue }
                let consumers = memberIds.filter { members[$0]!.contains(topic) }
                guard !consumers.isEmpty else { continue }
                let perConsumer = Int(count) / consumers.count
                let extra = Int(count) % consumers.count
                var next: Int32 = 0
                for (index, member) in consumers.enumerated() {
                    let take = perConsumer + (index < extra ? 1 : 0)
                    if take > 0 { result[member]![topic, default: []] += Array(next..<(next + Int32(take))) }
                    next += Int32(take)
                }
            }
        case .roundrobin:
            // All partitions of all topics in order, dealt to members in turn, skipping those not subscribed.
            let all = Set(members.values.flatMap { $0 }).sorted().flatMap { topic in
                (0..<(partitionCounts[topic] ?? 0)).map { (topic, $0) }
            }
            var cursor = 0
            for (topic, partition) in all {
                for _ in 0..<memberIds.count {
                    let member = memberIds[cursor % memberIds.count]
                    cursor += 1
                    if members[member]!.contains(topic) {
                        result[member]![topic, default: []].append(partition)
                        break
                    }
                }
            }
        }
        return result
    }
}

import KafkaProtocol
import LogStorage
import Synchronization

/// A live topic: its identity, config and open partition logs.
package struct Topic: Sendable {
    package var name: String
    package var id: KafkaUUID
    /// The topic's own settings (Kafka topic config names), on top of the broker's log defaults.
    var configOverrides: [String: String]
    var config: LogConfig
    /// One log per partition, index = partition number.
    var logs: [PartitionLog]
    var createdMs: Int64
    /// The topic's traffic counters (nil when metrics are off, or for a topic only validated, never created).
    var metrics: TopicMetrics? = nil

    package var partitionCount: Int32 { Int32(logs.count) }

    func log(_ partition: Int32) -> PartitionLog? {
        partition >= 0 && partition < logs.count ? logs[Int(partition)] : nil
    }
}

/// The in-memory catalogue of topics, looked up on every produce and fetch. Thread-safe.
///
/// Only the broker's topic operations (create, delete, add partitions, alter configs) change it, after the
/// metadata store has persisted the change.
package final class TopicRegistry: Sendable {
    private struct State: ~Copyable {
        var byName: [String: Topic] = [:]
        var nameById: [KafkaUUID: String] = [:]
    }

    private let state = Mutex(State())

    func topic(named name: String) -> Topic? { state.withLock { $0.byName[name] } }

    func topic(id: KafkaUUID) -> Topic? {
        state.withLock { state in state.nameById[id].flatMap { state.byName[$0] } }
    }

    /// All topics in name order.
    package var all: [Topic] { state.withLock { $0.byName.values.sorted { $0.name < $1.name } } }

    var names: [String] { state.withLock { $0.byName.keys.sorted() } }

    func put(_ topic: Topic) {
        state.withLock { state in
            state.byName[topic.name] = topic
            state.nameById[topic.id] = topic.name
        }
    }

    @discardableResult
    func remove(_ name: String) -> Topic? {
        state.withLock { state in
            guard let topic = state.byName.removeValue(forKey: name) else { return nil }
            state.nameById[topic.id] = nil
            return topic
        }
    }
}

/// Kafka's rules for topic names: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
enum TopicName {
    static let maxLength = 249

    /// Why `name` is not a legal topic name, or nil if it is.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > maxLength { return "topic name is longer than \(maxLength) characters" }
        let legal = name.utf8.allSatisfy { byte in
            (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                || byte == 46 || byte == 95 || byte == 45
        }
        if !legal { return "topic name '\(name)' contains characters other than ASCII letters, digits, '.', '_' and '-'" }
        return nil
    }

    /// Kafka refuses names that differ from an existing one only by '.' versus '_' (they collide in metrics).
    static func collides(_ name: String, with existing: String) -> Bool {
        name != existing && name.replacingDots() == existing.replacingDots()
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

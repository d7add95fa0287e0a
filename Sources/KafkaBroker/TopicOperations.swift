import KafkaProtocol
import LogStorage
import Timekeeping

/// A topic operation that failed, with the Kafka error code clients act on and a message for humans.
struct TopicError: Error, Equatable, Sendable {
    var code: ErrorCode
    var message: String
}

/// Creating, deleting and changing topics. Each operation persists to the metadata store first, then updates the
/// log manager and the registry, all under one lock so concurrent admin requests cannot interleave.
extension Broker {
    /// Validates and (unless `validateOnly`) creates a topic.
    /// - Parameters:
    ///   - partitions: -1 for the broker default (`num.partitions`).
    ///   - replicationFactor: -1 for the default; anything but 1 is refused (there is one broker).
    ///   - assignments: explicit replica assignments; only this broker may appear in them.
    func createTopic(
        name: String, partitions requested: Int32, replicationFactor: Int16, assignments: [(partition: Int32, brokers: [Int32])] = [],
        configs: [String: String], validateOnly: Bool = false
    ) -> Result<Topic, TopicError> {
        if let problem = TopicName.problem(name) {
            return .failure(TopicError(code: .invalidTopicException, message: problem))
        }
        var partitions = requested == -1 ? config.numPartitions : requested
        if !assignments.isEmpty {
            guard requested == -1 && replicationFactor == -1 else {
                return .failure(TopicError(code: .invalidRequest,
                                           message: "give either partitions and replication factor, or replica assignments"))
            }
            let indexes = assignments.map(\.partition).sorted()
            guard indexes == Array(0..<Int32(indexes.count)) else {
                return .failure(TopicError(code: .invalidReplicaAssignment, message: "partitions must be numbered 0..n-1"))
            }
            guard assignments.allSatisfy({ $0.brokers == [nodeId] }) else {
                return .failure(TopicError(code: .invalidReplicaAssignment,
                                           message: "only broker \(nodeId) exists; every partition must be assigned to [\(nodeId)]"))
            }
            partitions = Int32(indexes.count)
        }
        guard partitions > 0 else {
            return .failure(TopicError(code: .invalidPartitions, message: "number of partitions must be larger than 0"))
        }
        guard partitions <= 100_000 else {
            return .failure(TopicError(code: .invalidPartitions, message: "at most 100000 partitions per topic"))
        }
        let factor = replicationFactor == -1 ? config.defaultReplicationFactor : replicationFactor
        guard factor == 1 else {
            return .failure(TopicError(code: .invalidReplicationFactor,
                                       message: "Replication factor: \(factor) larger than available brokers: 1."))
        }
        let logConfig: LogConfig
        do {
            logConfig = try config.logDefaults.applying(configs)
        } catch {
            return .failure(TopicError(code: .invalidConfig, message: "\(error)"))
        }
        return withTopicChanges { () -> Result<Topic, TopicError> in
            if topics.topic(named: name) != nil {
                return .failure(TopicError(code: .topicAlreadyExists, message: "Topic '\(name)' already exists."))
            }
            if let existing = topics.names.first(where: { TopicName.collides(name, with: $0) }) {
                return .failure(TopicError(code: .invalidTopicException,
                                           message: "Topic '\(name)' collides with existing topic: \(existing)"))
            }
            let stored = StoredTopic(name: name, id: KafkaUUID.random(), partitionCount: partitions, configs: configs,
                                     createdMs: clock.wallClockMs())
            let topic = Topic(name: name, id: stored.id, configOverrides: configs, config: logConfig, logs: [],
                              createdMs: stored.createdMs)
            if validateOnly { return .success(topic) }
            let traffic = metrics.topic(name)
            do {
                try store.createTopic(stored)
                var opened = topic
                opened.metrics = traffic
                for partition in 0..<partitions {
                    opened.logs.append(try logs.openLog(topic: name, partition: partition, config: logConfig))
                }
                topics.put(opened)
                zooKeeper?.enqueueTopicCreated(name: name, id: stored.id.description, partitions: partitions)
                logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitions)", "id": "\(stored.id)"])
                return .success(opened)
            } catch {
                logger.error("creating topic failed", metadata: ["topic": "\(name)", "error": "\(error)"])
                traffic?.destroy()
                try? store.deleteTopic(name)
                try? logs.deleteLogs(topic: name)
                return .failure(TopicError(code: .kafkaStorageError, message: "creating topic \(name) failed: \(error)"))
            }
        }
    }

    /// Deletes a topic: it disappears from the registry first (so produce and fetch fail fast), then from the store
    /// (with its committed offsets), then from disk.
    func deleteTopic(name: String) -> Result<Topic, TopicError> {
        guard config.deleteTopicEnable else {
            return .failure(TopicError(code: .topicDeletionDisabled, message: "topic deletion is disabled (delete.topic.enable=false)"))
        }
        return withTopicChanges { () -> Result<Topic, TopicError> in
            guard let topic = topics.remove(name) else {
                return .failure(TopicError(code: .unknownTopicOrPartition, message: "This server does not host this topic-partition."))
            }
            do {
                topic.metrics?.destroy()
                try store.deleteTopic(name)
                groups.removeOffsets(topic: name)
                try logs.deleteLogs(topic: name)
                purgatory.notify(topic: name, partitions: topic.partitionCount)
                zooKeeper?.enqueueTopicDeleted(name: name)
                logger.info("deleted topic", metadata: ["topic": "\(name)"])
                return .success(topic)
            } catch {
                logger.error("deleting topic failed", metadata: ["topic": "\(name)", "error": "\(error)"])
                return .failure(TopicError(code: .kafkaStorageError, message: "deleting topic \(name) failed: \(error)"))
            }
        }
    }

    /// Grows a topic to `count` partitions (partitions can only be added, as in Kafka).
    func addPartitions(name: String, count: Int32, validateOnly: Bool) -> Result<Topic, TopicError> {
        withTopicChanges { () -> Result<Topic, TopicError> in
            guard var topic = topics.topic(named: name) else {
                return .failure(TopicError(code: .unknownTopicOrPartition, message: "Topic '\(name)' does not exist."))
            }
            guard count > topic.partitionCount else {
                return .failure(TopicError(
                    code: .invalidPartitions,
                    message: "Topic currently has \(topic.partitionCount) partitions, which is higher than or equal to the requested \(count)."))
            }
            guard count <= 100_000 else {
                return .failure(TopicError(code: .invalidPartitions, message: "at most 100000 partitions per topic"))
            }
            if validateOnly { return .success(topic) }
            do {
                try store.setPartitionCount(name, count)
                for partition in topic.partitionCount..<count {
                    topic.logs.append(try logs.openLog(topic: name, partition: partition, config: topic.config))
                }
                topics.put(topic)
                zooKeeper?.enqueueTopicCreated(name: name, id: topic.id.description, partitions: count)
                return .success(topic)
            } catch {
                return .failure(TopicError(code: .kafkaStorageError, message: "adding partitions to \(name) failed: \(error)"))
            }
        }
    }

    /// Replaces a topic's config overrides; the new config applies to its logs at once.
    func setTopicConfig(name: String, overrides: [String: String], validateOnly: Bool) -> Result<Topic, TopicError> {
        let logConfig: LogConfig
        do {
            logConfig = try config.logDefaults.applying(overrides)
        } catch {
            return .failure(TopicError(code: .invalidConfig, message: "\(error)"))
        }
        return withTopicChanges { () -> Result<Topic, TopicError> in
            guard var topic = topics.topic(named: name) else {
                return .failure(TopicError(code: .unknownTopicOrPartition, message: "Topic '\(name)' does not exist."))
            }
            if validateOnly { return .success(topic) }
            do {
                try store.setTopicConfigs(name, overrides)
            } catch {
                return .failure(TopicError(code: .kafkaStorageError, message: "saving config of \(name) failed: \(error)"))
            }
            topic.configOverrides = overrides
            topic.config = logConfig
            for log in topic.logs { log.updateConfig(logConfig) }
            topics.put(topic)
            return .success(topic)
        }
    }
}

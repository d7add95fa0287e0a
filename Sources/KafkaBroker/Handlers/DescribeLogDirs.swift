import KafkaProtocol
import KafkaSecurity
import LogStorage

// DescribeLogDirs (35) v0-4, as Kafka's ReplicaManager.describeLogDirs: DESCRIBE on the cluster (else no results and,
// v3+, CLUSTER_AUTHORIZATION_FAILED); the broker's log directory by absolute path with the size on disk of each
// requested partition (Topics null: all), offset lag 0 and IsFutureKey false (there are no future replicas: no
// intra-broker moves), topics without a matching partition left out; v4 the file system's total and usable bytes.
// An offline directory (a failed write took it offline, see LogDirectoryHealth) is answered KAFKA_STORAGE_ERROR
// with nothing else.
extension Broker {
    func handleDescribeLogDirs(_ request: DescribeLogDirsRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.describe, .cluster) else {
            return context.respond(DescribeLogDirsResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, results: []))
        }
        let wanted: Set<TopicPartition>? = request.topics.map { topics in
            Set(topics.flatMap { topic in topic.partitions.map { TopicPartition(topic: topic.topic, partition: $0) } })
        }
        let path = absolutePath(logs.directory)
        guard !logs.health.isOffline else {
            return context.respond(DescribeLogDirsResponse(throttleTimeMs: 0, errorCode: 0, results: [
                .init(errorCode: ErrorCode.kafkaStorageError.rawValue, logDir: path, topics: []),
            ]))
        }
        var result = DescribeLogDirsResponse.DescribeLogDirsResult(errorCode: 0, logDir: path, topics: [])
        for topic in topics.all {
            let partitions = (0..<topic.partitionCount).compactMap { partition -> DescribeLogDirsResponse.DescribeLogDirsResult.DescribeLogDirsTopic.DescribeLogDirsPartition? in
                guard wanted?.contains(TopicPartition(topic: topic.name, partition: partition)) ?? true,
                      let log = topic.log(partition) else { return nil }
                return .init(partitionIndex: partition, partitionSize: Int64(log.sizeInBytes), offsetLag: 0, isFutureKey: false)
            }
            if !partitions.isEmpty { result.topics.append(.init(name: topic.name, partitions: partitions)) }
        }
        if let space = FileSystemSpace(path: path) {
            result.totalBytes = space.totalBytes
            result.usableBytes = space.usableBytes
        }
        return context.respond(DescribeLogDirsResponse(throttleTimeMs: 0, errorCode: 0, results: [result]))
    }
}

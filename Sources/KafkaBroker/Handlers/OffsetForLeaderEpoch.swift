import KafkaProtocol
import KafkaSecurity
import LogStorage

// OffsetForLeaderEpoch (key 23), v0-4. For each partition, the end offset of the requested leader epoch from the
// partition's leader-epoch cache: the largest known epoch at or below the requested one and the start offset of the
// next larger epoch (the log end for the current epoch); an epoch older than every entry answers with the earliest
// entry's start offset, an unknown newer one (or -1) with -1/-1, all as Kafka's `LeaderEpochFileCache.endOffsetFor`.
// Consumers (KIP-320) ask it after a leader change to detect truncation below their position.
//
// ACLs as Kafka's KafkaApis: CLUSTER_ACTION on the cluster (followers) allows every topic, else DESCRIBE on each
// topic. CurrentLeaderEpoch (v2+) is checked first (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
extension Broker {
    func handleOffsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Result = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult.OffsetForLeaderPartitionResult
        let clusterAction = context.authorize(.clusterAction, .cluster)
        var response = OffsetForLeaderEpochResponse(throttleTimeMs: 0, topics: [])
        for requested in request.topics {
            let authorized = clusterAction || context.authorize(.describe, topic: requested.topic)
            let topic = topics.topic(named: requested.topic)
            let partitions = requested.partitions.map { partition -> Result in
                var result = Result(errorCode: 0, partition: partition.partition, leaderEpoch: -1, endOffset: -1)
                guard authorized else {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return result
                }
                guard let log = topic?.log(partition.partition) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    return result
                }
                let fencing = Self.checkCurrentLeaderEpoch(partition.currentLeaderEpoch, of: log)
                guard fencing == .none else {
                    result.errorCode = fencing.rawValue
                    return result
                }
                let (epoch, offset) = log.endOffset(forEpoch: partition.leaderEpoch)
                result.leaderEpoch = epoch
                result.endOffset = offset
                return result
            }
            response.topics.append(.init(topic: requested.topic, partitions: partitions))
        }
        logger.debug("OffsetForLeaderEpoch", metadata: [
            "client": "\(context.header.clientId ?? "")", "partitions": "\(request.topics.reduce(0) { $0 + $1.partitions.count })",
        ])
        return context.respond(response)
    }

    /// Kafka's `Partition.checkCurrentLeaderEpoch`: a client naming an older epoch than the partition's is fenced
    /// (its metadata is stale), a newer one is unknown here (this broker lags); -1 (no epoch) skips the check.
    static func checkCurrentLeaderEpoch(_ requested: Int32, of log: PartitionLog) -> ErrorCode {
        guard requested >= 0 else { return .none }
        let current = log.leaderEpoch
        if current > requested { return .fencedLeaderEpoch }
        if current < requested { return .unknownLeaderEpoch }
        return .none
    }
}

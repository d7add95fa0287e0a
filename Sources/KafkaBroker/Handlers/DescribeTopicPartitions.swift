import KafkaProtocol
import KafkaSecurity

// DescribeTopicPartitions (75) v0, KIP-966: what Kafka 3.8+ admin clients' describeTopics uses instead of Metadata.
// As Kafka's DescribeTopicPartitionsRequestHandler: topics sorted by name from the cursor's topic on; an empty topic
// list means every topic the principal may DESCRIBE (others silently left out), a named one it may not is answered
// TOPIC_AUTHORIZATION_FAILED without its id; at most min(ResponsePartitionLimit, max.request.partition.size.limit),
// at least 1, partitions per response, with NextCursor where the next page starts. A cursor whose topic is not in the
// list, or whose partition is negative, fails the request with INVALID_REQUEST on every named topic. This single
// node leads every partition; the ELR lists are empty (no KIP-966 election here).
extension Broker {
    /// Kafka's `max.request.partition.size.limit` default.
    static let maxRequestPartitionSizeLimit: Int32 = 2000

    func handleDescribeTopicPartitions(_ request: DescribeTopicPartitionsRequest, _ context: RequestContext) -> RequestOutcome {
        typealias ResponseTopic = DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic
        let fetchAll = request.topics.isEmpty
        let cursorTopic = request.cursor?.topicName ?? ""
        let wanted = Set(fetchAll ? topics.names : request.topics.map(\.name)).filter { $0 >= cursorTopic }
        if let cursor = request.cursor, (!fetchAll && !wanted.contains(cursor.topicName)) || cursor.partitionIndex < 0 {
            return context.respond(DescribeTopicPartitionsResponse(throttleTimeMs: 0, topics: request.topics.map {
                ResponseTopic(errorCode: ErrorCode.invalidRequest.rawValue, name: $0.name, topicId: .zero, isInternal: false,
                              partitions: [])
            }))
        }
        var refused: [ResponseTopic] = []
        let authorized = wanted.sorted().filter { name in
            let allowed = context.authorize(.describe, topic: name)
            if !allowed && !fetchAll {
                refused.append(ResponseTopic(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name,
                                             topicId: .zero, isInternal: false, partitions: []))
            }
            return allowed
        }
        var response = DescribeTopicPartitionsResponse(throttleTimeMs: 0, topics: [])
        var remaining = max(min(Self.maxRequestPartitionSizeLimit, request.responsePartitionLimit), 1)
        for name in authorized {
            guard remaining > 0 else {
                // The previous topic was completed exactly: the next page starts with this one.
                response.nextCursor = .init(topicName: name, partitionIndex: 0)
                break
            }
            guard let topic = topics.topic(named: name) else {
                if !fetchAll {
                    let error: ErrorCode = TopicName.problem(name) == nil ? .unknownTopicOrPartition : .invalidTopicException
                    response.topics.append(ResponseTopic(errorCode: error.rawValue, name: name, topicId: .zero,
                                                         isInternal: false, partitions: []))
                }
                continue
            }
            let start = name == cursorTopic ? request.cursor!.partitionIndex : 0
            let end = min(topic.partitionCount, start + remaining)
            let partitions = start < end ? Array(start..<end) : []
            response.topics.append(ResponseTopic(
                errorCode: 0, name: name, topicId: topic.id, isInternal: false,
                partitions: partitions.map { partition in
                    .init(errorCode: 0, partitionIndex: partition, leaderId: nodeId,
                          leaderEpoch: topic.log(partition)?.leaderEpoch ?? 0, replicaNodes: [nodeId], isrNodes: [nodeId],
                          eligibleLeaderReplicas: [], lastKnownElr: [], offlineReplicas: [])
                },
                topicAuthorizedOperations: security.authorizedOperations(
                    context.principal, host: context.clientHost, Resource(.topic, name), among: Self.topicOperationList)))
            if end < topic.partitionCount {
                response.nextCursor = .init(topicName: name, partitionIndex: end)
                break
            }
            remaining -= Int32(partitions.count)
        }
        response.topics += refused
        return context.respond(response)
    }
}

import KafkaProtocol
import KafkaSecurity
import LogStorage

// ListOffsets (key 2), v1-9. Timestamp -2 = earliest (log start offset), -1 = latest (the log end offset, i.e. the
// true end, not the start of the last batch), -3 = the record with the largest timestamp (v7+), -4 = earliest local
// (v8+; no tiered storage, so the log start), -5 = latest tiered (v9+; nothing is tiered: -1). t >= 0: the first
// record with a timestamp >= t, found through the time index, else offset -1. With read_committed (isolation 1) the
// answer for -1 is the last stable offset, and a timestamp lookup landing at or above it finds nothing (Kafka's
// rule: a read_committed consumer may not be pointed at records it cannot read yet). LeaderEpoch (v4+) is the epoch
// of the leader that wrote the record found (the current epoch for -1), and CurrentLeaderEpoch is checked first
// (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), as Kafka does.
extension Broker {
    func handleListOffsets(_ request: ListOffsetsRequest, _ context: RequestContext) -> RequestOutcome {
        var response = ListOffsetsResponse(throttleTimeMs: 0, topics: [])
        for requested in request.topics {
            let topic = topics.topic(named: requested.name)
            var partitions: [ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse] = []
            // ACLs: DESCRIBE on the topic.
            if !context.authorize(.describe, topic: requested.name) {
                partitions = requested.partitions.map {
                    .init(partitionIndex: $0.partitionIndex, errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                          timestamp: -1, offset: -1, leaderEpoch: -1)
                }
                response.topics.append(.init(name: requested.name, partitions: partitions))
                continue
            }
            for partition in requested.partitions {
                partitions.append(listOffset(topic?.log(partition.partitionIndex), partition,
                                             readCommitted: context.version >= 2 && request.isolationLevel == 1))
            }
            response.topics.append(.init(name: requested.name, partitions: partitions))
        }
        return context.respond(response)
    }

    private func listOffset(
        _ log: PartitionLog?, _ request: ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition, readCommitted: Bool
    ) -> ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse {
        typealias Response = ListOffsetsResponse.ListOffsetsTopicResponse.ListOffsetsPartitionResponse
        guard let log else {
            return Response(partitionIndex: request.partitionIndex, errorCode: ErrorCode.unknownTopicOrPartition.rawValue,
                            timestamp: -1, offset: -1, leaderEpoch: -1)
        }
        let fencing = Self.checkCurrentLeaderEpoch(request.currentLeaderEpoch, of: log)
        guard fencing == .none else {
            return Response(partitionIndex: request.partitionIndex, errorCode: fencing.rawValue, timestamp: -1, offset: -1, leaderEpoch: -1)
        }
        /// The epoch of the record found (of the leader that wrote it), -1 with no record; the current epoch for the log end.
        func answer(_ offset: Int64, _ timestamp: Int64 = -1, epoch: Int32? = nil) -> Response {
            Response(partitionIndex: request.partitionIndex, errorCode: 0, timestamp: timestamp, offset: offset,
                     leaderEpoch: epoch ?? (offset < 0 ? -1 : log.leaderEpoch(ofOffset: offset)))
        }
        switch request.timestamp {
        case -2, -4: return answer(log.logStartOffset)
        case -1: return answer(readCommitted ? log.lastStableOffset : log.logEndOffset, epoch: log.leaderEpoch)
        case -3:
            guard let max = log.maxTimestampOffset, !readCommitted || max.offset < log.lastStableOffset else { return answer(-1) }
            return answer(max.offset, max.timestamp)
        case -5: return answer(-1)
        case let timestamp where timestamp >= 0:
            do {
                guard let found = try log.offset(forTimestamp: timestamp, belowStableOffset: readCommitted) else { return answer(-1) }
                return answer(found.offset, found.timestamp)
            } catch {
                return Response(partitionIndex: request.partitionIndex, errorCode: Self.errorCode(for: error).rawValue,
                                timestamp: -1, offset: -1, leaderEpoch: -1)
            }
        default:
            return Response(partitionIndex: request.partitionIndex, errorCode: ErrorCode.invalidRequest.rawValue,
                            timestamp: -1, offset: -1, leaderEpoch: -1)
        }
    }
}

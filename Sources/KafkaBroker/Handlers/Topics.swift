import KafkaProtocol
import KafkaSecurity
import LogStorage

// CreateTopics (19) v2-7, DeleteTopics (20) v1-6, CreatePartitions (37) v0-3, DeleteRecords (21) v0-2.
// Errors are per topic (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG,
// INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID) with a message from v1+/v5+.
// validateOnly checks everything and changes nothing.
//
// ACLs (Kafka's checks, before existence): CreateTopics needs CREATE on the cluster or the topic, DeleteTopics DELETE
// on the topic (or the cluster), CreatePartitions ALTER, DeleteRecords DELETE; refusals are TOPIC_AUTHORIZATION_FAILED.
extension Broker {
    func handleCreateTopics(_ request: CreateTopicsRequest, _ context: RequestContext) -> RequestOutcome {
        var response = CreateTopicsResponse(throttleTimeMs: 0, topics: [])
        var seen = Set<String>()
        for requested in request.topics {
            var result = CreateTopicsResponse.CreatableTopicResult(name: requested.name, errorCode: 0, numPartitions: -1,
                                                                   replicationFactor: -1, configs: nil)
            guard seen.insert(requested.name).inserted else {
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Create topics request from client contains a duplicate topic name."
                response.topics.append(result)
                continue
            }
            guard context.authorize(.create, .cluster) || context.authorize(.create, topic: requested.name) else {
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                result.errorMessage = "Authorization failed."
                response.topics.append(result)
                continue
            }
            var configs: [String: String] = [:]
            for entry in requested.configs { if let value = entry.value { configs[entry.name] = value } }
            let outcome = createTopic(
                name: requested.name, partitions: requested.numPartitions, replicationFactor: requested.replicationFactor,
                assignments: requested.assignments.map { ($0.partitionIndex, $0.brokerIds) }, configs: configs,
                validateOnly: request.validateOnly)
            switch outcome {
            case .success(let topic):
                result.topicId = request.validateOnly ? .zero : topic.id
                result.numPartitions = request.validateOnly ? (requested.numPartitions == -1 ? config.numPartitions : requested.numPartitions) : topic.partitionCount
                result.replicationFactor = 1
                result.configs = describeTopicConfig(topic.config, overrides: topic.configOverrides, keys: nil, synonyms: false, version: 1)
                    .map { .init(name: $0.name, value: $0.value, readOnly: $0.readOnly, configSource: $0.configSource, isSensitive: false) }
            case .failure(let error):
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.topics.append(result)
        }
        return context.respond(response)
    }

    func handleDeleteTopics(_ request: DeleteTopicsRequest, _ context: RequestContext) -> RequestOutcome {
        var response = DeleteTopicsResponse(throttleTimeMs: 0, responses: [])
        let targets: [(name: String?, id: KafkaUUID)] = context.version >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, .zero) }
        for target in targets {
            var result = DeleteTopicsResponse.DeletableTopicResult(name: target.name, topicId: target.id, errorCode: 0)
            var name = target.name
            if name == nil || (context.version >= 6 && !target.id.isZero && name!.isEmpty) {
                guard let topic = topics.topic(id: target.id) else {
                    result.errorCode = ErrorCode.unknownTopicId.rawValue
                    result.errorMessage = "This server does not host this topic ID."
                    response.responses.append(result)
                    continue
                }
                name = topic.name
            }
            guard context.authorize(.delete, .cluster) || context.authorize(.delete, topic: name!) else {
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                result.errorMessage = "Authorization failed."
                response.responses.append(result)
                continue
            }
            switch deleteTopic(name: name!) {
            case .success(let topic):
                result.name = topic.name
                result.topicId = topic.id
            case .failure(let error):
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.responses.append(result)
        }
        return context.respond(response)
    }

    func handleCreatePartitions(_ request: CreatePartitionsRequest, _ context: RequestContext) -> RequestOutcome {
        var response = CreatePartitionsResponse(throttleTimeMs: 0, results: [])
        for requested in request.topics {
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult(name: requested.name, errorCode: 0, errorMessage: nil)
            if !context.authorize(.alter, topic: requested.name) {
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                result.errorMessage = "The topic authorization is failed."
            } else if let assignments = requested.assignments, !assignments.allSatisfy({ $0.brokerIds == [nodeId] }) {
                result.errorCode = ErrorCode.invalidReplicaAssignment.rawValue
                result.errorMessage = "only broker \(nodeId) exists; every new partition must be assigned to [\(nodeId)]"
            } else if case .failure(let error) = addPartitions(name: requested.name, count: requested.count, validateOnly: request.validateOnly) {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.results.append(result)
        }
        return context.respond(response)
    }

    func handleDeleteRecords(_ request: DeleteRecordsRequest, _ context: RequestContext) -> RequestOutcome {
        var response = DeleteRecordsResponse(throttleTimeMs: 0, topics: [])
        for requested in request.topics {
            let topic = topics.topic(named: requested.name)
            let mayDelete = context.authorize(.delete, topic: requested.name)
            let partitions = requested.partitions.map { partition -> DeleteRecordsResponse.DeleteRecordsTopicResult.DeleteRecordsPartitionResult in
                guard mayDelete else {
                    return .init(partitionIndex: partition.partitionIndex, lowWatermark: -1,
                                 errorCode: ErrorCode.topicAuthorizationFailed.rawValue)
                }
                guard let log = topic?.log(partition.partitionIndex) else {
                    return .init(partitionIndex: partition.partitionIndex, lowWatermark: -1,
                                 errorCode: ErrorCode.unknownTopicOrPartition.rawValue)
                }
                // As Kafka: a compact-only log keeps its records until the cleaner removes them.
                guard log.config.cleanupPolicy.delete else {
                    return .init(partitionIndex: partition.partitionIndex, lowWatermark: -1,
                                 errorCode: ErrorCode.policyViolation.rawValue)
                }
                do throws(StorageError) {
                    // -1 means "up to the high watermark".
                    let target = partition.offset == -1 ? log.highWatermark : partition.offset
                    return .init(partitionIndex: partition.partitionIndex, lowWatermark: try log.deleteRecords(before: target), errorCode: 0)
                } catch {
                    return .init(partitionIndex: partition.partitionIndex, lowWatermark: -1, errorCode: Self.errorCode(for: error).rawValue)
                }
            }
            response.topics.append(.init(name: requested.name, partitions: partitions))
        }
        return context.respond(response)
    }
}

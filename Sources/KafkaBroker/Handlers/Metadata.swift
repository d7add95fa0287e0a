import KafkaProtocol

// Metadata (key 3), v0-12. Topics null = all topics; an empty array = none (v1+; in v0 empty meant all). Unknown
// topics are created when the client allows it (v4+ flag; always before v4) and auto.create.topics.enable is on.
// v10+ carry topic ids, which must be stable (Fetch v13+ addresses topics by id). Authorized-operation fields are
// INT32_MIN ("not provided") unless asked for: -1 crashes kafka-python's admin client.
extension Broker {
    /// All operations on a topic, as a bitfield of Kafka AclOperation codes (no authorizer: everything is allowed).
    static let topicOperations: Int32 = [3, 4, 5, 6, 7, 8, 10, 11].reduce(0) { $0 | (1 << $1) }
    static let clusterOperations: Int32 = [5, 7, 8, 9, 10, 11, 12].reduce(0) { $0 | (1 << $1) }
    static let groupOperations: Int32 = [3, 6, 8].reduce(0) { $0 | (1 << $1) }
    static let operationsNotProvided = Int32.min

    func handleMetadata(_ request: MetadataRequest, _ context: RequestContext) -> RequestOutcome {
        let version = context.version
        let listener = advertisedListener
        var response = MetadataResponse(
            throttleTimeMs: 0,
            brokers: [.init(nodeId: nodeId, host: listener.host, port: Int32(listener.port), rack: nil)],
            clusterId: clusterId, controllerId: nodeId, topics: [],
            clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? Self.clusterOperations : Self.operationsNotProvided)
        let includeOperations = request.includeTopicAuthorizedOperations
        let allTopics = request.topics == nil || (version == 0 && request.topics!.isEmpty)
        if allTopics {
            response.topics = topics.all.map { metadataTopic($0, includeOperations: includeOperations) }
            return context.respond(response)
        }
        let allowAutoCreate = (version < 4 || request.allowAutoTopicCreation) && config.autoCreateTopics
        for requested in request.topics ?? [] {
            if version >= 10, requested.name == nil {
                if let topic = topics.topic(id: requested.topicId) {
                    response.topics.append(metadataTopic(topic, includeOperations: includeOperations))
                } else {
                    response.topics.append(.init(errorCode: ErrorCode.unknownTopicId.rawValue, name: nil, topicId: requested.topicId,
                                                 topicAuthorizedOperations: Self.operationsNotProvided))
                }
                continue
            }
            let name = requested.name ?? ""
            if let topic = topics.topic(named: name) {
                response.topics.append(metadataTopic(topic, includeOperations: includeOperations))
                continue
            }
            var error = ErrorCode.unknownTopicOrPartition
            if TopicName.problem(name) != nil {
                error = .invalidTopicException
            } else if allowAutoCreate {
                switch createTopic(name: name, partitions: -1, replicationFactor: -1, configs: [:]) {
                case .success(let topic):
                    response.topics.append(metadataTopic(topic, includeOperations: includeOperations))
                    continue
                case .failure(let failure):
                    // A concurrent request may have created it a moment ago.
                    if failure.code == .topicAlreadyExists, let topic = topics.topic(named: name) {
                        response.topics.append(metadataTopic(topic, includeOperations: includeOperations))
                        continue
                    }
                    error = failure.code
                }
            }
            response.topics.append(.init(errorCode: error.rawValue, name: name, topicAuthorizedOperations: Self.operationsNotProvided))
        }
        return context.respond(response)
    }

    func metadataTopic(_ topic: Topic, includeOperations: Bool) -> MetadataResponse.MetadataResponseTopic {
        MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: topic.name, topicId: topic.id, isInternal: false,
            partitions: (0..<topic.partitionCount).map { partition in
                .init(errorCode: 0, partitionIndex: partition, leaderId: nodeId, leaderEpoch: 0,
                      replicaNodes: [nodeId], isrNodes: [nodeId], offlineReplicas: [])
            },
            topicAuthorizedOperations: includeOperations ? Self.topicOperations : Self.operationsNotProvided)
    }

    // DescribeCluster (key 60), v0-1: the same facts as Metadata's broker list, for admin clients.
    func handleDescribeCluster(_ request: DescribeClusterRequest, _ context: RequestContext) -> RequestOutcome {
        let listener = advertisedListener
        return context.respond(DescribeClusterResponse(
            throttleTimeMs: 0, errorCode: 0, errorMessage: nil, endpointType: request.endpointType, clusterId: clusterId,
            controllerId: nodeId,
            brokers: [.init(brokerId: nodeId, host: listener.host, port: Int32(listener.port), rack: nil)],
            clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? Self.clusterOperations : Self.operationsNotProvided))
    }
}

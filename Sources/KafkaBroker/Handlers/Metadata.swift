import KafkaProtocol
import KafkaSecurity

// Metadata (key 3), v0-12. Topics null = all topics; an empty array = none (v1+; in v0 empty meant all). Unknown
// topics are created when the client allows it (v4+ flag; always before v4) and auto.create.topics.enable is on.
// v10+ carry topic ids, which must be stable (Fetch v13+ addresses topics by id). Authorized-operation fields are
// INT32_MIN ("not provided") unless asked for: -1 crashes kafka-python's admin client.
//
// ACLs: topics the principal may not DESCRIBE are left out of an all-topics answer and answered
// TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs CREATE on the cluster or the topic. Authorized-operation
// bitfields come from the authorizer (every operation without one).
extension Broker {
    /// The operations Kafka evaluates for each resource type's authorized-operations bitfield.
    static let topicOperationList: [AclOperation] = [.read, .write, .create, .describe, .delete, .alter, .describeConfigs, .alterConfigs]
    static let clusterOperationList: [AclOperation] = [.create, .clusterAction, .describeConfigs, .alterConfigs, .idempotentWrite, .alter, .describe]
    static let groupOperationList: [AclOperation] = [.read, .describe, .delete]
    static let operationsNotProvided = Int32.min

    /// The cluster bitfield: 0 when the principal may not DESCRIBE the cluster, as Kafka.
    func clusterAuthorizedOperations(_ context: RequestContext) -> Int32 {
        guard context.authorize(.describe, .cluster) else { return 0 }
        return security.authorizedOperations(context.principal, host: context.clientHost, .cluster, among: Self.clusterOperationList)
    }

    func handleMetadata(_ request: MetadataRequest, _ context: RequestContext) -> RequestOutcome {
        let version = context.version
        let listener = advertisedListener(named: context.session.listenerName)
        var response = MetadataResponse(
            throttleTimeMs: 0,
            brokers: [.init(nodeId: nodeId, host: listener.host, port: Int32(listener.port), rack: nil)],
            clusterId: clusterId, controllerId: nodeId, topics: [],
            clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
                ? clusterAuthorizedOperations(context) : Self.operationsNotProvided)
        let includeOperations = request.includeTopicAuthorizedOperations
        let allTopics = request.topics == nil || (version == 0 && request.topics!.isEmpty)
        func describe(_ topic: Topic) -> MetadataResponse.MetadataResponseTopic {
            metadataTopic(topic, includeOperations: includeOperations, context: context)
        }
        func refused(_ name: String?) -> MetadataResponse.MetadataResponseTopic {
            .init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name, topicAuthorizedOperations: Self.operationsNotProvided)
        }
        if allTopics {
            response.topics = topics.all.filter { context.authorize(.describe, topic: $0.name) }.map(describe)
            return context.respond(response)
        }
        let allowAutoCreate = (version < 4 || request.allowAutoTopicCreation) && config.autoCreateTopics
        for requested in request.topics ?? [] {
            if version >= 10, requested.name == nil {
                if let topic = topics.topic(id: requested.topicId) {
                    response.topics.append(context.authorize(.describe, topic: topic.name) ? describe(topic) : refused(nil))
                } else {
                    response.topics.append(.init(errorCode: ErrorCode.unknownTopicId.rawValue, name: nil, topicId: requested.topicId,
                                                 topicAuthorizedOperations: Self.operationsNotProvided))
                }
                continue
            }
            let name = requested.name ?? ""
            guard context.authorize(.describe, topic: name) else {
                response.topics.append(refused(name))
                continue
            }
            if let topic = topics.topic(named: name) {
                response.topics.append(describe(topic))
                continue
            }
            var error = ErrorCode.unknownTopicOrPartition
            if TopicName.problem(name) != nil {
                error = .invalidTopicException
            } else if allowAutoCreate && !context.authorize(.create, .cluster) && !context.authorize(.create, topic: name) {
                error = .topicAuthorizationFailed
            } else if allowAutoCreate {
                switch createTopic(name: name, partitions: -1, replicationFactor: -1, configs: [:]) {
                case .success(let topic):
                    response.topics.append(describe(topic))
                    continue
                case .failure(let failure):
                    // A concurrent request may have created it a moment ago.
                    if failure.code == .topicAlreadyExists, let topic = topics.topic(named: name) {
                        response.topics.append(describe(topic))
                        continue
                    }
                    error = failure.code
                }
            }
            response.topics.append(.init(errorCode: error.rawValue, name: name, topicAuthorizedOperations: Self.operationsNotProvided))
        }
        return context.respond(response)
    }

    func metadataTopic(_ topic: Topic, includeOperations: Bool, context: RequestContext) -> MetadataResponse.MetadataResponseTopic {
        MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: topic.name, topicId: topic.id, isInternal: false,
            partitions: (0..<topic.partitionCount).map { partition in
                .init(errorCode: 0, partitionIndex: partition, leaderId: nodeId, leaderEpoch: topic.log(partition)?.leaderEpoch ?? 0,
                      replicaNodes: [nodeId], isrNodes: [nodeId], offlineReplicas: [])
            },
            topicAuthorizedOperations: includeOperations
                ? security.authorizedOperations(context.principal, host: context.clientHost, Resource(.topic, topic.name),
                                                among: Self.topicOperationList)
                : Self.operationsNotProvided)
    }

    // DescribeCluster (key 60), v0-1: the same facts as Metadata's broker list, for admin clients.
    func handleDescribeCluster(_ request: DescribeClusterRequest, _ context: RequestContext) -> RequestOutcome {
        let listener = advertisedListener(named: context.session.listenerName)
        return context.respond(DescribeClusterResponse(
            throttleTimeMs: 0, errorCode: 0, errorMessage: nil, endpointType: request.endpointType, clusterId: clusterId,
            controllerId: nodeId,
            brokers: [.init(brokerId: nodeId, host: listener.host, port: Int32(listener.port), rack: nil)],
            clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
                ? clusterAuthorizedOperations(context) : Self.operationsNotProvided))
    }
}

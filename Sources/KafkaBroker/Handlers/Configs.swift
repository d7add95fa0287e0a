import KafkaProtocol
import KafkaSecurity
import LogStorage

// DescribeConfigs (32) v1-4 and IncrementalAlterConfigs (44) v0-1.
// Topics (resource type 2) report every supported topic config with its source: DYNAMIC_TOPIC_CONFIG (1) when set on
// the topic, STATIC_BROKER_CONFIG (4) when it comes from server.properties, DEFAULT_CONFIG (5) otherwise; with
// IncludeSynonyms, the chain of sources. The broker (type 4) reports its static settings, read-only.
// IncrementalAlterConfigs changes topic configs (SET 0, DELETE 1, APPEND 2, SUBTRACT 3); broker settings are static.
// ACLs: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or the cluster for the broker
// (CLUSTER_AUTHORIZATION_FAILED).
extension Broker {
    enum ConfigSource: Int8 {
        case dynamicTopic = 1
        case staticBroker = 4
        case defaultConfig = 5
    }

    /// Kafka's config types (DescribeConfigs v3+).
    static let configTypes: [String: Int8] = [
        "cleanup.policy": 7, "compression.type": 2, "delete.retention.ms": 5, "max.compaction.lag.ms": 5,
        "min.cleanable.dirty.ratio": 6, "min.compaction.lag.ms": 5, "flush.messages": 5, "flush.ms": 5, "index.interval.bytes": 3,
        "max.message.bytes": 3, "message.timestamp.type": 2, "min.insync.replicas": 3, "retention.bytes": 5,
        "retention.ms": 5, "segment.bytes": 3, "segment.index.bytes": 3, "segment.ms": 5,
    ]

    /// The broker property that provides each topic key's default (its "synonym").
    static let brokerSynonyms: [String: String] = [
        "cleanup.policy": "log.cleanup.policy", "delete.retention.ms": "log.cleaner.delete.retention.ms",
        "max.compaction.lag.ms": "log.cleaner.max.compaction.lag.ms", "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
        "min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms", "flush.messages": "log.flush.interval.messages",
        "flush.ms": "log.flush.interval.ms", "index.interval.bytes": "log.index.interval.bytes",
        "max.message.bytes": "message.max.bytes", "message.timestamp.type": "log.message.timestamp.type",
        "retention.bytes": "log.retention.bytes", "retention.ms": "log.retention.ms", "segment.bytes": "log.segment.bytes",
        "segment.index.bytes": "log.index.size.max.bytes", "segment.ms": "log.roll.ms",
    ]

    struct ConfigEntry {
        var name: String
        var value: String?
        var readOnly: Bool
        var configSource: Int8
        var synonyms: [DescribeConfigsResponse.DescribeConfigsResult.DescribeConfigsResourceResult.DescribeConfigsSynonym]
        var configType: Int8
    }

    /// The describe view of a topic's config. `keys` nil means every key.
    func describeTopicConfig(_ topicConfig: LogConfig, overrides: [String: String], keys: [String]?, synonyms: Bool, version: Int16) -> [ConfigEntry] {
        let defaults = config.logDefaults
        let defaultValues = Dictionary(uniqueKeysWithValues: defaults.entries.map { ($0.name, $0.value) })
        return topicConfig.entries.filter { keys == nil || keys!.contains($0.name) }.map { entry in
            let brokerKey = Self.brokerSynonyms[entry.name]
            let brokerSet = brokerKey.map { key in
                config.explicitKeys.contains(key) || LogConfig.brokerPropertyNames.contains { config.explicitKeys.contains($0.key) && $0.value == entry.name }
            } ?? false
            let source: ConfigSource = overrides[entry.name] != nil ? .dynamicTopic : (brokerSet ? .staticBroker : .defaultConfig)
            var chain: [DescribeConfigsResponse.DescribeConfigsResult.DescribeConfigsResourceResult.DescribeConfigsSynonym] = []
            if synonyms {
                if let value = overrides[entry.name] { chain.append(.init(name: entry.name, value: value, source: ConfigSource.dynamicTopic.rawValue)) }
                if let brokerKey {
                    chain.append(.init(name: brokerKey, value: defaultValues[entry.name],
                                       source: (brokerSet ? ConfigSource.staticBroker : .defaultConfig).rawValue))
                }
            }
            return ConfigEntry(name: entry.name, value: entry.value, readOnly: false, configSource: source.rawValue,
                               synonyms: chain, configType: Self.configTypes[entry.name] ?? 2)
        }
    }

    /// The broker's own settings, as Kafka's names.
    func brokerConfigEntries() -> [(name: String, value: String, type: Int8)] {
        var entries: [(String, String, Int8)] = [
            ("broker.id", "\(config.nodeId)", 3),
            ("node.id", "\(config.nodeId)", 3),
            ("listeners", config.listeners.map(\.description).joined(separator: ","), 7),
            ("advertised.listeners", advertisedListener.description, 7),
            ("log.dirs", config.logDirs.joined(separator: ","), 2),
            ("num.partitions", "\(config.numPartitions)", 3),
            ("default.replication.factor", "\(config.defaultReplicationFactor)", 3),
            ("auto.create.topics.enable", "\(config.autoCreateTopics)", 1),
            ("delete.topic.enable", "\(config.deleteTopicEnable)", 1),
            ("socket.request.max.bytes", "\(config.socketRequestMaxBytes)", 3),
            ("group.initial.rebalance.delay.ms", "\(config.groupInitialRebalanceDelayMs)", 3),
            ("group.min.session.timeout.ms", "\(config.groupMinSessionTimeoutMs)", 3),
            ("group.max.session.timeout.ms", "\(config.groupMaxSessionTimeoutMs)", 3),
            ("log.retention.check.interval.ms", "\(config.logRetentionCheckIntervalMs)", 5),
            ("log.cleaner.enable", "\(config.cleaner.enabled)", 1),
            ("log.cleaner.dedupe.buffer.size", "\(config.cleaner.dedupeBufferSize)", 5),
            ("log.cleaner.io.buffer.size", "\(config.cleaner.ioBufferSize)", 3),
            ("log.cleaner.backoff.ms", "\(config.cleaner.backoffMs)", 5),
            ("log.reservation.budget.bytes", "\(reservationBudgetBytes)", 5),
            ("num.io.threads", "\(config.ioThreads)", 3),
            ("producer.id.expiration.ms", "\(config.producerIdExpirationMs)", 3),
            ("max.incremental.fetch.session.cache.slots", "\(config.maxIncrementalFetchSessionCacheSlots)", 3),
            ("min.incremental.fetch.session.eviction.ms", "\(config.minIncrementalFetchSessionEvictionMs)", 3),
            ("transaction.max.timeout.ms", "\(config.transactionMaxTimeoutMs)", 3),
            ("transactional.id.expiration.ms", "\(config.transactionalIdExpirationMs)", 3),
            ("listener.security.protocol.map",
             config.listenerSecurityProtocolMap.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","), 2),
            ("connections.max.reauth.ms", "\(config.connectionsMaxReauthMs)", 5),
            ("connection.failed.authentication.delay.ms", "\(config.connectionFailedAuthenticationDelayMs)", 3),
            ("sasl.server.max.receive.size", "\(config.saslServerMaxReceiveSize)", 3),
            ("sasl.enabled.mechanisms", config.securityProperties["sasl.enabled.mechanisms"] ?? "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", 7),
            ("ssl.client.auth", config.securityProperties["ssl.client.auth"] ?? "none", 2),
            ("authorizer.class.name", config.authorizerEnabled ? "kafka.security.authorizer.AclAuthorizer" : "", 2),
            ("super.users", config.superUsers.sorted().joined(separator: ";"), 2),
            ("allow.everyone.if.no.acl.found", "\(config.allowEveryoneIfNoAclFound)", 1),
        ]
        for (topicKey, brokerKey) in Self.brokerSynonyms.sorted(by: { $0.value < $1.value }) {
            if let value = config.logDefaults.entries.first(where: { $0.name == topicKey })?.value {
                entries.append((brokerKey, value, Self.configTypes[topicKey] ?? 2))
            }
        }
        if let zookeeper = config.zookeeperConnect { entries.append(("zookeeper.connect", zookeeper, 2)) }
        entries += config.consumerGroups.describedEntries
        return entries.sorted { $0.0 < $1.0 }
    }

    func handleDescribeConfigs(_ request: DescribeConfigsRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Result = DescribeConfigsResponse.DescribeConfigsResult
        var response = DescribeConfigsResponse(throttleTimeMs: 0, results: [])
        for resource in request.resources {
            var result = Result(errorCode: 0, errorMessage: nil, resourceType: resource.resourceType,
                                resourceName: resource.resourceName, configs: [])
            switch resource.resourceType {
            case 2 where !context.authorize(.describeConfigs, topic: resource.resourceName):
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                result.errorMessage = "\(context.principal) may not DescribeConfigs on topic \(resource.resourceName)"
            case 4 where !context.authorize(.describeConfigs, .cluster):
                result.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
                result.errorMessage = "\(context.principal) may not DescribeConfigs on the cluster"
            case 2:
                guard let topic = topics.topic(named: resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic '\(resource.resourceName)' does not exist."
                    break
                }
                result.configs = describeTopicConfig(
                    topic.config, overrides: topic.configOverrides, keys: resource.configurationKeys,
                    synonyms: request.includeSynonyms, version: context.version
                ).map {
                    .init(name: $0.name, value: $0.value, readOnly: $0.readOnly, configSource: $0.configSource,
                          isSensitive: false, synonyms: $0.synonyms, configType: $0.configType, documentation: nil)
                }
            case 4:
                guard resource.resourceName.isEmpty || resource.resourceName == "\(nodeId)" else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "broker \(resource.resourceName) does not exist; this is broker \(nodeId)"
                    break
                }
                result.configs = brokerConfigEntries()
                    .filter { resource.configurationKeys == nil || resource.configurationKeys!.contains($0.name) }
                    .map { entry in
                        let source: ConfigSource = config.explicitKeys.contains(entry.name) ? .staticBroker : .defaultConfig
                        return .init(name: entry.name, value: entry.value, readOnly: true, configSource: source.rawValue,
                                     isSensitive: false,
                                     synonyms: request.includeSynonyms ? [.init(name: entry.name, value: entry.value, source: source.rawValue)] : [],
                                     configType: entry.type, documentation: nil)
                    }
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "resource type \(resource.resourceType) is not supported (topics are 2, brokers 4)"
            }
            response.results.append(result)
        }
        return context.respond(response)
    }

    func handleIncrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest, _ context: RequestContext) -> RequestOutcome {
        let responses = request.resources.map { resource in
            let (error, message) = alterConfigs(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                brokerKeys: resource.configs.map(\.name), validateOnly: request.validateOnly, context: context
            ) { topic in Self.applyIncremental(resource.configs, to: topic.configOverrides, defaults: topic.config) }
            return IncrementalAlterConfigsResponse.AlterConfigsResourceResponse(
                errorCode: error.rawValue, errorMessage: message, resourceType: resource.resourceType,
                resourceName: resource.resourceName)
        }
        return context.respond(IncrementalAlterConfigsResponse(throttleTimeMs: 0, responses: responses))
    }

    /// One resource of AlterConfigs or IncrementalAlterConfigs: the ACL check (ALTER_CONFIGS on the topic, or the
    /// cluster for a broker), then for a topic the new overrides from `overrides` (given the live topic), validated
    /// against the topic config rules and stored unless `validateOnly`. Broker settings are static here: a request
    /// changing any (`brokerKeys`) is refused as Kafka refuses a non-dynamic broker config; an empty change is a
    /// no-op. Other resource types are INVALID_REQUEST.
    func alterConfigs(
        resourceType: Int8, resourceName: String, brokerKeys: [String], validateOnly: Bool, context: RequestContext,
        overrides: (Topic) -> Result<[String: String], TopicError>
    ) -> (ErrorCode, String?) {
        switch resourceType {
        case 2 where !context.authorize(.alterConfigs, topic: resourceName):
            return (.topicAuthorizationFailed, "\(context.principal) may not AlterConfigs on topic \(resourceName)")
        case 4 where !context.authorize(.alterConfigs, .cluster):
            return (.clusterAuthorizationFailed, "\(context.principal) may not AlterConfigs on the cluster")
        case 2:
            guard !resourceName.isEmpty else { return (.invalidRequest, "Default topic resources are not allowed.") }
            guard let topic = topics.topic(named: resourceName) else {
                return (.unknownTopicOrPartition, "Topic '\(resourceName)' does not exist.")
            }
            let outcome = overrides(topic).flatMap { setTopicConfig(name: topic.name, overrides: $0, validateOnly: validateOnly) }
            if case .failure(let error) = outcome { return (error.code, error.message) }
            return (.none, nil)
        case 4:
            guard resourceName.isEmpty || resourceName == "\(nodeId)" else {
                return (.invalidRequest, "broker \(resourceName) does not exist; this is broker \(nodeId)")
            }
            guard brokerKeys.isEmpty else {
                return (.invalidRequest, "Cannot update these configs dynamically: \(brokerKeys.sorted().joined(separator: ", ")) "
                        + "(broker settings are static: edit server.properties and restart)")
            }
            return (.none, nil)
        default:
            return (.invalidRequest, "AlterConfigs is only supported for topics and brokers, but resource type is \(resourceType)")
        }
    }

    /// Applies SET/DELETE/APPEND/SUBTRACT operations to a topic's overrides.
    static func applyIncremental(
        _ operations: [IncrementalAlterConfigsRequest.AlterConfigsResource.AlterableConfig], to current: [String: String],
        defaults: LogConfig
    ) -> Result<[String: String], TopicError> {
        var overrides = current
        for operation in operations {
            switch operation.configOperation {
            case 0:
                guard let value = operation.value else {
                    return .failure(TopicError(code: .invalidConfig, message: "SET \(operation.name) needs a value"))
                }
                overrides[operation.name] = value
            case 1:
                overrides[operation.name] = nil
            case 2, 3:
                guard Self.configTypes[operation.name] == 7 else {
                    return .failure(TopicError(code: .invalidConfig, message: "\(operation.name) is not a list config"))
                }
                let existing = (overrides[operation.name] ?? defaults.entries.first { $0.name == operation.name }?.value ?? "")
                    .split(separator: ",").map(String.init)
                let values = (operation.value ?? "").split(separator: ",").map(String.init)
                let updated = operation.configOperation == 2
                    ? existing + values.filter { !existing.contains($0) }
                    : existing.filter { !values.contains($0) }
                overrides[operation.name] = updated.joined(separator: ",")
            default:
                return .failure(TopicError(code: .invalidRequest, message: "unknown config operation \(operation.configOperation)"))
            }
        }
        return .success(overrides)
    }
}

import KafkaProtocol

// AlterConfigs (33) v0-2, the legacy non-incremental form kafka-python's alter_configs and older tools send: the
// configs given become the topic's whole set of dynamic configs, every other override reverting to its default.
// Validation, ACLs and the write are shared with IncrementalAlterConfigs (`Broker.alterConfigs` in Configs.swift).
// A null value is refused as Kafka's KRaft controller refuses it (INVALID_CONFIG).
extension Broker {
    func handleAlterConfigs(_ request: AlterConfigsRequest, _ context: RequestContext) -> RequestOutcome {
        let responses = request.resources.map { resource in
            let (error, message) = alterConfigs(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                brokerKeys: resource.configs.map(\.name), validateOnly: request.validateOnly, context: context
            ) { _ in Self.replacementOverrides(resource.configs) }
            return AlterConfigsResponse.AlterConfigsResourceResponse(
                errorCode: error.rawValue, errorMessage: message, resourceType: resource.resourceType,
                resourceName: resource.resourceName)
        }
        return context.respond(AlterConfigsResponse(throttleTimeMs: 0, responses: responses))
    }

    /// The overrides a legacy AlterConfigs asks for: exactly the configs sent (the last of a repeated name wins).
    static func replacementOverrides(
        _ configs: [AlterConfigsRequest.AlterConfigsResource.AlterableConfig]
    ) -> Result<[String: String], TopicError> {
        let nulls = configs.filter { $0.value == nil }.map(\.name)
        guard nulls.isEmpty else {
            return .failure(TopicError(code: .invalidConfig,
                                       message: "Null value not supported for topic configs: \(nulls.joined(separator: ","))"))
        }
        var overrides: [String: String] = [:]
        for config in configs { overrides[config.name] = config.value }
        return .success(overrides)
    }
}

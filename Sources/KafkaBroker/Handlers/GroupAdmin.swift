import GroupCoordinator
import KafkaProtocol
import KafkaSecurity

// DeleteGroups (42) v0-2 and OffsetDelete (47) v0, as Kafka's KafkaApis and GroupCoordinator answer them.
// DeleteGroups: DELETE on each group (GROUP_AUTHORIZATION_FAILED otherwise); duplicates answered once; only Empty
// groups go, with their committed offsets (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, INVALID_GROUP_ID otherwise).
// OffsetDelete: DELETE on the group (else the whole request fails with GROUP_AUTHORIZATION_FAILED), READ on each
// topic (TOPIC_AUTHORIZATION_FAILED per partition); unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION; the
// coordinator refuses partitions of topics the group's members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).
extension Broker {
    func handleDeleteGroups(_ request: DeleteGroupsRequest, _ context: RequestContext) -> RequestOutcome {
        var seen = Set<String>()
        let groupIds = request.groupsNames.filter { seen.insert($0).inserted }
        let authorized = groupIds.filter { context.authorize(.delete, group: $0) }
        let errors = Dictionary(uniqueKeysWithValues: zip(authorized, groups.deleteGroups(authorized)))
        for (groupId, error) in errors where error == .none {
            logger.info("deleted group", metadata: ["group": "\(groupId)", "principal": "\(context.principal)"])
        }
        let results = groupIds.map { groupId in
            DeleteGroupsResponse.DeletableGroupResult(
                groupId: groupId, errorCode: (errors[groupId] ?? .groupAuthorizationFailed).rawValue)
        }
        return context.respond(DeleteGroupsResponse(throttleTimeMs: 0, results: results))
    }

    func handleOffsetDelete(_ request: OffsetDeleteRequest, _ context: RequestContext) -> RequestOutcome {
        typealias ResponseTopic = OffsetDeleteResponse.OffsetDeleteResponseTopic
        guard context.authorize(.delete, group: request.groupId) else {
            return context.respond(OffsetDeleteResponse(
                errorCode: ErrorCode.groupAuthorizationFailed.rawValue, throttleTimeMs: 0, topics: []))
        }
        var screened: [TopicPartition: ErrorCode] = [:]
        var candidates: [TopicPartition] = []
        for topic in request.topics {
            let partitions = topic.partitions.map { TopicPartition(topic: topic.name, partition: $0.partitionIndex) }
            if !context.authorize(.read, topic: topic.name) {
                for partition in partitions { screened[partition] = .topicAuthorizationFailed }
            } else if let known = topics.topic(named: topic.name) {
                for partition in partitions {
                    if known.log(partition.partition) == nil {
                        screened[partition] = .unknownTopicOrPartition
                    } else {
                        candidates.append(partition)
                    }
                }
            } else {
                for partition in partitions { screened[partition] = .unknownTopicOrPartition }
            }
        }
        let plan = groups.deleteOffsets(groupId: request.groupId, partitions: candidates)
        if plan.groupError != .none {
            return context.respond(OffsetDeleteResponse(errorCode: plan.groupError.rawValue, throttleTimeMs: 0, topics: []))
        }
        let answers = screened.merging(plan.partitionErrors) { first, _ in first }
        // Topics and partitions in request order, each once.
        var topicsOut: [ResponseTopic] = []
        var answered = Set<TopicPartition>()
        for topic in request.topics {
            var partitions: [ResponseTopic.OffsetDeleteResponsePartition] = []
            for requested in topic.partitions {
                let partition = TopicPartition(topic: topic.name, partition: requested.partitionIndex)
                guard answered.insert(partition).inserted, let error = answers[partition] else { continue }
                partitions.append(.init(partitionIndex: requested.partitionIndex, errorCode: error.rawValue))
            }
            if let index = topicsOut.firstIndex(where: { $0.name == topic.name }) {
                topicsOut[index].partitions += partitions
            } else {
                topicsOut.append(ResponseTopic(name: topic.name, partitions: partitions))
            }
        }
        return context.respond(OffsetDeleteResponse(errorCode: 0, throttleTimeMs: 0, topics: topicsOut))
    }
}

import GroupCoordinator
import KafkaProtocol
import KafkaSecurity

// The KIP-848 consumer group protocol: ConsumerGroupHeartbeat (68) v0-1 and ConsumerGroupDescribe (69) v0-1. The
// protocol lives in the GroupCoordinator module; these handlers translate the wire format, check ACLs as Kafka
// does and pass the current topics in, so that created, grown and deleted topics reach the group with the next
// heartbeat. With `consumer` missing from
// group.coordinator.rebalance.protocols both APIs are left out of ApiVersions and answer UNSUPPORTED_VERSION.
extension Broker {
    /// The topics as the consumer group protocol sees them (internal ones included; regexes skip `__` names).
    var consumerTopicsImage: ConsumerTopicsImage {
        ConsumerTopicsImage(topics.all.map { ConsumerTopic(id: $0.id, name: $0.name, partitionCount: $0.partitionCount) })
    }

    func handleConsumerGroupHeartbeat(_ request: ConsumerGroupHeartbeatRequest, _ context: RequestContext) -> RequestOutcome {
        func fail(_ error: ErrorCode, _ message: String?) -> RequestOutcome {
            context.respond(ConsumerGroupHeartbeatResponse(
                throttleTimeMs: 0, errorCode: error.rawValue, errorMessage: message, memberId: nil, memberEpoch: 0,
                heartbeatIntervalMs: 0, assignment: nil))
        }
        guard config.consumerGroups.enabled else {
            return fail(.unsupportedVersion, "The consumer group protocol is not enabled on this broker")
        }
        // ACLs (Kafka's KafkaApis.handleConsumerGroupHeartbeat): READ on the group; a subscription naming topics
        // the principal may not DESCRIBE is refused with TOPIC_AUTHORIZATION_FAILED.
        guard context.authorize(.read, group: request.groupId) else {
            return fail(.groupAuthorizationFailed, "\(context.principal) may not Read group \(request.groupId)")
        }
        if let names = request.subscribedTopicNames {
            let denied = names.filter { !context.authorize(.describe, topic: $0) }
            if !denied.isEmpty {
                return fail(.topicAuthorizationFailed, "Unauthorized topics: \(denied.sorted().joined(separator: ", "))")
            }
        }
        let owned = request.topicPartitions.map { entries in
            entries.reduce(into: ConsumerAssignment()) { result, entry in
                result[entry.topicId, default: []].formUnion(entry.partitions)
            }
        }
        let input = ConsumerHeartbeatInput(
            groupId: request.groupId, memberId: request.memberId, memberEpoch: request.memberEpoch,
            instanceId: request.instanceId, rackId: request.rackId, rebalanceTimeoutMs: request.rebalanceTimeoutMs,
            subscribedTopicNames: request.subscribedTopicNames, subscribedTopicRegex: request.subscribedTopicRegex,
            serverAssignor: request.serverAssignor, ownedPartitions: owned, clientId: context.header.clientId ?? "",
            clientHost: "/" + context.clientHost, apiVersion: context.version)
        let outcome = groups.consumerGroupHeartbeat(input, topics: consumerTopicsImage)
        return context.respond(ConsumerGroupHeartbeatResponse(
            throttleTimeMs: 0, errorCode: outcome.errorCode.rawValue, errorMessage: outcome.errorMessage,
            memberId: outcome.memberId, memberEpoch: outcome.memberEpoch, heartbeatIntervalMs: outcome.heartbeatIntervalMs,
            assignment: outcome.assignment.map { assignment in
                .init(topicPartitions: assignment.sortedEntries.map { .init(topicId: $0.topicId, partitions: $0.partitions) })
            }))
    }

    func handleConsumerGroupDescribe(_ request: ConsumerGroupDescribeRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Described = ConsumerGroupDescribeResponse.DescribedGroup
        guard config.consumerGroups.enabled else {
            return context.respond(ConsumerGroupDescribeResponse(throttleTimeMs: 0, groups: request.groupIds.map {
                Described(errorCode: ErrorCode.unsupportedVersion.rawValue,
                          errorMessage: "The consumer group protocol is not enabled on this broker", groupId: $0)
            }))
        }
        let image = consumerTopicsImage
        let described = request.groupIds.map { groupId -> Described in
            guard !groupId.isEmpty else {
                return Described(errorCode: ErrorCode.invalidGroupId.rawValue, errorMessage: "Group id can't be empty", groupId: groupId)
            }
            // ACLs: DESCRIBE on the group; then, as Kafka, DESCRIBE on every topic in a member's subscription or
            // assignment, or the whole group is TOPIC_AUTHORIZATION_FAILED.
            guard context.authorize(.describe, group: groupId) else {
                return Described(errorCode: ErrorCode.groupAuthorizationFailed.rawValue,
                                 errorMessage: "\(context.principal) may not Describe group \(groupId)", groupId: groupId)
            }
            let group = groups.describeConsumerGroup(groupId, topics: image)
            let topicNames = Set(group.members.flatMap { member in
                member.subscribedTopicNames + (member.assignment.keys.map { $0 } + member.targetAssignment.keys.map { $0 })
                    .compactMap { image.byId[$0]?.name }
            })
            if let denied = topicNames.sorted().first(where: { !context.authorize(.describe, topic: $0) }) {
                return Described(errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                                 errorMessage: "The described group uses topics that the client is not authorized to describe: \(denied)",
                                 groupId: groupId)
            }
            func wire(_ assignment: ConsumerAssignment) -> ConsumerGroupDescribeResponse.DescribedGroup.Member.Assignment {
                .init(topicPartitions: assignment.sortedEntries.map {
                    .init(topicId: $0.topicId, topicName: image.byId[$0.topicId]?.name ?? "", partitions: $0.partitions)
                })
            }
            return Described(
                errorCode: group.errorCode.rawValue, errorMessage: group.errorMessage, groupId: groupId,
                groupState: group.state, groupEpoch: group.groupEpoch, assignmentEpoch: group.assignmentEpoch,
                assignorName: group.assignorName,
                members: group.members.map { member in
                    .init(memberId: member.memberId, instanceId: member.instanceId, rackId: member.rackId,
                          memberEpoch: member.memberEpoch, clientId: member.clientId, clientHost: member.clientHost,
                          subscribedTopicNames: member.subscribedTopicNames, subscribedTopicRegex: member.subscribedTopicRegex,
                          assignment: wire(member.assignment), targetAssignment: wire(member.targetAssignment),
                          memberType: 1)
                },
                authorizedOperations: request.includeAuthorizedOperations
                    ? security.authorizedOperations(context.principal, host: context.clientHost, Resource(.group, groupId),
                                                    among: Self.groupOperationList)
                    : Self.operationsNotProvided)
        }
        return context.respond(ConsumerGroupDescribeResponse(throttleTimeMs: 0, groups: described))
    }
}

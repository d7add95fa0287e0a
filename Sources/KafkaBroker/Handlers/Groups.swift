import GroupCoordinator
import KafkaProtocol
import KafkaSecurity
import NIOCore
import Timekeeping

// Consumer groups: FindCoordinator (10) v0-6, JoinGroup (11) v0-9, Heartbeat (12) v0-4, LeaveGroup (13) v0-5,
// SyncGroup (14) v0-5, DescribeGroups (15) v0-5, ListGroups (16) v0-5, OffsetCommit (8) v2-9, OffsetFetch (9) v1-9.
// The rebalance protocol itself lives in the GroupCoordinator module; these handlers translate versions. This
// broker coordinates every group and every transactional id (FindCoordinator key type 1). OffsetFetch with
// RequireStable (v7+) answers UNSTABLE_OFFSET_COMMIT for a partition whose offset an open transaction has staged.
extension Broker {
    func handleFindCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) -> RequestOutcome {
        let listener = advertisedListener(named: context.session.listenerName)
        // ACLs: DESCRIBE on the group (key type 0) or the transactional id (key type 1).
        func answer(_ keyType: Int8, _ key: String) -> (ErrorCode, String?) {
            switch keyType {
            case 0:
                return context.authorize(.describe, group: key)
                    ? (.none, nil) : (.groupAuthorizationFailed, "\(context.principal) may not Describe group \(key)")
            case 1:
                return context.authorize(.describe, transactionalId: key)
                    ? (.none, nil) : (.transactionalIdAuthorizationFailed, "\(context.principal) may not Describe transactional id \(key)")
            default:
                return (.invalidRequest, "unknown coordinator key type \(keyType)")
            }
        }
        if context.version >= 4 {
            let coordinators = request.coordinatorKeys.map { key -> FindCoordinatorResponse.Coordinator in
                let (error, message) = answer(request.keyType, key)
                return .init(key: key, nodeId: error == .none ? nodeId : -1, host: error == .none ? listener.host : "",
                             port: error == .none ? Int32(listener.port) : -1, errorCode: error.rawValue, errorMessage: message)
            }
            return context.respond(FindCoordinatorResponse(throttleTimeMs: 0, coordinators: coordinators))
        }
        let (error, message) = answer(request.keyType, request.key)
        return context.respond(FindCoordinatorResponse(
            throttleTimeMs: 0, errorCode: error.rawValue, errorMessage: message, nodeId: error == .none ? nodeId : -1,
            host: error == .none ? listener.host : "", port: error == .none ? Int32(listener.port) : -1))
    }

    func handleJoinGroup(_ request: JoinGroupRequest, _ context: RequestContext) -> RequestOutcome {
        let version = context.version
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(JoinGroupResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.groupAuthorizationFailed.rawValue, generationId: -1, protocolType: nil,
                protocolName: nil, leader: "", skipAssignment: false, memberId: request.memberId, members: []))
        }
        let clientId = context.header.clientId ?? ""
        let host = "/" + context.clientHost
        let future = groups.join({ id in
            JoinGroupInput(
                requestId: id, groupId: request.groupId, memberId: request.memberId, groupInstanceId: request.groupInstanceId,
                clientId: clientId, clientHost: host, sessionTimeoutMs: request.sessionTimeoutMs,
                rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
                protocolType: request.protocolType,
                protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: $0.metadata) },
                requireKnownMemberId: version >= 4)
        }, on: context.eventLoop)
        return .deferred(future.map { outcome in
            context.frame(JoinGroupResponse(
                throttleTimeMs: 0, errorCode: outcome.errorCode.rawValue, generationId: outcome.generationId,
                protocolType: outcome.protocolType, protocolName: outcome.protocolName, leader: outcome.leader,
                skipAssignment: false, memberId: outcome.memberId,
                members: outcome.members.map { .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata) }))
        })
    }

    func handleSyncGroup(_ request: SyncGroupRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(SyncGroupResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.groupAuthorizationFailed.rawValue, protocolType: nil, protocolName: nil,
                assignment: ByteBuffer()))
        }
        let future = groups.sync({ id in
            SyncGroupInput(
                requestId: id, groupId: request.groupId, generationId: request.generationId, memberId: request.memberId,
                groupInstanceId: request.groupInstanceId, protocolType: request.protocolType, protocolName: request.protocolName,
                assignments: request.assignments.map { (memberId: $0.memberId, assignment: $0.assignment) })
        }, on: context.eventLoop)
        return .deferred(future.map { outcome in
            context.frame(SyncGroupResponse(
                throttleTimeMs: 0, errorCode: outcome.errorCode.rawValue, protocolType: outcome.protocolType,
                protocolName: outcome.protocolName, assignment: outcome.assignment))
        })
    }

    func handleHeartbeat(_ request: HeartbeatRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(HeartbeatResponse(throttleTimeMs: 0, errorCode: ErrorCode.groupAuthorizationFailed.rawValue))
        }
        let error = groups.heartbeat(groupId: request.groupId, memberId: request.memberId,
                                     groupInstanceId: request.groupInstanceId, generationId: request.generationId)
        return context.respond(HeartbeatResponse(throttleTimeMs: 0, errorCode: error.rawValue))
    }

    func handleLeaveGroup(_ request: LeaveGroupRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(LeaveGroupResponse(throttleTimeMs: 0, errorCode: ErrorCode.groupAuthorizationFailed.rawValue))
        }
        if context.version < 3 {
            let (error, memberErrors) = groups.leave(groupId: request.groupId, members: [(request.memberId, nil)])
            let code = error != .none ? error : (memberErrors.first ?? .none)
            return context.respond(LeaveGroupResponse(throttleTimeMs: 0, errorCode: code.rawValue))
        }
        let members = request.members.map { (memberId: $0.memberId, groupInstanceId: $0.groupInstanceId) }
        let (error, memberErrors) = groups.leave(groupId: request.groupId, members: members)
        return context.respond(LeaveGroupResponse(
            throttleTimeMs: 0, errorCode: error.rawValue,
            members: zip(request.members, memberErrors).map {
                .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, errorCode: $1.rawValue)
            }))
    }

    func handleDescribeGroups(_ request: DescribeGroupsRequest, _ context: RequestContext) -> RequestOutcome {
        let described = request.groups.map { groupId -> DescribeGroupsResponse.DescribedGroup in
            guard context.authorize(.describe, group: groupId) else {
                return .init(errorCode: ErrorCode.groupAuthorizationFailed.rawValue, groupId: groupId, groupState: "",
                             protocolType: "", protocolData: "", members: [], authorizedOperations: Self.operationsNotProvided)
            }
            let group = groups.describeGroup(groupId)
            return .init(
                errorCode: group.errorCode.rawValue, groupId: groupId, groupState: group.state, protocolType: group.protocolType,
                protocolData: group.protocolData,
                members: group.members.map {
                    .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, clientId: $0.clientId,
                          clientHost: $0.clientHost, memberMetadata: $0.metadata, memberAssignment: $0.assignment)
                },
                // INT32_MIN means "not provided"; anything else must be a valid bitfield or kafka-python raises.
                authorizedOperations: request.includeAuthorizedOperations
                    ? security.authorizedOperations(context.principal, host: context.clientHost, Resource(.group, groupId),
                                                    among: Self.groupOperationList)
                    : Self.operationsNotProvided)
        }
        return context.respond(DescribeGroupsResponse(throttleTimeMs: 0, groups: described))
    }

    func handleListGroups(_ request: ListGroupsRequest, _ context: RequestContext) -> RequestOutcome {
        // Classic and KIP-848 consumer groups, filtered by type (v5) and state.
        var listed = groups.listGroups(statesFilter: request.statesFilter, typesFilter: request.typesFilter)
        // ACLs: DESCRIBE on the cluster lists every group; otherwise only groups the principal may DESCRIBE.
        if !context.authorize(.describe, .cluster) {
            listed = listed.filter { context.authorize(.describe, group: $0.groupId) }
        }
        return context.respond(ListGroupsResponse(
            throttleTimeMs: 0, errorCode: 0,
            groups: listed.map { .init(groupId: $0.groupId, protocolType: $0.protocolType, groupState: $0.state, groupType: $0.type) }))
    }

    // MARK: Offsets

    /// One offset a client asks to commit (OffsetCommit or TxnOffsetCommit).
    struct RequestedOffset {
        var partition: TopicPartition
        var offset: Int64
        var leaderEpoch: Int32
        var metadata: String?
    }

    /// Splits the offsets of a commit into those that may be stored and the partitions refused one by one: topics the
    /// principal may not READ (TOPIC_AUTHORIZATION_FAILED, checked first, as Kafka), unknown partitions
    /// (UNKNOWN_TOPIC_OR_PARTITION) and metadata over offset.metadata.max.bytes.
    func screenOffsets(_ requested: [RequestedOffset], _ context: RequestContext)
        -> (accepted: [TopicPartition: CommittedOffset], refused: [TopicPartition: ErrorCode])
    {
        let commitTime = clock.wallClockMs()
        var accepted: [TopicPartition: CommittedOffset] = [:]
        var refused: [TopicPartition: ErrorCode] = [:]
        var readable: [String: Bool] = [:]
        for entry in requested {
            let key = entry.partition
            let mayRead = readable[key.topic] ?? context.authorize(.read, topic: key.topic)
            readable[key.topic] = mayRead
            if !mayRead {
                refused[key] = .topicAuthorizationFailed
            } else if topics.topic(named: key.topic)?.log(key.partition) == nil {
                refused[key] = .unknownTopicOrPartition
            } else if groups.metadataError(entry.metadata) != .none {
                refused[key] = .offsetMetadataTooLarge
            } else {
                accepted[key] = CommittedOffset(offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata,
                                                commitTimestampMs: commitTime)
            }
        }
        return (accepted, refused)
    }

    func handleOffsetCommit(_ request: OffsetCommitRequest, _ context: RequestContext) -> RequestOutcome {
        typealias TopicResult = OffsetCommitResponse.OffsetCommitResponseTopic
        // ACLs: READ on the group (every partition refused otherwise), then READ on each topic.
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(OffsetCommitResponse(throttleTimeMs: 0, topics: request.topics.map { topic in
                TopicResult(name: topic.name, partitions: topic.partitions.map {
                    .init(partitionIndex: $0.partitionIndex, errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
                })
            }))
        }
        let (accepted, perPartition) = screenOffsets(request.topics.flatMap { topic in
            topic.partitions.map {
                RequestedOffset(partition: TopicPartition(topic: topic.name, partition: $0.partitionIndex), offset: $0.committedOffset,
                                leaderEpoch: $0.committedLeaderEpoch, metadata: $0.committedMetadata)
            }
        }, context)
        let groupError = groups.commit(
            groupId: request.groupId, memberId: request.memberId, generationId: request.generationIdOrMemberEpoch,
            groupInstanceId: request.groupInstanceId, apiVersion: context.version, offsets: accepted)
        let response = OffsetCommitResponse(throttleTimeMs: 0, topics: request.topics.map { topic in
            TopicResult(name: topic.name, partitions: topic.partitions.map { partition in
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                return .init(partitionIndex: partition.partitionIndex, errorCode: (perPartition[key] ?? groupError).rawValue)
            })
        })
        return context.respond(response)
    }

    func handleOffsetFetch(_ request: OffsetFetchRequest, _ context: RequestContext) -> RequestOutcome {
        if context.version >= 8 {
            let results = request.groups.map { group -> OffsetFetchResponse.OffsetFetchResponseGroup in
                guard context.authorize(.describe, group: group.groupId) else {
                    return .init(groupId: group.groupId, topics: [], errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
                }
                let memberError = groups.validateOffsetFetch(groupId: group.groupId, memberId: group.memberId,
                                                             memberEpoch: group.memberEpoch)
                guard memberError == .none else { return .init(groupId: group.groupId, topics: [], errorCode: memberError.rawValue) }
                let wanted = group.topics.map { topics in
                    topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
                }
                let found = offsetsFor(group: group.groupId, wanted: wanted, requireStable: request.requireStable, context: context)
                return .init(groupId: group.groupId, topics: found.map { topic, partitions in
                    .init(name: topic, partitions: partitions.map {
                        .init(partitionIndex: $0.partition, committedOffset: $0.offset, committedLeaderEpoch: $0.leaderEpoch,
                              metadata: $0.metadata, errorCode: $0.error.rawValue)
                    })
                }, errorCode: 0)
            }
            return context.respond(OffsetFetchResponse(throttleTimeMs: 0, groups: results))
        }
        guard context.authorize(.describe, group: request.groupId) else {
            return context.respond(OffsetFetchResponse(throttleTimeMs: 0, topics: [], errorCode: ErrorCode.groupAuthorizationFailed.rawValue))
        }
        let wanted = request.topics.map { topics in
            topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
        }
        let found = offsetsFor(group: request.groupId, wanted: wanted, requireStable: context.version >= 7 && request.requireStable,
                               context: context)
        return context.respond(OffsetFetchResponse(
            throttleTimeMs: 0,
            topics: found.map { topic, partitions in
                .init(name: topic, partitions: partitions.map {
                    .init(partitionIndex: $0.partition, committedOffset: $0.offset, committedLeaderEpoch: $0.leaderEpoch,
                          metadata: $0.metadata, errorCode: $0.error.rawValue)
                })
            },
            errorCode: 0))
    }

    struct FetchedOffset {
        var partition: Int32
        var offset: Int64
        var leaderEpoch: Int32
        var metadata: String?
        var error: ErrorCode
    }

    /// Committed offsets grouped by topic, in request order; partitions without a commit get offset -1 and empty
    /// metadata (Kafka's answer). `wanted` nil means every committed partition of the group. With `requireStable`, a
    /// partition with a transactional commit pending gets UNSTABLE_OFFSET_COMMIT (offset -1): the consumer retries
    /// once the transaction is decided instead of starting from a position that may be about to change.
    ///
    /// ACLs: a named topic the principal may not DESCRIBE gets TOPIC_AUTHORIZATION_FAILED; when every partition is
    /// asked for, such topics are left out.
    private func offsetsFor(group: String, wanted: [TopicPartition]?, requireStable: Bool,
                            context: RequestContext) -> [(String, [FetchedOffset])] {
        let committed = groups.committedOffsets(groupId: group, partitions: wanted)
        var describable: [String: Bool] = [:]
        func mayDescribe(_ topic: String) -> Bool {
            if let known = describable[topic] { return known }
            let allowed = context.authorize(.describe, topic: topic)
            describable[topic] = allowed
            return allowed
        }
        let keys = wanted ?? committed.keys.sorted().filter { mayDescribe($0.topic) }
        let unstable = requireStable ? groups.partitionsWithPendingTransactionalOffsets(groupId: group, keys) : []
        var order: [String] = []
        var byTopic: [String: [FetchedOffset]] = [:]
        for key in keys {
            if byTopic[key.topic] == nil { order.append(key.topic) }
            if !mayDescribe(key.topic) {
                byTopic[key.topic, default: []].append(FetchedOffset(partition: key.partition, offset: -1, leaderEpoch: -1,
                                                                     metadata: "", error: .topicAuthorizationFailed))
            } else if unstable.contains(key) {
                byTopic[key.topic, default: []].append(FetchedOffset(partition: key.partition, offset: -1, leaderEpoch: -1,
                                                                     metadata: "", error: .unstableOffsetCommit))
            } else if let offset = committed[key] {
                byTopic[key.topic, default: []].append(FetchedOffset(
                    partition: key.partition, offset: offset.offset, leaderEpoch: offset.leaderEpoch,
                    metadata: offset.metadata ?? "", error: .none))
            } else {
                byTopic[key.topic, default: []].append(FetchedOffset(partition: key.partition, offset: -1, leaderEpoch: -1,
                                                                     metadata: "", error: .none))
            }
        }
        return order.map { ($0, byTopic[$0]!) }
    }
}

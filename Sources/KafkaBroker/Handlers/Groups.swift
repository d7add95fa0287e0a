import GroupCoordinator
import KafkaProtocol
import NIOCore

// Consumer groups: FindCoordinator (10) v0-6, JoinGroup (11) v0-9, Heartbeat (12) v0-4, LeaveGroup (13) v0-5,
// SyncGroup (14) v0-5, DescribeGroups (15) v0-5, ListGroups (16) v0-5, OffsetCommit (8) v2-9, OffsetFetch (9) v1-9.
// The rebalance protocol itself lives in the GroupCoordinator module; these handlers translate versions. This
// broker coordinates every group and every transactional id (FindCoordinator key type 1). OffsetFetch with
// RequireStable (v7+) answers UNSTABLE_OFFSET_COMMIT for a partition whose offset an open transaction has staged.
extension Broker {
    func handleFindCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) -> RequestOutcome {
        let listener = advertisedListener
        func answer(_ keyType: Int8) -> (ErrorCode, String?) {
            keyType == 0 || keyType == 1 ? (.none, nil) : (.invalidRequest, "unknown coordinator key type \(keyType)")
        }
        if context.version >= 4 {
            let coordinators = request.coordinatorKeys.map { key -> FindCoordinatorResponse.Coordinator in
                let (error, message) = answer(request.keyType)
                return .init(key: key, nodeId: error == .none ? nodeId : -1, host: error == .none ? listener.host : "",
                             port: error == .none ? Int32(listener.port) : -1, errorCode: error.rawValue, errorMessage: message)
            }
            return context.respond(FindCoordinatorResponse(throttleTimeMs: 0, coordinators: coordinators))
        }
        let (error, message) = answer(request.keyType)
        return context.respond(FindCoordinatorResponse(
            throttleTimeMs: 0, errorCode: error.rawValue, errorMessage: message, nodeId: error == .none ? nodeId : -1,
            host: error == .none ? listener.host : "", port: error == .none ? Int32(listener.port) : -1))
    }

    func handleJoinGroup(_ request: JoinGroupRequest, _ context: RequestContext) -> RequestOutcome {
        let version = context.version
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
        let error = groups.heartbeat(groupId: request.groupId, memberId: request.memberId,
                                     groupInstanceId: request.groupInstanceId, generationId: request.generationId)
        return context.respond(HeartbeatResponse(throttleTimeMs: 0, errorCode: error.rawValue))
    }

    func handleLeaveGroup(_ request: LeaveGroupRequest, _ context: RequestContext) -> RequestOutcome {
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
            let group = groups.describeGroup(groupId)
            return .init(
                errorCode: group.errorCode.rawValue, groupId: groupId, groupState: group.state, protocolType: group.protocolType,
                protocolData: group.protocolData,
                members: group.members.map {
                    .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, clientId: $0.clientId,
                          clientHost: $0.clientHost, memberMetadata: $0.metadata, memberAssignment: $0.assignment)
                },
                // INT32_MIN means "not provided"; anything else must be a valid bitfield or kafka-python raises.
                authorizedOperations: request.includeAuthorizedOperations ? Self.groupOperations : Self.operationsNotProvided)
        }
        return context.respond(DescribeGroupsResponse(throttleTimeMs: 0, groups: described))
    }

    func handleListGroups(_ request: ListGroupsRequest, _ context: RequestContext) -> RequestOutcome {
        // Every group here is a classic group; a types filter that excludes "classic" leaves nothing.
        let typesOK = request.typesFilter.isEmpty || request.typesFilter.contains { $0.lowercased() == "classic" }
        let listed = typesOK ? groups.listGroups(statesFilter: request.statesFilter) : []
        return context.respond(ListGroupsResponse(
            throttleTimeMs: 0, errorCode: 0,
            groups: listed.map { .init(groupId: $0.groupId, protocolType: $0.protocolType, groupState: $0.state, groupType: "classic") }))
    }

    // MARK: Offsets

    /// One offset a client asks to commit (OffsetCommit or TxnOffsetCommit).
    struct RequestedOffset {
        var partition: TopicPartition
        var offset: Int64
        var leaderEpoch: Int32
        var metadata: String?
    }

    /// Splits the offsets of a commit into those that may be stored and the partitions refused one by one: unknown
    /// partitions (UNKNOWN_TOPIC_OR_PARTITION) and metadata over offset.metadata.max.bytes.
    func screenOffsets(_ requested: [RequestedOffset]) -> (accepted: [TopicPartition: CommittedOffset], refused: [TopicPartition: ErrorCode]) {
        let commitTime = clock.nowMilliseconds()
        var accepted: [TopicPartition: CommittedOffset] = [:]
        var refused: [TopicPartition: ErrorCode] = [:]
        for entry in requested {
            let key = entry.partition
            if topics.topic(named: key.topic)?.log(key.partition) == nil {
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
        let (accepted, perPartition) = screenOffsets(request.topics.flatMap { topic in
            topic.partitions.map {
                RequestedOffset(partition: TopicPartition(topic: topic.name, partition: $0.partitionIndex), offset: $0.committedOffset,
                                leaderEpoch: $0.committedLeaderEpoch, metadata: $0.committedMetadata)
            }
        })
        let groupError = groups.commit(
            groupId: request.groupId, memberId: request.memberId, generationId: request.generationIdOrMemberEpoch,
            groupInstanceId: request.groupInstanceId, offsets: accepted)
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
                let wanted = group.topics.map { topics in
                    topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
                }
                let found = offsetsFor(group: group.groupId, wanted: wanted, requireStable: request.requireStable)
                return .init(groupId: group.groupId, topics: found.map { topic, partitions in
                    .init(name: topic, partitions: partitions.map {
                        .init(partitionIndex: $0.partition, committedOffset: $0.offset, committedLeaderEpoch: $0.leaderEpoch,
                              metadata: $0.metadata, errorCode: $0.error.rawValue)
                    })
                }, errorCode: 0)
            }
            return context.respond(OffsetFetchResponse(throttleTimeMs: 0, groups: results))
        }
        let wanted = request.topics.map { topics in
            topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
        }
        let found = offsetsFor(group: request.groupId, wanted: wanted, requireStable: context.version >= 7 && request.requireStable)
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
    private func offsetsFor(group: String, wanted: [TopicPartition]?, requireStable: Bool) -> [(String, [FetchedOffset])] {
        let committed = groups.committedOffsets(groupId: group, partitions: wanted)
        let keys = wanted ?? committed.keys.sorted()
        let unstable = requireStable ? groups.partitionsWithPendingTransactionalOffsets(groupId: group, keys) : []
        var order: [String] = []
        var byTopic: [String: [FetchedOffset]] = [:]
        for key in keys {
            if byTopic[key.topic] == nil { order.append(key.topic) }
            if unstable.contains(key) {
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

import GroupCoordinator
import KafkaProtocol
import KafkaSecurity
import TransactionCoordinator

// Transactions (KIP-98): AddPartitionsToTxn (24) v0-3, AddOffsetsToTxn (25) v0-4, EndTxn (26) v0-4,
// TxnOffsetCommit (28) v0-4, and the KIP-664 views DescribeTransactions (65) v0, ListTransactions (66) v0-1,
// DescribeProducers (61) v0. InitProducerId with a transactional id is in Producers.swift. The protocol itself lives
// in the TransactionCoordinator module; these handlers translate versions: PRODUCER_FENCED (90) did not exist before
// AddPartitionsToTxn/AddOffsetsToTxn/EndTxn v2 and InitProducerId v4, which get INVALID_PRODUCER_EPOCH (47), as Kafka.
//
// ACLs: every transactional call needs WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); added
// partitions WRITE on their topics, offsets READ on the group and topics; the views DESCRIBE (DescribeTransactions,
// ListTransactions filter what the principal may not see) or READ on the topic (DescribeProducers).
extension Broker {
    /// PRODUCER_FENCED for versions that know it, INVALID_PRODUCER_EPOCH for older ones.
    static func fencing(_ error: ErrorCode, knownFrom firstVersion: Int16, version: Int16) -> ErrorCode {
        error == .producerFenced && version < firstVersion ? .invalidProducerEpoch : error
    }

    func handleAddPartitionsToTxn(_ request: AddPartitionsToTxnRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
        guard context.authorize(.write, transactionalId: request.transactionalId) else {
            return context.respond(AddPartitionsToTxnResponse(throttleTimeMs: 0, results: request.topics.map { topic in
                Result(name: topic.name, resultsByPartition: topic.partitions.map {
                    .init(partitionIndex: $0, partitionErrorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue)
                })
            }))
        }
        var unknown = Set<TopicPartition>()
        var unauthorized = Set<String>()
        var wanted = Set<TopicPartition>()
        for topic in request.topics {
            if !context.authorize(.write, topic: topic.name) { unauthorized.insert(topic.name) }
            let known = topics.topic(named: topic.name)
            for partition in topic.partitions {
                let key = TopicPartition(topic: topic.name, partition: partition)
                wanted.insert(key)
                if known?.log(partition) == nil { unknown.insert(key) }
            }
        }
        // Nothing is added unless everything can be: the unknown or unauthorized partitions say why, the others were
        // not attempted.
        var error = ErrorCode.operationNotAttempted
        if unknown.isEmpty && unauthorized.isEmpty {
            error = Self.fencing(
                transactions.addPartitions(transactionalId: request.transactionalId, producerId: request.producerId,
                                           producerEpoch: request.producerEpoch, partitions: wanted),
                knownFrom: 2, version: context.version)
        }
        return context.respond(AddPartitionsToTxnResponse(throttleTimeMs: 0, results: request.topics.map { topic in
            Result(name: topic.name, resultsByPartition: topic.partitions.map { partition in
                let code: ErrorCode = unauthorized.contains(topic.name) ? .topicAuthorizationFailed
                    : unknown.contains(TopicPartition(topic: topic.name, partition: partition)) ? .unknownTopicOrPartition : error
                return .init(partitionIndex: partition, partitionErrorCode: code.rawValue)
            })
        }))
    }

    func handleAddOffsetsToTxn(_ request: AddOffsetsToTxnRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.write, transactionalId: request.transactionalId) else {
            return context.respond(AddOffsetsToTxnResponse(throttleTimeMs: 0, errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue))
        }
        guard context.authorize(.read, group: request.groupId) else {
            return context.respond(AddOffsetsToTxnResponse(throttleTimeMs: 0, errorCode: ErrorCode.groupAuthorizationFailed.rawValue))
        }
        let error = transactions.addOffsets(transactionalId: request.transactionalId, producerId: request.producerId,
                                            producerEpoch: request.producerEpoch, groupId: request.groupId)
        return context.respond(AddOffsetsToTxnResponse(
            throttleTimeMs: 0, errorCode: Self.fencing(error, knownFrom: 2, version: context.version).rawValue))
    }

    func handleEndTxn(_ request: EndTxnRequest, _ context: RequestContext) -> RequestOutcome {
        guard context.authorize(.write, transactionalId: request.transactionalId) else {
            return context.respond(EndTxnResponse(throttleTimeMs: 0, errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue))
        }
        let error = transactions.endTransaction(transactionalId: request.transactionalId, producerId: request.producerId,
                                                producerEpoch: request.producerEpoch, commit: request.committed)
        return context.respond(EndTxnResponse(
            throttleTimeMs: 0, errorCode: Self.fencing(error, knownFrom: 2, version: context.version).rawValue))
    }

    /// Offsets of unknown partitions, or with too much metadata, are refused one by one; the rest are staged in the
    /// producer's transaction if it added the group (AddOffsetsToTxn) and the consumer's membership checks out.
    func handleTxnOffsetCommit(_ request: TxnOffsetCommitRequest, _ context: RequestContext) -> RequestOutcome {
        let refusal: ErrorCode? = !context.authorize(.write, transactionalId: request.transactionalId) ? .transactionalIdAuthorizationFailed
            : !context.authorize(.read, group: request.groupId) ? .groupAuthorizationFailed : nil
        if let refusal {
            return context.respond(TxnOffsetCommitResponse(throttleTimeMs: 0, topics: request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refusal.rawValue) })
            }))
        }
        let (accepted, perPartition) = screenOffsets(request.topics.flatMap { topic in
            topic.partitions.map {
                RequestedOffset(partition: TopicPartition(topic: topic.name, partition: $0.partitionIndex), offset: $0.committedOffset,
                                leaderEpoch: $0.committedLeaderEpoch, metadata: $0.committedMetadata)
            }
        }, context)
        var error = ErrorCode.none
        if request.groupId.isEmpty {
            error = .invalidGroupId
        } else if !accepted.isEmpty || perPartition.isEmpty {
            error = transactions.commitOffsets(
                transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
                groupId: request.groupId, memberId: request.memberId, generationId: request.generationId,
                groupInstanceId: request.groupInstanceId, offsets: accepted)
        }
        // While the transaction is being decided the commit must wait: every client retries LOAD_IN_PROGRESS here
        // (COORDINATOR_NOT_AVAILABLE before v2, as Kafka maps it).
        if error == .notEnoughReplicas { error = context.version < 2 ? .coordinatorNotAvailable : .coordinatorLoadInProgress }
        return context.respond(TxnOffsetCommitResponse(throttleTimeMs: 0, topics: request.topics.map { topic in
            .init(name: topic.name, partitions: topic.partitions.map { partition in
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                return .init(partitionIndex: partition.partitionIndex, errorCode: (perPartition[key] ?? error).rawValue)
            })
        }))
    }

    func handleDescribeTransactions(_ request: DescribeTransactionsRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Described = DescribeTransactionsResponse.TransactionState
        let states = request.transactionalIds.map { id -> Described in
            guard context.authorize(.describe, transactionalId: id) else {
                return Described(errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue, transactionalId: id,
                                 transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1,
                                 producerEpoch: -1, topics: [])
            }
            switch transactions.describe(id) {
            case .failure(let error):
                return Described(errorCode: error.code.rawValue, transactionalId: id, transactionState: "",
                                 transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1,
                                 topics: [])
            case .success(let metadata):
                let byTopic = Dictionary(grouping: metadata.partitions, by: \.topic)
                return Described(
                    errorCode: 0, transactionalId: id, transactionState: metadata.state.rawValue,
                    transactionTimeoutMs: metadata.timeoutMs, transactionStartTimeMs: metadata.startTimeMs,
                    producerId: metadata.producerId, producerEpoch: metadata.producerEpoch,
                    topics: byTopic.keys.sorted().filter { context.authorize(.describe, topic: $0) }
                        .map { .init(topic: $0, partitions: byTopic[$0]!.map(\.partition).sorted()) })
            }
        }
        return context.respond(DescribeTransactionsResponse(throttleTimeMs: 0, transactionStates: states))
    }

    func handleListTransactions(_ request: ListTransactionsRequest, _ context: RequestContext) -> RequestOutcome {
        let (listed, unknown) = transactions.list(
            states: request.stateFilters, producerIds: request.producerIdFilters,
            minimumDurationMs: context.version >= 1 ? request.durationFilter : -1)
        return context.respond(ListTransactionsResponse(
            throttleTimeMs: 0, errorCode: 0, unknownStateFilters: unknown,
            transactionStates: listed.filter { context.authorize(.describe, transactionalId: $0.transactionalId) }.map {
                .init(transactionalId: $0.transactionalId, producerId: $0.producerId, transactionState: $0.state.rawValue)
            }))
    }

    func handleDescribeProducers(_ request: DescribeProducersRequest, _ context: RequestContext) -> RequestOutcome {
        typealias Partition = DescribeProducersResponse.TopicResponse.PartitionResponse
        let described = request.topics.map { requested -> DescribeProducersResponse.TopicResponse in
            let topic = topics.topic(named: requested.name)
            let mayRead = context.authorize(.read, topic: requested.name)
            return .init(name: requested.name, partitions: requested.partitionIndexes.map { index -> Partition in
                guard mayRead else {
                    return Partition(partitionIndex: index, errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                                     errorMessage: "\(context.principal) may not Read topic \(requested.name)", activeProducers: [])
                }
                guard let log = topic?.log(index) else {
                    return Partition(partitionIndex: index, errorCode: ErrorCode.unknownTopicOrPartition.rawValue,
                                     errorMessage: "This server does not host this topic-partition.", activeProducers: [])
                }
                return Partition(partitionIndex: index, errorCode: 0, errorMessage: nil, activeProducers: log.producers.map {
                    .init(producerId: $0.producerId, producerEpoch: Int32($0.producerEpoch), lastSequence: $0.lastSequence,
                          lastTimestamp: $0.lastTimestamp, coordinatorEpoch: $0.coordinatorEpoch,
                          currentTxnStartOffset: $0.currentTransactionStartOffset)
                })
            })
        }
        return context.respond(DescribeProducersResponse(throttleTimeMs: 0, topics: described))
    }
}

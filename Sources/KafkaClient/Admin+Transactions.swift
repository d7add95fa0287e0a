import KafkaProtocol

/// A producer as a partition leader reports it (DescribeProducers, KIP-664).
public struct PartitionProducer: Sendable, Equatable {
    public var producerId: Int64
    public var producerEpoch: Int32
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    /// First offset of the producer's open transaction in the partition, nil if none is open.
    public var openTransactionStart: Int64?
}

/// A transactional id as its coordinator lists it (ListTransactions).
public struct TransactionListing: Sendable, Equatable {
    public var transactionalId: String
    public var producerId: Int64
    public var state: String
}

/// A transactional id as its coordinator describes it (DescribeTransactions).
public struct TransactionDetails: Sendable, Equatable {
    public var transactionalId: String
    public var state: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var timeoutMs: Int32
    /// When the open transaction started (ms since the epoch), nil if none is open.
    public var startTimeMs: Int64?
    /// Partitions of the open transaction.
    public var partitions: [TopicPartition]
}

/// The transaction admin operations of kafka-transactions.sh, over any cluster whose brokers implement KIP-664.
extension KafkaClient {
    /// The producers each partition of `topic` knows, from the partition leaders. Nil when a leader does not
    /// implement DescribeProducers (brokers before Kafka 2.8, or peers without it).
    public func describeProducers(topic: String, partitions: [Int32]) async throws -> [Int32: [PartitionProducer]]? {
        var byLeader: [Int32: [Int32]] = [:]
        for partition in partitions { byLeader[try await leader(topic: topic, partition: partition), default: []].append(partition) }
        var result: [Int32: [PartitionProducer]] = [:]
        for (leader, owned) in byLeader {
            let connection = try await connection(toNode: leader)
            guard (try? connection.version(for: DescribeProducersRequest.self)) != nil else { return nil }
            let response = try await connection.send(DescribeProducersRequest(topics: [.init(name: topic, partitionIndexes: owned)]))
            for partition in response.topics.flatMap(\.partitions) {
                let error = ErrorCode(rawValue: partition.errorCode)
                if error != .none {
                    throw KafkaClientError.broker(error, message: "describing producers of \(topic)-\(partition.partitionIndex)")
                }
                result[partition.partitionIndex] = partition.activeProducers.map {
                    PartitionProducer(producerId: $0.producerId, producerEpoch: $0.producerEpoch, lastSequence: $0.lastSequence,
                                      lastTimestamp: $0.lastTimestamp,
                                      openTransactionStart: $0.currentTxnStartOffset >= 0 ? $0.currentTxnStartOffset : nil)
                }
            }
        }
        return result
    }

    /// Every transactional id of every broker, optionally only those in `states` (Kafka's names: Ongoing, …).
    public func listTransactions(states: [String] = []) async throws -> [TransactionListing] {
        _ = try await refreshMetadata(topics: [])
        var listed: [TransactionListing] = []
        for node in metadata.brokers.keys.sorted() {
            let connection = try await connection(toNode: node)
            let response = try await connection.send(ListTransactionsRequest(stateFilters: states, producerIdFilters: []))
            let error = ErrorCode(rawValue: response.errorCode)
            if error != .none { throw KafkaClientError.broker(error, message: "listing transactions") }
            if let unknown = response.unknownStateFilters.first {
                throw KafkaClientError.invalidArgument(
                    "unknown transaction state '\(unknown)' (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort)")
            }
            listed += response.transactionStates.map {
                TransactionListing(transactionalId: $0.transactionalId, producerId: $0.producerId, state: $0.transactionState)
            }
        }
        return listed.sorted { $0.transactionalId < $1.transactionalId }
    }

    /// The coordinator's view of a transactional id.
    public func describeTransaction(_ transactionalId: String) async throws -> TransactionDetails {
        let node = try await findCoordinator(key: transactionalId, kind: .transaction)
        let connection = try await connection(toNode: node)
        let response = try await connection.send(DescribeTransactionsRequest(transactionalIds: [transactionalId]))
        guard let state = response.transactionStates.first else {
            throw KafkaClientError.malformedResponse("DescribeTransactions: no result")
        }
        let error = ErrorCode(rawValue: state.errorCode)
        if error == .transactionalIdNotFound {
            throw KafkaClientError.invalidArgument("no transactional id '\(transactionalId)' is known to the cluster")
        }
        if error != .none { throw KafkaClientError.broker(error, message: "describing transactional id \(transactionalId)") }
        return TransactionDetails(
            transactionalId: state.transactionalId, state: state.transactionState, producerId: state.producerId,
            producerEpoch: state.producerEpoch, timeoutMs: state.transactionTimeoutMs,
            startTimeMs: state.transactionStartTimeMs >= 0 ? state.transactionStartTimeMs : nil,
            partitions: state.topics.flatMap { topic in topic.partitions.map { TopicPartition(topic: topic.topic, partition: $0) } })
    }
}

import KafkaProtocol

/// What the coordinator knows of one transactional id, as it is stored (Kafka's `TransactionMetadata`).
public struct TransactionMetadata: Equatable, Sendable {
    public var transactionalId: String
    public var producerId: Int64
    /// -1 for an id whose first InitProducerId has not completed.
    public var producerEpoch: Int16
    /// The producer id before the last rotation (epoch exhaustion), so a retried InitProducerId is recognised; -1.
    public var lastProducerId: Int64
    /// The epoch before the last client-requested bump (KIP-360), so a retried InitProducerId gets the same answer; -1.
    public var lastProducerEpoch: Int16
    public var timeoutMs: Int32
    public var state: TransactionState
    /// Partitions written in the open (or being decided) transaction.
    public var partitions: Set<TopicPartition>
    /// Consumer groups whose offsets are committed in the open (or being decided) transaction.
    public var groups: Set<String>
    /// When the open transaction began (its first AddPartitionsToTxn/AddOffsetsToTxn), -1 when none was.
    public var startTimeMs: Int64
    public var lastUpdateMs: Int64

    public init(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, lastProducerId: Int64 = -1,
        lastProducerEpoch: Int16 = -1, timeoutMs: Int32, state: TransactionState, partitions: Set<TopicPartition> = [],
        groups: Set<String> = [], startTimeMs: Int64 = -1, lastUpdateMs: Int64
    ) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.lastProducerId = lastProducerId
        self.lastProducerEpoch = lastProducerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = partitions
        self.groups = groups
        self.startTimeMs = startTimeMs
        self.lastUpdateMs = lastUpdateMs
    }

    /// Epochs from 32766 on are never handed out: the coordinator keeps 32767 to fence with.
    public static func isExhausted(_ epoch: Int16) -> Bool { epoch >= Int16.max - 1 }

    /// When the open transaction must be aborted, if one is open.
    public var deadlineMs: Int64? {
        state == .ongoing && startTimeMs >= 0 ? startTimeMs + Int64(timeoutMs) : nil
    }
}

/// A decided transaction the broker must carry out: a COMMIT or ABORT marker on each partition (with the producer's
/// id and this epoch), and the consumer groups' pending offsets made visible or dropped. Once done, the broker calls
/// ``TransactionCoordinator/completeTransaction(_:now:)``.
public struct TransactionCompletion: Equatable, Sendable {
    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var commit: Bool
    /// Sorted, so markers are written in a stable order.
    public var partitions: [TopicPartition]
    public var groups: [String]

    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool,
                partitions: [TopicPartition], groups: [String]) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.commit = commit
        self.partitions = partitions
        self.groups = groups
    }

    init(_ metadata: TransactionMetadata) {
        self.init(transactionalId: metadata.transactionalId, producerId: metadata.producerId,
                  producerEpoch: metadata.producerEpoch, commit: metadata.state == .prepareCommit,
                  partitions: metadata.partitions.sorted(), groups: metadata.groups.sorted())
    }
}

/// A state change the broker must make durable (and then apply with ``TransactionCoordinator/apply(_:)``) before it
/// answers or acts, and the markers to write afterwards if the change decided a transaction.
public struct TransactionUpdate: Equatable, Sendable {
    public var metadata: TransactionMetadata
    public var completion: TransactionCompletion?

    public init(metadata: TransactionMetadata, completion: TransactionCompletion? = nil) {
        self.metadata = metadata
        self.completion = completion
    }
}

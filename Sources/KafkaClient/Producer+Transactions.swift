import KafkaProtocol
import NIOCore

/// A consumer's group membership, for committing its offsets inside a transaction (KIP-447: the commit is fenced by
/// the group generation, so a consumer that lost its partitions cannot commit them).
public struct ConsumerGroupMetadata: Sendable, Equatable {
    public var groupId: String
    public var generationId: Int32
    public var memberId: String
    public var groupInstanceId: String?

    /// A group without membership details (an assign-mode consumer): generation -1, no member id.
    public init(groupId: String, generationId: Int32 = -1, memberId: String = "", groupInstanceId: String? = nil) {
        self.groupId = groupId
        self.generationId = generationId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
    }
}

/// Where a transactional producer is. Kafka's TransactionManager, reduced to what this producer does: records are
/// sent as they are produced, partitions join the transaction (AddPartitionsToTxn) before their first batch leaves,
/// and commit/abort flush everything first.
struct TransactionProgress: Sendable {
    enum Phase: Sendable, Equatable {
        case uninitialized, ready, inTransaction, committing, aborting
    }

    var phase = Phase.uninitialized
    /// Partitions the coordinator has in the open transaction.
    var partitions = Set<PartitionKey>()
    /// A group joined the open transaction (AddOffsetsToTxn).
    var registeredGroups = false
    /// An AddPartitionsToTxn or AddOffsetsToTxn was sent, answered or not: the coordinator may have the transaction
    /// open, so an abort must tell it even if no answer came back.
    var attemptedRegistration = false
    /// Why the open transaction can only be aborted.
    var abortReason: KafkaClientError?
    /// Why this producer can do nothing more.
    var fatal: KafkaClientError?
    /// A batch failed in the open transaction: its sequence numbers may have gaps, so the epoch is bumped after
    /// the abort (KIP-360) to restart every partition at sequence 0.
    var needsEpochBump = false
    /// The coordinator's node, once found.
    var coordinator: Int32?

    /// Whether anything joined the open transaction (else it ends without an EndTxn, as in every Kafka client).
    var hasRegistered: Bool { !partitions.isEmpty || registeredGroups }

    func checkCanSend() throws(KafkaClientError) {
        if let fatal { throw fatal }
        switch phase {
        case .inTransaction: return
        case .uninitialized: throw .invalidArgument("a transactional producer needs initTransactions() before sending")
        default: throw .invalidArgument("records can only be sent inside a transaction: call beginTransaction() first")
        }
    }

    mutating func batchFailed(_ error: KafkaClientError) {
        if case .broker(let code, _) = error, code == .producerFenced || code == .invalidProducerEpoch {
            fatal = fatal ?? .fenced("the broker refused this producer's epoch (\(code)): a newer instance took over, or the transaction timed out")
        }
        abortReason = abortReason ?? .transactionMustAbort("a record could not be written: \(error)")
        needsEpochBump = true
    }

    mutating func startOver() {
        phase = .ready
        partitions = []
        registeredGroups = false
        attemptedRegistration = false
        abortReason = nil
    }
}

extension KafkaProducer {
    // MARK: Public API

    /// Registers the transactional id with its coordinator and gets this instance's producer id and epoch. Any earlier
    /// instance with the same id is fenced, and a transaction it left open is aborted by the broker first.
    public func initTransactions() async throws {
        guard let transactionalId = config.transactionalId else {
            throw KafkaClientError.invalidArgument("initTransactions() needs a transactional id")
        }
        if let fatal = transaction.fatal { throw fatal }
        guard transaction.phase == .uninitialized else { return }
        try await requestProducerId(transactionalId, keeping: nil)
        transaction.phase = .ready
    }

    /// Starts a transaction: records sent from now on commit or abort together.
    public func beginTransaction() throws {
        if let fatal = transaction.fatal { throw fatal }
        switch transaction.phase {
        case .ready: transaction.phase = .inTransaction
        case .uninitialized: throw KafkaClientError.invalidArgument("call initTransactions() before beginTransaction()")
        default: throw KafkaClientError.invalidArgument("a transaction is already open")
        }
    }

    /// Commits consumed positions (the next offsets to read) of `group` as part of the open transaction: the
    /// consume-transform-produce loop, where the input offsets and the output records commit together.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], group: ConsumerGroupMetadata) async throws {
        guard let transactionalId = config.transactionalId else {
            throw KafkaClientError.invalidArgument("sendOffsetsToTransaction needs a transactional producer")
        }
        try transaction.checkCanSend()
        guard !offsets.isEmpty else { return }
        transaction.attemptedRegistration = true
        _ = try await coordinatorRequest("adding group \(group.groupId) to the transaction", { _ in
            AddOffsetsToTxnRequest(transactionalId: transactionalId, producerId: self.producerId,
                                   producerEpoch: self.producerEpoch, groupId: group.groupId)
        }, error: \.errorCode)
        transaction.registeredGroups = true
        let groupCoordinator = try await client.connection(toNode: try await client.findCoordinator(forGroup: group.groupId))
        let byTopic = Dictionary(grouping: offsets, by: \.key.topic)
        let request = TxnOffsetCommitRequest(
            transactionalId: transactionalId, groupId: group.groupId, producerId: producerId, producerEpoch: producerEpoch,
            generationId: group.generationId, memberId: group.memberId, groupInstanceId: group.groupInstanceId,
            topics: byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: byTopic[topic]!.sorted { $0.key.partition < $1.key.partition }.map {
                    .init(partitionIndex: $0.key.partition, committedOffset: $0.value, committedLeaderEpoch: -1, committedMetadata: "")
                })
            })
        do {
            _ = try await Retry.run(attempts: 20, initialBackoffMs: 50) {
                let response = try await groupCoordinator.send(request)
                if let failed = response.topics.flatMap(\.partitions).first(where: { $0.errorCode != 0 }) {
                    throw KafkaClientError.broker(ErrorCode(rawValue: failed.errorCode), message: "committing offsets in the transaction")
                }
                return response
            }
        } catch let failure as KafkaClientError {
            // A fenced producer stops; a commit the group refused (a rebalance took the partitions) dooms the transaction.
            transaction.batchFailed(failure)
            throw failure
        }
    }

    /// Sends every record of the transaction, then commits it. If anything failed the transaction is not committed
    /// and ``KafkaClientError/transactionMustAbort(_:)`` is thrown: call ``abortTransaction()``.
    public func commitTransaction() async throws {
        try await endTransaction(commit: true)
    }

    /// Sends what is still buffered, then aborts: nothing of the transaction becomes visible to read_committed
    /// consumers. The producer can begin a new transaction afterwards.
    public func abortTransaction() async throws {
        try await endTransaction(commit: false)
    }

    // MARK: Ending

    private func endTransaction(commit: Bool) async throws {
        guard let transactionalId = config.transactionalId else {
            throw KafkaClientError.invalidArgument("only a transactional producer has transactions")
        }
        if let fatal = transaction.fatal { throw fatal }
        // A commit may be retried; an abort may follow a commit that failed (as Kafka's clients allow).
        let allowed: [TransactionProgress.Phase] = commit ? [.inTransaction, .committing] : [.inTransaction, .committing, .aborting]
        guard allowed.contains(transaction.phase) else { throw KafkaClientError.invalidArgument("no transaction is open") }
        transaction.phase = commit ? .committing : .aborting
        await flush()
        if let fatal = transaction.fatal { throw fatal }
        if commit, let reason = transaction.abortReason { throw reason }
        if commit ? transaction.hasRegistered : transaction.attemptedRegistration {
            _ = try await coordinatorRequest(commit ? "committing the transaction" : "aborting the transaction", { _ in
                EndTxnRequest(transactionalId: transactionalId, producerId: self.producerId, producerEpoch: self.producerEpoch,
                              committed: commit)
            }, error: { response in
                // An abort the coordinator has nothing to abort for (a registration that never took effect) is done.
                !commit && response.errorCode == ErrorCode.invalidTxnState.rawValue ? 0 : response.errorCode
            })
        }
        // The phase stays committing/aborting through the epoch bump, so nothing can be sent or begun meanwhile.
        if transaction.needsEpochBump {
            try await requestProducerId(transactionalId, keeping: (producerId, producerEpoch))
            transaction.needsEpochBump = false
        }
        transaction.startOver()
    }

    // MARK: Requests to the transaction coordinator

    /// InitProducerId for the transactional id; with `keeping`, asks to keep the producer id under a new epoch
    /// (KIP-360), which resets every partition's sequence numbers.
    private func requestProducerId(_ transactionalId: String, keeping current: (Int64, Int16)?) async throws {
        let response = try await coordinatorRequest("initializing transactional id \(transactionalId)", { version in
            if current != nil && version < 3 {
                throw KafkaClientError.unsupportedApi(.initProducerId)
            }
            return InitProducerIdRequest(transactionalId: transactionalId, transactionTimeoutMs: self.config.transactionTimeoutMs,
                                         producerId: current?.0 ?? -1, producerEpoch: current?.1 ?? -1)
        }, error: \.errorCode)
        producerId = response.producerId
        producerEpoch = response.producerEpoch
        accumulator.resetSequences()
        accumulator.producer = (response.producerId, response.producerEpoch)
    }

    /// AddPartitionsToTxn for partitions about to get their first batch of the transaction. If they cannot join, their
    /// batches fail and the transaction can only be aborted.
    func addPartitionsToTransaction(_ keys: [PartitionKey]) async {
        guard let transactionalId = config.transactionalId else { return }
        let byTopic = Dictionary(grouping: keys, by: \.topic)
        transaction.attemptedRegistration = true
        do {
            _ = try await coordinatorRequest("adding partitions to the transaction", { _ in
                AddPartitionsToTxnRequest(
                    transactionalId: transactionalId, producerId: self.producerId, producerEpoch: self.producerEpoch,
                    topics: byTopic.keys.sorted().map { .init(name: $0, partitions: byTopic[$0]!.map(\.partition).sorted()) })
            }, error: { response in
                let codes = response.results.flatMap(\.resultsByPartition).map { ErrorCode(rawValue: $0.partitionErrorCode) }
                return (codes.first { $0 != .none && $0 != .operationNotAttempted } ?? codes.first { $0 != .none } ?? .none).rawValue
            })
            transaction.partitions.formUnion(keys)
        } catch {
            let failure = error as? KafkaClientError ?? .connectionClosed("\(error)")
            for key in keys {
                while let batch = accumulator.takeFirst(key) { fail(batch, error: failure) }
            }
            wakeSender()
            if !hasPendingWork { resumeFlushWaiters() }
        }
    }

    /// Sends a request to the transaction coordinator, finding it first (and again after NOT_COORDINATOR), retrying
    /// while the coordinator is busy (CONCURRENT_TRANSACTIONS, LOAD_IN_PROGRESS). PRODUCER_FENCED and
    /// INVALID_PRODUCER_EPOCH make the producer fenced for good.
    private func coordinatorRequest<R: KafkaRequest>(
        _ what: String, _ make: (Int16) throws -> R, error: (R.Response) -> Int16
    ) async throws -> R.Response {
        guard let transactionalId = config.transactionalId else { throw KafkaClientError.invalidArgument("not transactional") }
        var backoffMs: UInt64 = 20
        let deadline = client.time.monotonicNanos() + UInt64(max(config.transactionTimeoutMs, 10_000)) * 1_000_000
        while true {
            let failure: KafkaClientError
            do {
                let node: Int32
                if let known = transaction.coordinator {
                    node = known
                } else {
                    node = try await client.findCoordinator(key: transactionalId, kind: .transaction)
                }
                transaction.coordinator = node
                let connection = try await client.connection(toNode: node)
                let version = try connection.version(for: R.self)
                let response = try await connection.send(try make(version), version: version)
                let code = ErrorCode(rawValue: error(response))
                if code == .none { return response }
                failure = .broker(code, message: what)
            } catch let clientError as KafkaClientError {
                failure = clientError
            }
            if case .broker(let code, _) = failure {
                if code == .producerFenced || code == .invalidProducerEpoch {
                    let fenced = KafkaClientError.fenced("\(what): \(code) (another producer with transactional id \(transactionalId) started, or the transaction timed out)")
                    transaction.fatal = fenced
                    throw fenced
                }
                if code == .notCoordinator || code == .coordinatorNotAvailable { transaction.coordinator = nil }
            } else if case .connectionClosed = failure {
                transaction.coordinator = nil
            }
            guard failure.isRetriable, client.time.monotonicNanos() < deadline else { throw failure }
            try await client.time.sleep(nanoseconds: backoffMs * 1_000_000)
            backoffMs = min(backoffMs * 2, 500)
        }
    }
}

extension KafkaConsumer {
    /// This consumer's membership, for ``KafkaProducer/sendOffsetsToTransaction(_:group:)``.
    public var groupMetadata: ConsumerGroupMetadata? {
        config.groupId.map { ConsumerGroupMetadata(groupId: $0, generationId: currentGeneration, memberId: currentMemberId) }
    }
}

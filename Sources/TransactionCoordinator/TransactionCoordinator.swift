import KafkaProtocol

/// Settings, named after Kafka's broker properties.
public struct TransactionCoordinatorConfig: Sendable, Equatable {
    /// transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for.
    public var maxTimeoutMs: Int32 = 900_000
    /// transactional.id.expiration.ms: an idle id (no transaction open) is forgotten after this long.
    public var idExpirationMs: Int64 = 604_800_000
    /// Written into every marker. One coordinator per broker, never replaced, so it is constant.
    public var coordinatorEpoch: Int32 = 0

    public init() {}
}

/// Kafka's transaction coordinator (KIP-98, with KIP-360 epoch bumps) as a pure state machine.
///
/// No I/O, clocks or threads. Every request is a non-mutating *decision*: an error code and, when the state changes,
/// a ``TransactionUpdate`` the broker must make durable and then ``apply(_:)`` before answering; a decided
/// transaction also carries the markers to write, after which the broker calls ``completeTransaction(_:now:)``.
/// The broker serialises calls (one lock) so a decision and its application are atomic.
///
/// Errors are the coordinator's own: PRODUCER_FENCED is reported as such, and the broker downgrades it to
/// INVALID_PRODUCER_EPOCH for request versions that predate it. Deliberate differences from Apache Kafka:
/// PrepareEpochFence is folded into PrepareAbort (the fence and the abort are one durable step here);
/// lastProducerId/lastProducerEpoch are stored, so an InitProducerId retry across a restart is still recognised;
/// an epoch-exhausted id asked for a stale epoch is fenced instead of failing with UNKNOWN_SERVER_ERROR.
public struct TransactionCoordinator: Sendable {
    public let config: TransactionCoordinatorConfig
    public private(set) var transactions: [String: TransactionMetadata] = [:]

    public init(config: TransactionCoordinatorConfig = TransactionCoordinatorConfig(), loaded: [TransactionMetadata] = []) {
        self.config = config
        for metadata in loaded { transactions[metadata.transactionalId] = metadata }
    }

    /// Makes a decided state change current (after the broker stored it).
    public mutating func apply(_ metadata: TransactionMetadata) {
        transactions[metadata.transactionalId] = metadata
    }

    public mutating func remove(_ transactionalId: String) {
        transactions[transactionalId] = nil
    }

    // MARK: InitProducerId

    public struct InitDecision: Equatable, Sendable {
        public var error: ErrorCode
        public var producerId: Int64 = -1
        public var producerEpoch: Int16 = -1
        public var update: TransactionUpdate?
    }

    /// InitProducerId with a transactional id. `expected` is the producer's current id and epoch when it asks to keep
    /// its id (KIP-360, v3+). `newProducerId` is called when an id needs one (first use, epoch exhaustion).
    ///
    /// An id with an open transaction is fenced: its epoch is bumped and the transaction aborted with the new epoch,
    /// and the caller is told CONCURRENT_TRANSACTIONS; its retry, once the abort is complete, gets the next epoch.
    public func initProducerId(
        transactionalId: String, timeoutMs: Int32, expected: (producerId: Int64, epoch: Int16)?, now: Int64,
        newProducerId: () throws -> Int64
    ) rethrows -> InitDecision {
        guard !transactionalId.isEmpty else { return InitDecision(error: .invalidRequest) }
        guard timeoutMs > 0 && timeoutMs <= config.maxTimeoutMs else { return InitDecision(error: .invalidTransactionTimeout) }
        let current = try transactions[transactionalId] ?? TransactionMetadata(
            transactionalId: transactionalId, producerId: newProducerId(), producerEpoch: -1, timeoutMs: timeoutMs,
            state: .empty, lastUpdateMs: now)
        if let expected, !Self.isValid(expected, for: current) { return InitDecision(error: .producerFenced) }
        switch current.state {
        case .empty, .completeCommit, .completeAbort:
            var next = current
            next.timeoutMs = timeoutMs
            next.state = .empty
            next.partitions = []
            next.groups = []
            next.startTimeMs = -1
            next.lastUpdateMs = now
            if TransactionMetadata.isExhausted(current.producerEpoch) && (expected == nil || expected!.epoch == current.producerEpoch) {
                // Rotation: a new producer id at epoch 0; the old one is remembered for a retry of this request.
                next.lastProducerId = current.producerId
                next.producerId = try newProducerId()
                next.producerEpoch = 0
                next.lastProducerEpoch = expected == nil ? -1 : current.producerEpoch
            } else if let expected, expected.epoch != current.producerEpoch && current.producerEpoch != -1 {
                // A retry of a bump whose answer was lost gets the same answer; anything else is a zombie.
                guard expected.epoch == current.lastProducerEpoch, !TransactionMetadata.isExhausted(current.producerEpoch) else {
                    return InitDecision(error: .producerFenced)
                }
                return InitDecision(error: .none, producerId: current.producerId, producerEpoch: current.producerEpoch)
            } else {
                next.lastProducerEpoch = expected == nil ? -1 : current.producerEpoch
                next.producerEpoch = current.producerEpoch + 1
            }
            return InitDecision(error: .none, producerId: next.producerId, producerEpoch: next.producerEpoch,
                                update: TransactionUpdate(metadata: next))
        case .ongoing:
            // A new instance of the producer: fence the old one (bump) and abort its transaction with the new epoch.
            guard let update = fenceAndAbort(current, now: now) else { return InitDecision(error: .concurrentTransactions) }
            return InitDecision(error: .concurrentTransactions, update: update)
        case .prepareCommit, .prepareAbort, .dead, .prepareEpochFence:
            return InitDecision(error: .concurrentTransactions)
        }
    }

    /// Kafka's `isValidProducerId`: a fresh id accepts anything, else the producer id must be the current one, or
    /// the one before a rotation when the caller's epoch was exhausted.
    private static func isValid(_ expected: (producerId: Int64, epoch: Int16), for metadata: TransactionMetadata) -> Bool {
        metadata.producerEpoch == -1 || expected.producerId == metadata.producerId
            || (expected.producerId == metadata.lastProducerId && TransactionMetadata.isExhausted(expected.epoch))
    }

    /// PrepareAbort with the epoch bumped, so that the old producer's every later request is refused and the markers
    /// carry the new epoch. Nil if the epoch cannot go higher (never handed out: exhausted ids rotate first).
    private func fenceAndAbort(_ metadata: TransactionMetadata, now: Int64) -> TransactionUpdate? {
        guard metadata.producerEpoch < Int16.max else { return nil }
        var next = metadata
        next.producerEpoch += 1
        next.lastProducerEpoch = -1
        next.state = .prepareAbort
        next.lastUpdateMs = now
        return TransactionUpdate(metadata: next, completion: TransactionCompletion(next))
    }

    // MARK: AddPartitionsToTxn, AddOffsetsToTxn

    public struct Decision: Equatable, Sendable {
        public var error: ErrorCode
        public var update: TransactionUpdate?
    }

    /// AddPartitionsToTxn. The broker has already checked that every partition exists (else nothing is added).
    public func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: Set<TopicPartition>, now: Int64
    ) -> Decision {
        add(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, now: now) { metadata in
            guard !partitions.isSubset(of: metadata.partitions) else { return false }
            metadata.partitions.formUnion(partitions)
            return true
        }
    }

    /// AddOffsetsToTxn: the group's offsets committed with TxnOffsetCommit become part of the transaction.
    public func addOffsets(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String, now: Int64
    ) -> Decision {
        add(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, now: now) { metadata in
            metadata.groups.insert(groupId).inserted
        }
    }

    /// Shared rules: the id must map to this producer at exactly this epoch and not be deciding a transaction; the
    /// transaction becomes (or stays) Ongoing. `change` adds to it and says whether anything was new.
    private func add(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, now: Int64,
        change: (inout TransactionMetadata) -> Bool
    ) -> Decision {
        guard !transactionalId.isEmpty else { return Decision(error: .invalidRequest) }
        let checked = check(transactionalId, producerId, producerEpoch)
        guard case .success(let current) = checked else { return Decision(error: checked.error) }
        switch current.state {
        case .prepareCommit, .prepareAbort, .dead, .prepareEpochFence:
            return Decision(error: .concurrentTransactions)
        case .empty, .ongoing, .completeCommit, .completeAbort:
            var next = current
            let added = change(&next)
            if current.state == .ongoing && !added { return Decision(error: .none) }
            if current.state != .ongoing {
                next.state = .ongoing
                next.startTimeMs = now
            }
            next.lastUpdateMs = now
            return Decision(error: .none, update: TransactionUpdate(metadata: next))
        }
    }

    private enum Checked {
        case success(TransactionMetadata)
        case failure(ErrorCode)

        var error: ErrorCode {
            if case .failure(let error) = self { return error }
            return .none
        }
    }

    /// The id is known, maps to `producerId`, and the epoch is exactly the current one (requests from clients never
    /// bump it).
    private func check(_ transactionalId: String, _ producerId: Int64, _ producerEpoch: Int16) -> Checked {
        guard let metadata = transactions[transactionalId], metadata.producerId == producerId else {
            return .failure(.invalidProducerIdMapping)
        }
        guard metadata.producerEpoch == producerEpoch else { return .failure(.producerFenced) }
        return .success(metadata)
    }

    // MARK: EndTxn

    /// EndTxn. Committing or aborting an open transaction moves it to PrepareCommit/PrepareAbort with the markers to
    /// write; a retry of a decided transaction is answered again without a change.
    public func endTransaction(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, now: Int64
    ) -> Decision {
        guard !transactionalId.isEmpty else { return Decision(error: .invalidRequest) }
        let checked = check(transactionalId, producerId, producerEpoch)
        guard case .success(let current) = checked else { return Decision(error: checked.error) }
        switch current.state {
        case .ongoing:
            var next = current
            next.state = commit ? .prepareCommit : .prepareAbort
            next.lastUpdateMs = now
            return Decision(error: .none, update: TransactionUpdate(metadata: next, completion: TransactionCompletion(next)))
        case .completeCommit: return Decision(error: commit ? .none : .invalidTxnState)
        case .completeAbort: return Decision(error: commit ? .invalidTxnState : .none)
        case .prepareCommit: return Decision(error: commit ? .concurrentTransactions : .invalidTxnState)
        case .prepareAbort: return Decision(error: commit ? .invalidTxnState : .concurrentTransactions)
        case .empty: return Decision(error: .invalidTxnState)
        case .dead, .prepareEpochFence: return Decision(error: .concurrentTransactions)
        }
    }

    /// Every partition has its marker and the groups' offsets are settled: CompleteCommit or CompleteAbort. Nil if
    /// the transaction is no longer the one that was being decided (nothing to store).
    public func completeTransaction(_ completion: TransactionCompletion, now: Int64) -> TransactionMetadata? {
        guard var metadata = transactions[completion.transactionalId], metadata.state.isPreparing,
              metadata.producerId == completion.producerId, metadata.producerEpoch == completion.producerEpoch
        else { return nil }
        metadata.state = metadata.state == .prepareCommit ? .completeCommit : .completeAbort
        metadata.partitions = []
        metadata.groups = []
        metadata.lastUpdateMs = now
        return metadata
    }

    /// Decided transactions whose markers are still to be written (after a restart, or after a failed attempt).
    public var pendingCompletions: [TransactionCompletion] {
        transactions.values.filter(\.state.isPreparing).sorted { $0.transactionalId < $1.transactionalId }
            .map(TransactionCompletion.init)
    }

    // MARK: Checks for the produce path and TxnOffsetCommit

    /// May this producer write a transactional batch to `partition` now? NONE if its transaction is open with the
    /// partition added; INVALID_TXN_STATE if not added (or nothing open); INVALID_PRODUCER_EPOCH for another epoch
    /// (a fenced zombie); INVALID_PRODUCER_ID_MAPPING for an unknown id or another producer; NOT_ENOUGH_REPLICAS
    /// (retriable, as Kafka's verification answers) while the transaction is being decided.
    public func verifyWrite(transactionalId: String, producerId: Int64, producerEpoch: Int16, partition: TopicPartition) -> ErrorCode {
        Self.verifyWrite(transactions[transactionalId], producerId: producerId, producerEpoch: producerEpoch, partition: partition)
    }

    /// ``verifyWrite(transactionalId:producerId:producerEpoch:partition:)`` against one id's metadata (nil: unknown),
    /// for callers that keep their own copy of it.
    public static func verifyWrite(
        _ metadata: TransactionMetadata?, producerId: Int64, producerEpoch: Int16, partition: TopicPartition
    ) -> ErrorCode {
        verify(metadata, producerId, producerEpoch) { $0.partitions.contains(partition) }
    }

    /// May this producer commit offsets of `groupId` in its transaction (TxnOffsetCommit)? Same answers as
    /// ``verifyWrite(transactionalId:producerId:producerEpoch:partition:)``, for a group added by AddOffsetsToTxn.
    public func verifyOffsetCommit(transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String) -> ErrorCode {
        Self.verify(transactions[transactionalId], producerId, producerEpoch) { $0.groups.contains(groupId) }
    }

    private static func verify(
        _ metadata: TransactionMetadata?, _ producerId: Int64, _ producerEpoch: Int16, isIncluded: (TransactionMetadata) -> Bool
    ) -> ErrorCode {
        guard let metadata, metadata.producerId == producerId else {
            return .invalidProducerIdMapping
        }
        guard metadata.producerEpoch == producerEpoch else { return .invalidProducerEpoch }
        if metadata.state.isPreparing { return .notEnoughReplicas }
        return metadata.state == .ongoing && isIncluded(metadata) ? .none : .invalidTxnState
    }

    /// Whether a transaction of `producerId` that is open or being decided includes `partition`.
    public func hasLiveTransaction(producerId: Int64, partition: TopicPartition) -> Bool {
        transactions.values.contains {
            $0.producerId == producerId && ($0.state == .ongoing || $0.state.isPreparing) && $0.partitions.contains(partition)
        }
    }

    // MARK: Time

    /// Open transactions older than their timeout, fenced and aborted (as InitProducerId does for a new instance).
    public func timedOut(now: Int64) -> [TransactionUpdate] {
        transactions.values.filter { ($0.deadlineMs ?? .max) < now }.sorted { $0.transactionalId < $1.transactionalId }
            .compactMap { fenceAndAbort($0, now: now) }
    }

    /// Ids idle (no transaction open) for transactional.id.expiration.ms: the broker forgets them.
    public func expiredIds(now: Int64) -> [String] {
        transactions.values.filter { $0.state.isIdle && $0.lastUpdateMs <= now - config.idExpirationMs }
            .map(\.transactionalId).sorted()
    }

    /// The earliest time a transaction times out, nil if none is open.
    public var nextDeadline: Int64? { transactions.values.compactMap(\.deadlineMs).min() }

    // MARK: Describing

    /// DescribeTransactions: TRANSACTIONAL_ID_NOT_FOUND for an unknown (or dead) id.
    public func describe(_ transactionalId: String) -> Result<TransactionMetadata, DescribeError> {
        guard !transactionalId.isEmpty else { return .failure(DescribeError(code: .invalidRequest)) }
        guard let metadata = transactions[transactionalId], metadata.state != .dead else {
            return .failure(DescribeError(code: .transactionalIdNotFound))
        }
        return .success(metadata)
    }

    public struct DescribeError: Error, Equatable, Sendable {
        public var code: ErrorCode
    }

    /// ListTransactions: ids matching every given filter (state names, producer ids, running longer than
    /// `minimumDurationMs`), and the state filters that name no state.
    public func list(
        states: [String], producerIds: [Int64], minimumDurationMs: Int64 = -1, now: Int64
    ) -> (transactions: [TransactionMetadata], unknownStates: [String]) {
        let known = Set(states.compactMap(TransactionState.init(rawValue:)))
        let unknown = states.filter { TransactionState(rawValue: $0) == nil }
        let pids = Set(producerIds)
        let matching = transactions.values.filter { metadata in
            metadata.state != .dead
                && (states.isEmpty || known.contains(metadata.state))
                && (pids.isEmpty || pids.contains(metadata.producerId))
                && (minimumDurationMs < 0 || now - metadata.startTimeMs > minimumDurationMs)
        }
        return (matching.sorted { $0.transactionalId < $1.transactionalId }, unknown)
    }
}

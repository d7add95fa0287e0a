import Dispatch
import GroupCoordinator
import KafkaProtocol
import LogStorage
import Logging
import Synchronization
import TransactionCoordinator
import Timekeeping

/// Drives the pure ``TransactionCoordinator``: one lock around it; every state change stored in the metadata store
/// before it takes effect (so a restart finds each decision made); decided transactions carried out by writing the
/// markers to their partitions and settling their groups' offsets; a timer at the earliest transaction deadline that
/// aborts what timed out.
///
/// Lock order: a partition log's lock may be held when this service's locks are taken (the produce path verifies
/// transactional batches under the log lock, against `writeView`; the hanging-transaction check asks the coordinator),
/// never the reverse: markers are written with this service's locks released. The group coordinator's locks and the
/// metadata store's are taken inside the coordinator's; `writeView`'s lock is innermost.
final class TransactionCoordinatorService: Sendable {
    private struct State: ~Copyable {
        var coordinator: TransactionCoordinator
        /// Transactions whose markers are being written now, so a retry or the timer does not start a second writer.
        var completing: Set<String> = []
        var timer: DispatchWorkItem?
        var timerDeadline: Int64?
        var isShutDown = false
    }

    /// How long a completion that failed (a storage error) waits before it is tried again.
    static let retryDelayMs: Int64 = 1000

    private let state: Mutex<State>
    /// A copy of every id's current metadata, for the produce path's check: it runs under a partition log's lock, so
    /// it must not wait for the coordinator's lock, which is held across metadata-store writes. Updated (under the
    /// coordinator's lock, before anything acts on a change) wherever the coordinator's state changes.
    private let writeView: Mutex<[String: TransactionMetadata]>
    private let store: MetadataStore
    private let topics: TopicRegistry
    private let purgatory: FetchPurgatory
    private let groups: GroupCoordinatorService
    private let producerIds: ProducerIdAllocator
    private let clock: any TimeSource
    private let logger: Logger
    private let timerQueue = DispatchQueue(label: "ledgerstream.transaction-timeouts")

    init(
        config: TransactionCoordinatorConfig, store: MetadataStore, topics: TopicRegistry, purgatory: FetchPurgatory,
        groups: GroupCoordinatorService, producerIds: ProducerIdAllocator, clock: any TimeSource, logger: Logger
    ) throws {
        let loaded = try store.loadTransactions()
        state = Mutex(State(coordinator: TransactionCoordinator(config: config, loaded: loaded)))
        writeView = Mutex(Dictionary(uniqueKeysWithValues: loaded.map { ($0.transactionalId, $0) }))
        self.store = store
        self.topics = topics
        self.purgatory = purgatory
        self.groups = groups
        self.producerIds = producerIds
        self.clock = clock
        self.logger = logger
    }

    private var now: Int64 { clock.wallClockMs() }

    /// At startup, before serving: finishes the transactions decided before the last stop (their markers may be
    /// missing on some partitions), then starts the timeout timer for the open ones.
    func recover() {
        let pending = state.withLock { state in
            let pending = state.coordinator.pendingCompletions
            state.completing.formUnion(pending.map(\.transactionalId))
            return pending
        }
        for completion in pending {
            logger.notice("finishing a transaction decided before the restart", metadata: [
                "transactionalId": "\(completion.transactionalId)", "outcome": "\(completion.commit ? "commit" : "abort")",
                "partitions": "\(completion.partitions.count)",
            ])
            // Crash points test the live path; an armed one must not fire while recovery replays it.
            finish(completion, crashPoints: false)
        }
        rearm(force: true)
    }

    /// Stops the timer and waits for a timeout abort it may be running, so nothing writes markers to logs being
    /// closed (an interrupted completion is finished at the next start).
    func shutdown() {
        state.withLock { state in
            state.isShutDown = true
            state.timer?.cancel()
            state.timer = nil
        }
        timerQueue.sync {}
    }

    // MARK: Requests

    /// Applies a decided update: stores it, then makes it current; a decided transaction is marked as being completed.
    /// Called with the lock held. Throws when the store fails (nothing changed then).
    private func commit(_ update: TransactionUpdate, in state: inout State) throws {
        try store.saveTransaction(update.metadata)
        apply(update.metadata, in: &state)
        if let completion = update.completion { state.completing.insert(completion.transactionalId) }
    }

    /// Makes stored metadata current, in the coordinator and in the produce path's view.
    private func apply(_ metadata: TransactionMetadata, in state: inout State) {
        state.coordinator.apply(metadata)
        writeView.withLock { $0[metadata.transactionalId] = metadata }
    }

    func initProducerId(
        transactionalId: String, timeoutMs: Int32, expected: (producerId: Int64, epoch: Int16)?
    ) -> (error: ErrorCode, producerId: Int64, producerEpoch: Int16) {
        let time = now
        let outcome = state.withLock { state -> (ErrorCode, Int64, Int16, TransactionCompletion?) in
            do {
                let decision = try state.coordinator.initProducerId(
                    transactionalId: transactionalId, timeoutMs: timeoutMs, expected: expected, now: time,
                    newProducerId: { try producerIds.next() })
                if let update = decision.update { try commit(update, in: &state) }
                return (decision.error, decision.producerId, decision.producerEpoch, decision.update?.completion)
            } catch {
                logger.error("InitProducerId failed to store the transaction state", metadata: [
                    "transactionalId": "\(transactionalId)", "error": "\(error)",
                ])
                return (.coordinatorNotAvailable, -1, -1, nil)
            }
        }
        if let completion = outcome.3 {
            logger.info("fencing the previous producer and aborting its transaction", metadata: [
                "transactionalId": "\(transactionalId)", "producerId": "\(completion.producerId)",
                "epoch": "\(completion.producerEpoch)",
            ])
            finish(completion)
        }
        return (outcome.0, outcome.1, outcome.2)
    }

    func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: Set<TopicPartition>
    ) -> ErrorCode {
        let time = now
        return decide { coordinator in
            coordinator.addPartitions(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                      partitions: partitions, now: time)
        }
    }

    func addOffsets(transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String) -> ErrorCode {
        let time = now
        return decide { coordinator in
            coordinator.addOffsets(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                   groupId: groupId, now: time)
        }
    }

    /// EndTxn. A decided transaction's markers are written before the answer, so a read_committed consumer sees a
    /// committed transaction as soon as its producer's commit returns (Kafka answers once the decision is stored
    /// and writes the markers afterwards; both are correct, this one is simpler for clients).
    func endTransaction(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool) -> ErrorCode {
        let time = now
        return decide { coordinator in
            coordinator.endTransaction(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                       commit: commit, now: time)
        }
    }

    /// Runs a decision, stores and applies its update, and carries out the transaction it decided, if any.
    private func decide(_ body: (TransactionCoordinator) -> TransactionCoordinator.Decision) -> ErrorCode {
        let outcome = state.withLock { state -> (ErrorCode, TransactionCompletion?, Int64?) in
            let decision = body(state.coordinator)
            guard let update = decision.update else { return (decision.error, nil, nil) }
            do {
                try commit(update, in: &state)
            } catch {
                logger.error("storing the transaction state failed", metadata: [
                    "transactionalId": "\(update.metadata.transactionalId)", "error": "\(error)",
                ])
                return (.coordinatorNotAvailable, nil, nil)
            }
            return (decision.error, update.completion, update.metadata.deadlineMs)
        }
        if let completion = outcome.1 { finish(completion) }
        if let deadline = outcome.2 { rearm(candidate: deadline) }
        return outcome.0
    }

    /// Produce path: may this producer write a transactional batch to `partition`? Called under the log's lock.
    func verifyWrite(transactionalId: String, producerId: Int64, producerEpoch: Int16, partition: TopicPartition) -> ErrorCode {
        let metadata = writeView.withLock { $0[transactionalId] }
        return TransactionCoordinator.verifyWrite(metadata, producerId: producerId, producerEpoch: producerEpoch, partition: partition)
    }

    /// TxnOffsetCommit: checked against the open transaction, then staged in the group, under this service's lock so
    /// the transaction cannot be decided in between (its completion would miss the offsets).
    func commitOffsets(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, groupId: String, memberId: String,
        generationId: Int32, groupInstanceId: String?, offsets: [TopicPartition: CommittedOffset]
    ) -> ErrorCode {
        state.withLock { state in
            let verdict = state.coordinator.verifyOffsetCommit(
                transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch, groupId: groupId)
            guard verdict == .none else { return verdict }
            return groups.stageTransactional(
                groupId: groupId, memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId,
                producerId: producerId, offsets: offsets)
        }
    }

    // MARK: Describing

    func describe(_ transactionalId: String) -> Result<TransactionMetadata, TransactionCoordinator.DescribeError> {
        state.withLock { $0.coordinator.describe(transactionalId) }
    }

    func list(states: [String], producerIds: [Int64], minimumDurationMs: Int64) -> (transactions: [TransactionMetadata], unknownStates: [String]) {
        let time = now
        return state.withLock {
            $0.coordinator.list(states: states, producerIds: producerIds, minimumDurationMs: minimumDurationMs, now: time)
        }
    }

    // MARK: Carrying out decisions

    /// Writes the transaction's markers, settles its groups' offsets, then stores CompleteCommit/CompleteAbort. On a
    /// storage failure the transaction stays decided and is retried by the timer; nothing is ever half-undone.
    private func finish(_ completion: TransactionCompletion, crashPoints: Bool = true) {
        let marker = ControlRecord(kind: completion.commit ? .commit : .abort,
                                   coordinatorEpoch: state.withLock { $0.coordinator.config.coordinatorEpoch })
        func reached(_ point: String) { if crashPoints { CrashPoint.reached(point) } }
        reached("transaction-decided")
        do {
            for partition in completion.partitions {
                try writeMarker(marker, for: completion, to: partition)
                reached("transaction-marker")
            }
            for group in completion.groups {
                try groups.completeTransactional(groupId: group, producerId: completion.producerId, commit: completion.commit)
                reached("transaction-offsets")
            }
            let time = now
            try state.withLock { state in
                defer { state.completing.remove(completion.transactionalId) }
                if let done = state.coordinator.completeTransaction(completion, now: time) {
                    try store.saveTransaction(done)
                    apply(done, in: &state)
                }
            }
        } catch {
            logger.error("completing a transaction failed; it will be retried", metadata: [
                "transactionalId": "\(completion.transactionalId)", "error": "\(error)",
            ])
            state.withLock { _ = $0.completing.remove(completion.transactionalId) }
            rearm(candidate: now + Self.retryDelayMs)
        }
    }

    /// The marker for one partition. Written only where the producer's transaction is open: a partition the
    /// transaction added but never wrote to needs none, and after a restart this skips partitions already marked.
    private func writeMarker(_ marker: ControlRecord, for completion: TransactionCompletion, to partition: TopicPartition) throws {
        guard let log = topics.topic(named: partition.topic)?.log(partition.partition),
              log.hasOpenTransaction(producerId: completion.producerId)
        else { return }
        do throws(StorageError) {
            _ = try log.appendMarker(producerId: completion.producerId, producerEpoch: completion.producerEpoch, marker: marker)
        } catch .closed {
            // Deleted meanwhile: nothing left to mark. Closed while still registered: the broker is stopping, and the
            // marker must be written at the next start, so the transaction may not be recorded as complete.
            if topics.topic(named: partition.topic)?.log(partition.partition) === log { throw StorageError.closed(log.name) }
            return
        } catch .producer(let refusal) {
            // The partition has seen a newer epoch of this producer: a later decision already closed the transaction.
            logger.warning("transaction marker refused", metadata: ["partition": "\(partition)", "reason": "\(refusal)"])
            return
        }
        purgatory.notify(topic: partition.topic, partition: partition.partition)
    }

    // MARK: Time

    /// Aborts timed-out transactions and retries failed completions, then re-arms the timer.
    private func tick() {
        let time = now
        let work = state.withLock { state -> [TransactionCompletion] in
            state.timer = nil
            state.timerDeadline = nil
            guard !state.isShutDown else { return [] }
            var work: [TransactionCompletion] = []
            for update in state.coordinator.timedOut(now: time) {
                do {
                    try commit(update, in: &state)
                    if let completion = update.completion { work.append(completion) }
                } catch {
                    logger.error("storing a timeout abort failed", metadata: [
                        "transactionalId": "\(update.metadata.transactionalId)", "error": "\(error)",
                    ])
                }
            }
            let retries = state.coordinator.pendingCompletions.filter { !state.completing.contains($0.transactionalId) }
            state.completing.formUnion(retries.map(\.transactionalId))
            return work + retries
        }
        for completion in work {
            logger.info("aborting a transaction", metadata: [
                "transactionalId": "\(completion.transactionalId)", "reason": "transaction.timeout.ms passed or retry",
            ])
            // Crash points test the live path; an armed one must not fire while recovery replays it.
            finish(completion, crashPoints: false)
        }
        rearm(force: true)
    }

    /// Schedules the timer for the earliest deadline: with `force` recomputed from every open transaction, else moved
    /// earlier only if `candidate` comes before the one set.
    private func rearm(candidate: Int64? = nil, force: Bool = false) {
        let time = now
        state.withLock { state in
            guard !state.isShutDown else { return }
            var deadline = state.timerDeadline
            if force {
                deadline = state.coordinator.nextDeadline
                if state.coordinator.pendingCompletions.contains(where: { !state.completing.contains($0.transactionalId) }) {
                    deadline = min(deadline ?? .max, time + Self.retryDelayMs)
                }
            } else if let candidate, candidate < (deadline ?? .max) {
                deadline = candidate
            }
            guard force || deadline != state.timerDeadline else { return }
            state.timer?.cancel()
            state.timer = nil
            state.timerDeadline = deadline
            guard let deadline else { return }
            let item = DispatchWorkItem { [self] in tick() }
            state.timer = item
            // One millisecond past the deadline: a transaction times out once its deadline has passed.
            timerQueue.asyncAfter(deadline: .now() + .milliseconds(Int(max(deadline - time + 1, 0))), execute: item)
        }
    }

    /// Aborts "hanging" transactions: open in a partition (data written, no marker) while the coordinator has no
    /// transaction of that producer including the partition, and idle longer than transaction.max.timeout.ms. Normal
    /// operation never leaves one (a marker always follows a decision, even across kill -9); a power loss that kept
    /// a partition's data but lost the coordinator's last write could, and would otherwise hold the partition's last
    /// stable offset back forever (Kafka leaves these to an operator with kafka-transactions.sh).
    func abortHangingTransactions() {
        let time = now
        let maxTimeoutMs = state.withLock { Int64($0.coordinator.config.maxTimeoutMs) }
        for topic in topics.all {
            for (index, log) in topic.logs.enumerated() {
                let partition = TopicPartition(topic: topic.name, partition: Int32(index))
                for open in log.openTransactions where time - open.lastAppendMs > maxTimeoutMs {
                    // Re-checked under the log's lock (then the coordinator's: the allowed order), so a producer that
                    // writes meanwhile is never aborted by mistake.
                    let isOrphan: @Sendable () -> Bool = { [self] in
                        !state.withLock { $0.coordinator.hasLiveTransaction(producerId: open.producerId, partition: partition) }
                    }
                    do {
                        guard try log.abortHangingTransaction(producerId: open.producerId, firstOffset: open.firstOffset,
                                                              idleBefore: time - maxTimeoutMs, isOrphan: isOrphan)
                        else { continue }
                        purgatory.notify(topic: partition.topic, partition: partition.partition)
                        logger.warning("aborted a hanging transaction the coordinator did not know", metadata: [
                            "partition": "\(partition)", "producerId": "\(open.producerId)", "firstOffset": "\(open.firstOffset)",
                        ])
                    } catch {
                        logger.error("aborting a hanging transaction failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Forgets transactional ids idle longer than transactional.id.expiration.ms (maintenance).
    func expireIdleIds() {
        let time = now
        state.withLock { state in
            for id in state.coordinator.expiredIds(now: time) {
                do {
                    try store.deleteTransaction(id)
                    state.coordinator.remove(id)
                    writeView.withLock { $0[id] = nil }
                    logger.info("expired transactional id", metadata: ["transactionalId": "\(id)"])
                } catch {
                    logger.error("expiring a transactional id failed", metadata: ["transactionalId": "\(id)", "error": "\(error)"])
                }
            }
        }
    }
}

import GroupCoordinator
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Synchronization
import Timekeeping

/// Drives the pure ``GroupCoordinator`` state machine: one lock around it, promises for the join and sync requests it
/// answers later, a timer at its next deadline (session expiry, rebalance and initial-delay timeouts), and durable
/// committed offsets (written to the metadata store before the in-memory state changes).
package final class GroupCoordinatorService: Sendable {
    struct State: ~Copyable {
        var coordinator: GroupCoordinator
        var joins: [RequestID: EventLoopPromise<JoinGroupOutcome>] = [:]
        var syncs: [RequestID: EventLoopPromise<SyncGroupOutcome>] = [:]
        var nextRequestId: RequestID = 1
        var timer: Scheduled<Void>?
        var timerDeadline: Int64?
        var loop: (any EventLoop)?
        var isShutDown = false
    }

    let state: Mutex<State>
    /// Held across each offset write's store-then-apply steps (plain commits, staged transactional ones, their
    /// settlement), so two writes to the same partitions cannot interleave and leave memory and the store disagreeing.
    private let offsetWrites = Mutex(())
    let store: MetadataStore
    let logger: Logger
    private let clock: any TimeSource

    init(config: BrokerConfig, store: MetadataStore, logger: Logger, clock: any TimeSource) {
        var coordinatorConfig = GroupCoordinatorConfig()
        coordinatorConfig.initialRebalanceDelayMs = config.groupInitialRebalanceDelayMs
        coordinatorConfig.minSessionTimeoutMs = config.groupMinSessionTimeoutMs
        coordinatorConfig.maxSessionTimeoutMs = config.groupMaxSessionTimeoutMs
        coordinatorConfig.maxMetadataBytes = config.offsetMetadataMaxBytes
        coordinatorConfig.consumer = config.consumerGroups.coordinatorConfig
        state = Mutex(State(coordinator: GroupCoordinator(config: coordinatorConfig)))
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    var now: Int64 { clock.wallClockMs() }

    /// Timers run on `loop`.
    package func start(on loop: any EventLoop) {
        state.withLock { $0.loop = loop }
    }

    func loadOffsets() throws {
        let stored = try store.loadOffsets()
        var byGroup: [String: [TopicPartition: CommittedOffset]] = [:]
        for offset in stored {
            byGroup[offset.group, default: [:]][TopicPartition(topic: offset.topic, partition: offset.partition)] =
                CommittedOffset(offset: offset.offset, leaderEpoch: offset.leaderEpoch, metadata: offset.metadata,
                                commitTimestampMs: offset.commitMs)
        }
        let pending = try store.loadPendingOffsets()
        state.withLock { state in
            for (group, offsets) in byGroup { state.coordinator.loadOffsets(groupId: group, offsets: offsets) }
            for entry in pending {
                state.coordinator.stageTransactionalOffsets(
                    groupId: entry.group, producerId: entry.producerId,
                    offsets: [TopicPartition(topic: entry.offset.topic, partition: entry.offset.partition): entry.offset.committed])
            }
        }
    }

    // MARK: Membership

    func join(_ input: (RequestID) -> JoinGroupInput, on eventLoop: any EventLoop) -> EventLoopFuture<JoinGroupOutcome> {
        let promise = eventLoop.makePromise(of: JoinGroupOutcome.self)
        let time = now
        let actions = state.withLock { state -> [CoordinatorAction] in
            let id = state.nextRequestId
            state.nextRequestId += 1
            state.joins[id] = promise
            return state.coordinator.joinGroup(input(id), now: time)
        }
        perform(actions)
        return promise.futureResult
    }

    func sync(_ input: (RequestID) -> SyncGroupInput, on eventLoop: any EventLoop) -> EventLoopFuture<SyncGroupOutcome> {
        let promise = eventLoop.makePromise(of: SyncGroupOutcome.self)
        let time = now
        let actions = state.withLock { state -> [CoordinatorAction] in
            let id = state.nextRequestId
            state.nextRequestId += 1
            state.syncs[id] = promise
            return state.coordinator.syncGroup(input(id), now: time)
        }
        perform(actions)
        return promise.futureResult
    }

    func heartbeat(groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode {
        let time = now
        let (error, actions) = state.withLock { state in
            state.coordinator.heartbeat(groupId: groupId, memberId: memberId, groupInstanceId: groupInstanceId,
                                        generationId: generationId, now: time)
        }
        perform(actions)
        return error
    }

    func leave(groupId: String, members: [(memberId: String, groupInstanceId: String?)]) -> (ErrorCode, [ErrorCode]) {
        let time = now
        let (error, memberErrors, actions) = state.withLock { state in
            state.coordinator.leaveGroup(groupId: groupId, members: members, now: time)
        }
        perform(actions)
        return (error, memberErrors)
    }

    func describeGroup(_ groupId: String) -> GroupDescription {
        state.withLock { $0.coordinator.describeGroup(groupId) }
    }

    // MARK: Offsets

    /// Validates the committing member, persists the offsets, then makes them visible. Returns one error for the
    /// whole request (membership) or NONE; per-partition checks are the caller's.
    func commit(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?, apiVersion: Int16,
        offsets: [TopicPartition: CommittedOffset]
    ) -> ErrorCode {
        offsetWrites.withLock { _ in
            commitLocked(groupId: groupId, memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId,
                         apiVersion: apiVersion, offsets: offsets)
        }
    }

    private func commitLocked(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?, apiVersion: Int16,
        offsets: [TopicPartition: CommittedOffset]
    ) -> ErrorCode {
        let time = now
        let (validation, actions) = state.withLock { state -> (ErrorCode, [CoordinatorAction]) in
            let error = state.coordinator.validateConsumerGroupOffsetCommit(
                groupId: groupId, memberId: memberId, memberEpoch: generationId, transactional: false, apiVersion: apiVersion)
                ?? state.coordinator.validateOffsetCommit(
                    groupId: groupId, memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId, now: time)
            return (error, [])
        }
        perform(actions)
        guard validation == .none else { return validation }
        guard !offsets.isEmpty else { return .none }
        do {
            try store.commitOffsets(offsets.map { partition, committed in
                StoredOffset(group: groupId, topic: partition.topic, partition: partition.partition, offset: committed.offset,
                             leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, commitMs: committed.commitTimestampMs)
            })
        } catch {
            logger.error("persisting committed offsets failed", metadata: ["group": "\(groupId)", "error": "\(error)"])
            return .coordinatorNotAvailable
        }
        state.withLock { $0.coordinator.storeOffsets(groupId: groupId, offsets: offsets) }
        return .none
    }

    // MARK: Transactional offsets

    /// TxnOffsetCommit after the transaction coordinator accepted it: the KIP-447 membership check, then the offsets
    /// are stored as pending (durably first) for `producerId`'s transaction. Returns NONE or the group-level error.
    func stageTransactional(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?, producerId: Int64,
        offsets: [TopicPartition: CommittedOffset]
    ) -> ErrorCode {
        offsetWrites.withLock { _ in
            stageTransactionalLocked(groupId: groupId, memberId: memberId, generationId: generationId,
                                     groupInstanceId: groupInstanceId, producerId: producerId, offsets: offsets)
        }
    }

    private func stageTransactionalLocked(
        groupId: String, memberId: String, generationId: Int32, groupInstanceId: String?, producerId: Int64,
        offsets: [TopicPartition: CommittedOffset]
    ) -> ErrorCode {
        let validation = state.withLock { state in
            state.coordinator.validateConsumerGroupOffsetCommit(
                groupId: groupId, memberId: memberId, memberEpoch: generationId, transactional: true, apiVersion: 0)
                ?? state.coordinator.validateTransactionalOffsetCommit(
                    groupId: groupId, memberId: memberId, generationId: generationId, groupInstanceId: groupInstanceId)
        }
        guard validation == .none else { return validation }
        guard !offsets.isEmpty else { return .none }
        do {
            try store.stagePendingOffsets(group: groupId, producerId: producerId, offsets.map { partition, committed in
                StoredOffset(group: groupId, topic: partition.topic, partition: partition.partition, offset: committed.offset,
                             leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, commitMs: committed.commitTimestampMs)
            })
        } catch {
            logger.error("persisting transactional offsets failed", metadata: ["group": "\(groupId)", "error": "\(error)"])
            return .coordinatorNotAvailable
        }
        state.withLock { $0.coordinator.stageTransactionalOffsets(groupId: groupId, producerId: producerId, offsets: offsets) }
        return .none
    }

    /// The producer's transaction ended: its staged offsets for the group become committed (commit) or are dropped.
    func completeTransactional(groupId: String, producerId: Int64, commit: Bool) throws {
        try offsetWrites.withLock { _ in
            try store.completePendingOffsets(group: groupId, producerId: producerId, commit: commit)
            state.withLock { $0.coordinator.completeTransactionalOffsets(groupId: groupId, producerId: producerId, commit: commit) }
        }
    }

    /// Partitions (of `partitions`) with a transactional commit staged in the group.
    func partitionsWithPendingTransactionalOffsets(groupId: String, _ partitions: [TopicPartition]) -> Set<TopicPartition> {
        state.withLock { state in
            Set(partitions.filter { state.coordinator.hasPendingTransactionalOffset(groupId: groupId, partition: $0) })
        }
    }

    func committedOffsets(groupId: String, partitions: [TopicPartition]?) -> [TopicPartition: CommittedOffset] {
        state.withLock { $0.coordinator.committedOffsets(groupId: groupId, partitions: partitions) }
    }

    /// OFFSET_METADATA_TOO_LARGE when `metadata` is over offset.metadata.max.bytes, else NONE.
    func metadataError(_ metadata: String?) -> ErrorCode {
        state.withLock { $0.coordinator.offsetMetadataError(metadata) }
    }

    func removeOffsets(topic: String) {
        state.withLock { $0.coordinator.removeOffsets(topic: topic) }
    }

    /// Runs `body` with offset writes and the coordinator locked, for deletions that must persist between deciding
    /// and applying (`GroupCoordinatorService+Deletion.swift`).
    func withCoordinatorForDeletion<T: Sendable>(_ body: (inout GroupCoordinator) -> T) -> T {
        offsetWrites.withLock { _ in state.withLock { body(&$0.coordinator) } }
    }

    // MARK: Actions and time

    /// Completes the promises the state machine answered, then re-arms the timer for its next deadline.
    func perform(_ actions: [CoordinatorAction]) {
        if !actions.isEmpty { logger.trace("group coordinator actions", metadata: ["actions": "\(actions.map { "\($0)".prefix(160) })"]) }
        var joins: [(EventLoopPromise<JoinGroupOutcome>, JoinGroupOutcome)] = []
        var syncs: [(EventLoopPromise<SyncGroupOutcome>, SyncGroupOutcome)] = []
        state.withLock { state in
            for action in actions {
                switch action {
                case .joinResponse(let id, let outcome):
                    if let promise = state.joins.removeValue(forKey: id) { joins.append((promise, outcome)) }
                case .syncResponse(let id, let outcome):
                    if let promise = state.syncs.removeValue(forKey: id) { syncs.append((promise, outcome)) }
                }
            }
        }
        for (promise, outcome) in joins { promise.succeed(outcome) }
        for (promise, outcome) in syncs { promise.succeed(outcome) }
        rearm()
    }

    private func rearm() {
        let time = now
        state.withLock { state in
            guard !state.isShutDown, let loop = state.loop else { return }
            let deadline = state.coordinator.nextDeadline
            if deadline == state.timerDeadline { return }
            state.timer?.cancel()
            state.timer = nil
            state.timerDeadline = deadline
            guard let deadline else { return }
            let delay = max(deadline - time, 0)
            state.timer = loop.scheduleTask(in: .milliseconds(delay)) { [self] in tick() }
        }
    }

    private func tick() {
        let time = now
        let actions = state.withLock { state -> [CoordinatorAction] in
            state.timer = nil
            state.timerDeadline = nil
            return state.coordinator.tick(now: time)
        }
        perform(actions)
    }

    /// Stops the timer and answers parked joins and syncs so no client waits on a dead broker.
    func shutdown() {
        let (joins, syncs) = state.withLock { state in
            state.isShutDown = true
            state.timer?.cancel()
            state.timer = nil
            defer {
                state.joins = [:]
                state.syncs = [:]
            }
            return (Array(state.joins.values), Array(state.syncs.values))
        }
        for promise in joins {
            promise.succeed(JoinGroupOutcome(errorCode: .coordinatorNotAvailable, generationId: -1, protocolType: nil,
                                             protocolName: nil, leader: "", memberId: "", members: []))
        }
        for promise in syncs {
            promise.succeed(SyncGroupOutcome(errorCode: .coordinatorNotAvailable, protocolType: nil, protocolName: nil,
                                             assignment: ByteBuffer()))
        }
    }
}

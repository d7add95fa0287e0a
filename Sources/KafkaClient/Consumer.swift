import KafkaProtocol
import NIOCore
import Timekeeping

/// Which records of transactional producers a consumer sees (isolation.level).
public enum IsolationLevel: String, Sendable, CaseIterable {
    /// Everything in the log, including open and aborted transactions' records (Kafka's Java default).
    case readUncommitted = "read_uncommitted"
    /// Only committed transactions: reads stop at the last stable offset and aborted transactions are skipped.
    case readCommitted = "read_committed"

    var wireValue: Int8 { self == .readCommitted ? 1 : 0 }
}

/// Consumer settings, named after their Kafka client equivalents.
public struct ConsumerConfig: Sendable {
    public enum OffsetReset: String, Sendable {
        case earliest, latest, none
    }

    /// Consumer group; required for `subscribe` and for committing offsets.
    public var groupId: String?
    public var sessionTimeoutMs: Int32 = 45_000
    public var rebalanceTimeoutMs: Int32 = 300_000
    public var heartbeatIntervalMs: Int64 = 3000
    /// Where to start when there is no committed offset (or it is out of range).
    public var autoOffsetReset: OffsetReset = .latest
    public var enableAutoCommit = true
    public var autoCommitIntervalMs: Int64 = 5000
    /// Assignment strategies offered to the group, preferred first.
    public var assignors: [Assignor] = [.range, .roundrobin]
    public var fetchMaxWaitMs: Int32 = 500
    public var fetchMinBytes: Int32 = 1
    public var fetchMaxBytes: Int32 = 52_428_800
    public var maxPartitionFetchBytes: Int32 = 1_048_576
    public var maxPollRecords = 10_000
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// How long joining the group may keep retrying a coordinator that is unreachable or not ready
    /// (default.api.timeout.ms).
    public var defaultApiTimeoutMs: Int64 = 60_000

    public init() {}
}

/// Where an explicitly assigned partition starts.
public enum StartPosition: Sendable, Equatable {
    case beginning
    case end
    case offset(Int64)
    /// The first record with a timestamp >= this (ms); the end if there is none.
    case timestamp(Int64)
    /// The group's committed offset, else `autoOffsetReset`.
    case committed
}

/// A consumed record.
public struct ConsumerRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]
}

/// A Kafka consumer: either a member of a consumer group (`subscribe`: join, sync, heartbeat, range or round-robin
/// assignment computed by the leader, commits, a clean leave on close) or with explicit partitions (`assign`, from
/// the beginning, the end, an offset, a timestamp or the committed offset). Fetches are pipelined: while the caller
/// handles one batch of records the next fetch is already on its way.
/// Told when a subscribed consumer's partitions change, as Java's ConsumerRebalanceListener: what it gives up before
/// rejoining its group, and what it got after, before fetching. A consumer that keeps its own positions (such as
/// the ledger sink, in its database) finishes its work on the old partitions in the first and says where to start
/// the new ones in the second.
public protocol ConsumerRebalanceListener: Sendable {
    /// Called in `poll` before the consumer rejoins its group, with the partitions it held.
    func partitionsRevoked(_ partitions: [TopicPartition]) async
    /// Called with the new assignment before anything is fetched: where to start each partition (those left out
    /// start from the committed offset, else by auto.offset.reset). An error fails the `poll`.
    func partitionsAssigned(_ partitions: [TopicPartition]) async throws -> [TopicPartition: StartPosition]
}

public actor KafkaConsumer {
    public let client: KafkaClient
    public let config: ConsumerConfig
    private var subscription: [String] = []
    private var rebalanceListener: (any ConsumerRebalanceListener)?
    private var manualStarts: [TopicPartition: StartPosition]?
    /// Next offset to fetch, per assigned partition.
    private var fetchPositions: [TopicPartition: Int64] = [:]
    /// Next offset to hand to the caller (what commits record).
    private var consumedPositions: [TopicPartition: Int64] = [:]
    /// Fetched batches not yet handed out: `buffered[bufferedHead...]`. Handed-out batches stay in the array until it
    /// empties (they share the fetch response's storage anyway), so handing out never shifts the rest down.
    private var buffered: [FetchedBatch] = []
    private var bufferedHead = 0
    /// Buffered batches per partition: once a partition has none left, its consumed position moves to its fetch
    /// position, past batches the caller never sees (transaction markers, aborted transactions).
    private var bufferedCounts: [TopicPartition: Int] = [:]
    private var inFlight: [Int32: Task<FetchResult, any Error>] = [:]
    /// Incremental fetch sessions per broker (KIP-227), with the request each in-flight fetch sent.
    private var fetchSessions: [Int32: FetchSessionHandler] = [:]
    private var sessionRequests: [Int32: FetchSessionHandler.Request] = [:]

    /// The fetch session id held with each broker (0: none), for tests.
    var fetchSessionIds: [Int32: Int32] { fetchSessions.mapValues(\.sessionId) }
    private var memberId = ""
    private var generationId: Int32 = -1
    private var needsJoin = false
    private var heartbeat: Task<Void, Never>?
    /// This consumer's own connection to its group coordinator (see ``KafkaClient/dedicatedConnection(toNode:)``).
    private var coordinatorConnection: BrokerConnection?
    private var lastCommitMs: Int64 = 0
    private var lastLeaderLookupMs: Int64 = 0
    private var lastCommitted: [TopicPartition: Int64] = [:]
    private var isClosed = false
    /// Where each partition ends for this consumer, as the last fetch response for it said (see ``logEndOffsets``).
    private var fetchedLogEnds: [TopicPartition: Int64] = [:]

    struct FetchResult: Sendable {
        var batches: [FetchedBatch]
        var nextPositions: [TopicPartition: Int64]
        var resets: [TopicPartition]
        var staleLeader: Bool
        /// Each answered partition's end: its high watermark, or with read_committed its last stable offset.
        var logEnds: [TopicPartition: Int64] = [:]
        /// The top-level error and session id of the answer (0/0 without sessions).
        var sessionError: Int16 = 0
        var sessionId: Int32 = 0
    }

    public init(client: KafkaClient, config: ConsumerConfig = ConsumerConfig()) {
        self.client = client
        self.config = config
    }

    /// Monotonic milliseconds from the client's time source.
    private var nowMs: Int64 { client.time.monotonicMs() }

    /// The partitions currently assigned.
    public var assignment: [TopicPartition] { fetchPositions.keys.sorted() }

    /// The next offset the caller will see, per partition (what a commit stores).
    public var positions: [TopicPartition: Int64] { consumedPositions }

    /// Where each assigned partition ends for this consumer, as the fetch responses already received say: the high
    /// watermark, or with read_committed the last stable offset. No request of its own (unlike ``endOffsets()``), so
    /// it can be read as often as a lag gauge needs; a partition not fetched yet is missing. With fetch sessions a
    /// partition whose end did not move is left out of responses, so its last value stays current.
    public var logEndOffsets: [TopicPartition: Int64] { fetchedLogEnds }

    /// The group generation and member id (-1 and "" outside a group, or before joining).
    var currentGeneration: Int32 { manualStarts == nil ? generationId : -1 }
    var currentMemberId: String { manualStarts == nil ? memberId : "" }

    // MARK: Subscribing and assigning

    /// Joins the consumer group and consumes the partitions the group assigns.
    public func subscribe(_ topics: [String], listener: (any ConsumerRebalanceListener)? = nil) async throws {
        guard config.groupId != nil else { throw KafkaClientError.invalidArgument("subscribing needs a consumer group (--group)") }
        subscription = topics.sorted()
        rebalanceListener = listener
        manualStarts = nil
        needsJoin = true
        try await ensureAssignment()
    }

    /// Makes the next `poll` rejoin the group (a subscribed consumer that learnt it lost its partitions some other
    /// way, such as the ledger sink fenced in its database).
    public func rejoin() {
        if manualStarts == nil && !subscription.isEmpty { needsJoin = true }
    }

    /// Consumes exactly these partitions from the given positions (no group membership).
    public func assign(_ starts: [TopicPartition: StartPosition]) async throws {
        manualStarts = starts
        subscription = []
        try await resetPositions(Dictionary(uniqueKeysWithValues: starts.map { ($0.key, $0.value) }))
    }

    /// Waits up to `timeoutMs` for records; returns those available (possibly none), at most `maxPollRecords`.
    public func poll(timeoutMs: Int64 = 1000) async throws -> [ConsumerRecord] {
        try await fillBuffer(timeoutMs: timeoutMs)
        var records: [ConsumerRecord] = []
        while bufferedHead < buffered.count && records.count < config.maxPollRecords {
            let batch = buffered[bufferedHead]
            let room = config.maxPollRecords - records.count
            let decoded: [ConsumerRecord]
            do {
                // One more than fits: whether the batch goes on past this poll.
                decoded = try batch.consumerRecords(limit: room + 1)
            } catch {
                // The records gathered so far are handed out (their positions moved already); the next poll fails.
                guard records.isEmpty else { break }
                throw KafkaClientError.malformedResponse("\(batch.topic)-\(batch.partition) at offset \(batch.header.baseOffset): \(error)")
            }
            if decoded.count > room {
                // The rest of the batch waits for the next poll.
                records.append(contentsOf: decoded[..<room])
                buffered[bufferedHead].firstOffset = decoded[room].offset
                consumedPositions[TopicPartition(topic: batch.topic, partition: batch.partition)] = decoded[room - 1].offset + 1
                break
            }
            records.append(contentsOf: decoded)
            handedOut(batch, upTo: decoded.last.map { $0.offset + 1 })
        }
        startFetches()
        return records
    }

    /// Waits up to `timeoutMs` for records; returns the fetched batches available (possibly none), whole, until they
    /// hold at least `maxPollRecords` records. For consumers that walk records themselves (see ``FetchedBatch``):
    /// the consumed positions move past each batch handed out.
    public func pollBatches(timeoutMs: Int64 = 1000) async throws -> [FetchedBatch] {
        try await fillBuffer(timeoutMs: timeoutMs)
        var batches: [FetchedBatch] = []
        var records = 0
        while bufferedHead < buffered.count && records < config.maxPollRecords {
            let batch = buffered[bufferedHead]
            batches.append(batch)
            records += Int(batch.header.recordCount)
            handedOut(batch, upTo: batch.nextOffset)
        }
        startFetches()
        return batches
    }

    /// Fetches until a batch is buffered, `timeoutMs` passed or the group needs a rejoin.
    private func fillBuffer(timeoutMs: Int64) async throws {
        if isClosed { throw KafkaClientError.closed }
        try await ensureAssignment()
        if config.enableAutoCommit && config.groupId != nil && nowMs - lastCommitMs >= config.autoCommitIntervalMs {
            try? await commit()
        }
        let deadline = nowMs + timeoutMs
        while bufferedHead == buffered.count {
            await lookUpMissingLeaders(startFetches())
            if inFlight.isEmpty {
                if nowMs >= deadline { break }
                try await client.time.sleep(milliseconds: 50)
                continue
            }
            try await collectOneFetch()
            if bufferedHead == buffered.count && nowMs >= deadline { break }
            if needsJoin { break }
        }
    }

    /// The buffer's first batch was handed out, up to `next` (nil: nothing of it was the caller's): the consumed
    /// position moves there, or to the fetch position once the partition has no batch left in the buffer.
    private func handedOut(_ batch: FetchedBatch, upTo next: Int64?) {
        bufferedHead += 1
        if bufferedHead == buffered.count {
            buffered = []
            bufferedHead = 0
        }
        let key = TopicPartition(topic: batch.topic, partition: batch.partition)
        var consumed = max(next ?? 0, consumedPositions[key] ?? 0)
        let left = (bufferedCounts[key] ?? 1) - 1
        if left <= 0 {
            bufferedCounts[key] = nil
            consumed = max(consumed, fetchPositions[key] ?? consumed)
        } else {
            bufferedCounts[key] = left
        }
        consumedPositions[key] = consumed
    }

    /// Commits the positions consumed so far (synchronously). In assign mode the commit is a "simple" one
    /// (generation -1), which Kafka accepts while no group members are active.
    public func commit() async throws {
        try await commit(consumedPositions)
    }

    /// Commits the given next offsets: for a consumer that processes records after polling them (such as the
    /// SQLite sink, which polls the next batch while the last one is written), the positions it has finished with.
    public func commit(_ positions: [TopicPartition: Int64]) async throws {
        guard let group = config.groupId else { throw KafkaClientError.invalidArgument("committing needs a consumer group") }
        let changed = positions.filter { lastCommitted[$0.key] != $0.value }
        lastCommitMs = nowMs
        guard !changed.isEmpty else { return }
        let connection = try await coordinator()
        var byTopic: [String: [OffsetCommitRequest.OffsetCommitRequestTopic.OffsetCommitRequestPartition]] = [:]
        for (partition, offset) in changed {
            byTopic[partition.topic, default: []].append(.init(partitionIndex: partition.partition, committedOffset: offset,
                                                               committedLeaderEpoch: -1, committedMetadata: ""))
        }
        let inGroup = manualStarts == nil
        let response = try await connection.send(OffsetCommitRequest(
            groupId: group, generationIdOrMemberEpoch: inGroup ? generationId : -1, memberId: inGroup ? memberId : "",
            retentionTimeMs: -1, topics: byTopic.sorted { $0.key < $1.key }.map { .init(name: $0.key, partitions: $0.value) }))
        for topic in response.topics {
            for partition in topic.partitions {
                let error = ErrorCode(rawValue: partition.errorCode)
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                if error == .none {
                    lastCommitted[key] = changed[key]
                } else {
                    if [.rebalanceInProgress, .illegalGeneration, .unknownMemberId].contains(error) { needsJoin = inGroup }
                    throw KafkaClientError.broker(error, message: "committing \(key)")
                }
            }
        }
    }

    /// Commits (with auto-commit), leaves the group and stops.
    public func close() async {
        if config.groupId != nil && config.enableAutoCommit { try? await commit() }
        heartbeat?.cancel()
        heartbeat = nil
        // Fetches still in flight are cancelled and awaited: none may outlive the consumer (its client's event
        // loops may be shut down right after).
        let fetches = inFlight.values
        inFlight = [:]
        for task in fetches { task.cancel() }
        for task in fetches { _ = try? await task.value }
        if let group = config.groupId, manualStarts == nil, !memberId.isEmpty, generationId >= 0 {
            if let connection = try? await coordinator() {
                let version = (try? connection.version(for: LeaveGroupRequest.self)) ?? 0
                let request = version >= 3
                    ? LeaveGroupRequest(groupId: group, members: [.init(memberId: memberId, groupInstanceId: nil, reason: "consumer closing")])
                    : LeaveGroupRequest(groupId: group, memberId: memberId)
                _ = try? await connection.send(request, version: version, timeout: .seconds(5))
            }
        }
        await coordinatorConnection?.closeAndWait()
        coordinatorConnection = nil
        isClosed = true
    }

    /// The connection to the group coordinator, found and opened on first use and after a failure.
    private func coordinator() async throws -> BrokerConnection {
        if let connection = coordinatorConnection, connection.isActive { return connection }
        guard let group = config.groupId else { throw KafkaClientError.invalidArgument("no consumer group") }
        coordinatorConnection?.close()
        coordinatorConnection = nil
        let node = try await client.findCoordinator(forGroup: group)
        let connection = try await client.dedicatedConnection(toNode: node)
        coordinatorConnection = connection
        return connection
    }

    /// Where every assigned partition ends for this consumer (for --exit-at-end): the log end offset, or with
    /// read_committed the last stable offset (nothing past it can be read yet).
    public func endOffsets() async throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        let client = self.client
        let isolation = config.isolationLevel
        for (topic, partitions) in Dictionary(grouping: assignment, by: \.topic) {
            // A broker restarting meanwhile is waited for (default.api.timeout.ms), as for every consumer call.
            let ends = try await Retry.run(forMs: config.defaultApiTimeoutMs, time: client.time) {
                try await client.listOffsets(topic: topic, partitions: partitions.map(\.partition), timestamp: -1, isolation: isolation)
            }
            for (partition, offset) in ends { result[TopicPartition(topic: topic, partition: partition)] = offset }
        }
        return result
    }

    // MARK: Positions

    private func resetPositions(_ starts: [TopicPartition: StartPosition]) async throws {
        // Learn every topic's leaders and ids first: fetches are routed from this metadata.
        for topic in Set(starts.keys.map(\.topic)) {
            let info = try await client.topic(topic)
            for partition in starts.keys where partition.topic == topic && !info.partitions.contains(where: { $0.partition == partition.partition }) {
                throw KafkaClientError.invalidArgument("topic \(topic) has no partition \(partition.partition) (it has \(info.partitions.count))")
            }
        }
        var committed: [String: [Int32: Int64]] = [:]
        if starts.values.contains(.committed), let group = config.groupId {
            for topic in Set(starts.keys.map(\.topic)) {
                let found = try await client.committedOffsets(group: group, topic: topic,
                                                              partitions: starts.keys.filter { $0.topic == topic }.map(\.partition),
                                                              using: try await coordinator(),
                                                              requireStable: config.isolationLevel == .readCommitted)
                committed.merge(found) { a, _ in a }
            }
        }
        var positions: [TopicPartition: Int64] = [:]
        for (partition, start) in starts {
            var effective = start
            if start == .committed {
                if let offset = committed[partition.topic]?[partition.partition] {
                    positions[partition] = offset
                    continue
                }
                switch config.autoOffsetReset {
                case .earliest: effective = .beginning
                case .latest: effective = .end
                case .none: throw KafkaClientError.invalidArgument("no committed offset for \(partition) and auto.offset.reset is none")
                }
            }
            switch effective {
            case .offset(let offset): positions[partition] = offset
            case .beginning, .end, .timestamp:
                let timestamp: Int64 = {
                    switch effective {
                    case .beginning: return -2
                    case .end: return -1
                    case .timestamp(let t): return t
                    default: return -1
                    }
                }()
                var offset = try await client.listOffsets(
                    topic: partition.topic, partitions: [partition.partition], timestamp: timestamp,
                    isolation: config.isolationLevel)[partition.partition] ?? -1
                if offset < 0 {  // no record that new: start at the end
                    offset = try await client.listOffsets(
                        topic: partition.topic, partitions: [partition.partition], timestamp: -1,
                        isolation: config.isolationLevel)[partition.partition] ?? 0
                }
                positions[partition] = offset
            case .committed:
                break
            }
        }
        for task in inFlight.values { task.cancel() }
        // A cancelled fetch may or may not have reached its broker: those sessions start over with a full fetch.
        for leader in inFlight.keys { fetchSessions[leader]?.handleError() }
        sessionRequests = [:]
        inFlight = [:]
        buffered = []
        bufferedHead = 0
        bufferedCounts = [:]
        fetchPositions = positions
        consumedPositions = positions
        fetchedLogEnds = fetchedLogEnds.filter { positions[$0.key] != nil }
    }

    // MARK: Fetching

    /// Starts a fetch to every leader that has none in flight; returns the partitions whose leader is unknown (they
    /// are not fetched until a metadata refresh names one).
    @discardableResult
    private func startFetches() -> [TopicPartition] {
        guard !fetchPositions.isEmpty else { return [] }
        var byLeader: [Int32: [TopicPartition]] = [:]
        let metadata = client.metadataSnapshot
        for partition in fetchPositions.keys {
            let leader = metadata[partition.topic]?.partitions.first { $0.partition == partition.partition }?.leader ?? -1
            byLeader[leader, default: []].append(partition)
        }
        for (leader, partitions) in byLeader where inFlight[leader] == nil && leader >= 0 {
            let positions = partitions.map { ($0, fetchPositions[$0]!) }
            let topicIds = Dictionary(uniqueKeysWithValues: Set(partitions.map(\.topic)).map { ($0, metadata[$0]?.id ?? .zero) })
            let client = self.client
            let config = self.config
            let session = fetchSessions[leader, default: FetchSessionHandler()].build(Dictionary(uniqueKeysWithValues: positions.map {
                ($0.0, FetchSessionHandler.PartitionState(fetchOffset: $0.1, maxBytes: config.maxPartitionFetchBytes,
                                                          topicId: topicIds[$0.0.topic] ?? .zero))
            }))
            sessionRequests[leader] = session
            inFlight[leader] = Task {
                try await Self.fetch(client: client, leader: leader, positions: positions, topicIds: topicIds, session: session,
                                     config: config)
            }
        }
        return byLeader[-1] ?? []
    }

    /// Partitions without a known leader (a broker restarting when the metadata was last read) would otherwise never
    /// be fetched again: their topics' metadata is read again, at most twice a second, until a leader is named.
    private func lookUpMissingLeaders(_ leaderless: [TopicPartition]) async {
        guard !leaderless.isEmpty, nowMs - lastLeaderLookupMs >= 500 else { return }
        lastLeaderLookupMs = nowMs
        _ = try? await client.refreshMetadata(topics: Array(Set(leaderless.map(\.topic))).sorted())
    }

    /// Waits for the first fetch to finish and takes its records.
    private func collectOneFetch() async throws {
        guard let (leader, task) = inFlight.first else { return }
        let result: FetchResult
        do {
            result = try await task.value
        } catch let error as KafkaClientError where error.isPermissionFailure {
            // Retrying cannot help: the credentials or the ACLs must change.
            inFlight[leader] = nil
            fetchSessions[leader]?.handleError()
            throw error
        } catch {
            inFlight[leader] = nil
            fetchSessions[leader]?.handleError()
            await client.discard(node: leader)
            _ = try? await client.refreshMetadata(topics: Array(Set(fetchPositions.keys.map(\.topic))))
            try await client.time.sleep(milliseconds: 100)
            return
        }
        inFlight[leader] = nil
        if let request = sessionRequests.removeValue(forKey: leader),
           fetchSessions[leader]?.handleResponse(to: request, errorCode: result.sessionError, responseSessionId: result.sessionId) == false {
            return  // a session error: the next fetch is full
        }
        for (partition, next) in result.nextPositions where fetchPositions[partition] != nil {
            fetchPositions[partition] = next
        }
        for (partition, end) in result.logEnds where fetchPositions[partition] != nil { fetchedLogEnds[partition] = end }
        // A partition no longer assigned is skipped; into an empty buffer the fetch's array moves whole.
        var kept = result.batches
        var dropped = false
        for batch in kept {
            let key = TopicPartition(topic: batch.topic, partition: batch.partition)
            if fetchPositions[key] != nil {
                bufferedCounts[key, default: 0] += 1
            } else {
                dropped = true
            }
        }
        if dropped { kept.removeAll { fetchPositions[TopicPartition(topic: $0.topic, partition: $0.partition)] == nil } }
        if bufferedHead == buffered.count {
            buffered = kept
            bufferedHead = 0
        } else {
            buffered.append(contentsOf: kept)
        }
        // A partition whose fetch brought nothing to hand out (only markers or aborted records) is consumed up to
        // where the next fetch starts.
        for (partition, next) in result.nextPositions where bufferedCounts[partition] == nil {
            if let consumed = consumedPositions[partition], consumed < next { consumedPositions[partition] = next }
        }
        if !result.resets.isEmpty {
            let reset: StartPosition = config.autoOffsetReset == .earliest ? .beginning : .end
            try await resetPartitions(result.resets, to: reset)
        }
        if result.staleLeader {
            _ = try? await client.refreshMetadata(topics: Array(Set(fetchPositions.keys.map(\.topic))))
        }
    }

    private func resetPartitions(_ partitions: [TopicPartition], to start: StartPosition) async throws {
        for partition in partitions {
            let timestamp: Int64 = start == .beginning ? -2 : -1
            if let offset = try await client.listOffsets(
                topic: partition.topic, partitions: [partition.partition], timestamp: timestamp,
                isolation: config.isolationLevel)[partition.partition] {
                fetchPositions[partition] = offset
                consumedPositions[partition] = offset
            }
        }
    }

    /// One Fetch to `leader` for `positions` (every partition read from it): through the incremental `session` when the
    /// broker speaks Fetch v7+, else in full without a session.
    private static func fetch(
        client: KafkaClient, leader: Int32, positions: [(TopicPartition, Int64)], topicIds: [String: KafkaUUID],
        session: FetchSessionHandler.Request, config: ConsumerConfig
    ) async throws -> FetchResult {
        let connection = try await client.connection(toNode: leader)
        let version = try connection.version(for: FetchRequest.self)
        let usesSession = version >= 7
        let listed = usesSession ? session.partitions.map { ($0.0, $0.1.fetchOffset) } : positions
        let byTopic = Dictionary(grouping: listed, by: { $0.0.topic })
        let forgotten = usesSession ? Dictionary(grouping: session.forgotten, by: { $0.0.topic }) : [:]
        let request = FetchRequest(
            replicaId: -1, maxWaitMs: config.fetchMaxWaitMs, minBytes: config.fetchMinBytes, maxBytes: config.fetchMaxBytes,
            isolationLevel: config.isolationLevel.wireValue, sessionId: usesSession ? session.sessionId : 0,
            sessionEpoch: usesSession ? session.epoch : -1,
            topics: byTopic.keys.sorted().map { topic in
                .init(topic: topic, topicId: topicIds[topic] ?? .zero, partitions: byTopic[topic]!.map {
                    .init(partition: $0.0.partition, currentLeaderEpoch: -1, fetchOffset: $0.1, lastFetchedEpoch: -1,
                          logStartOffset: -1, partitionMaxBytes: config.maxPartitionFetchBytes)
                })
            },
            forgottenTopicsData: forgotten.keys.sorted().map { topic in
                .init(topic: topic, topicId: forgotten[topic]![0].1, partitions: forgotten[topic]!.map(\.0.partition))
            })
        let response = try await connection.send(request, version: version,
                                                 timeout: .milliseconds(Int64(config.fetchMaxWaitMs) + 30_000))
        switch ErrorCode(rawValue: response.errorCode) {
        case .none:
            break
        case .fetchSessionIdNotFound, .invalidFetchSessionEpoch, .fetchSessionTopicIdError:
            return FetchResult(batches: [], nextPositions: [:], resets: [], staleLeader: false, sessionError: response.errorCode)
        case let error:
            throw KafkaClientError.broker(error, message: "fetch failed")
        }
        let nameById = Dictionary(topicIds.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let wanted = Dictionary(positions, uniquingKeysWith: { a, _ in a })
        var result = FetchResult(batches: [], nextPositions: [:], resets: [], staleLeader: false,
                                 sessionId: usesSession ? response.sessionId : 0)
        for topic in response.responses {
            let name = version >= 13 ? nameById[topic.topicId] ?? topic.topic : topic.topic
            for data in topic.partitions {
                let key = TopicPartition(topic: name, partition: data.partitionIndex)
                guard let position = wanted[key] else { continue }
                switch ErrorCode(rawValue: data.errorCode) {
                case .none:
                    break
                case .offsetOutOfRange:
                    result.resets.append(key)
                    continue
                case .notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable, .unknownTopicId, .fencedLeaderEpoch,
                     .unknownLeaderEpoch, .kafkaStorageError:
                    result.staleLeader = true
                    continue
                case .topicAuthorizationFailed:
                    throw KafkaClientError.notAuthorized("Read on topic \(key.topic) (TOPIC_AUTHORIZATION_FAILED)")
                case let error:
                    throw KafkaClientError.broker(error, message: "fetching \(key)")
                }
                result.logEnds[key] = config.isolationLevel == .readCommitted && data.lastStableOffset >= 0
                    ? data.lastStableOffset : data.highWatermark
                guard case .bytes(var bytes)? = data.records else { continue }
                var next = position
                var aborted = AbortedTransactionFilter(data.abortedTransactions ?? [])
                // Whole batches; a trailing batch cut short by the size limit is left for the next fetch.
                while bytes.readableBytes >= RecordBatchHeader.size, let header = RecordBatchHeader(bytes),
                      header.totalSize <= bytes.readableBytes {
                    let batch = bytes.readSlice(length: header.totalSize)!
                    if header.magic != 2 {
                        throw KafkaClientError.malformedResponse("\(key): record format v\(header.magic) is not supported (only v2)")
                    }
                    if config.isolationLevel == .readCommitted && !aborted.shouldDeliver(header, batch: batch) || header.isControl {
                        next = max(next, header.nextOffset)
                        continue
                    }
                    // A record at the largest offset could never be consumed past (nor committed): refused.
                    let (last, overflow) = header.baseOffset.addingReportingOverflow(Int64(header.lastOffsetDelta))
                    guard !overflow, last < Int64.max, header.lastOffsetDelta >= 0 else {
                        throw KafkaClientError.malformedResponse(
                            "\(key) at offset \(header.baseOffset): the batch's last offset delta \(header.lastOffsetDelta) is out of range")
                    }
                    do {
                        let (header, area) = try RecordBatchHeader.recordArea(of: batch)
                        // Offsets near the largest are checked record by record (a record's delta beyond the batch's
                        // last one would pass it); below, no offset delta can reach it.
                        if header.baseOffset > Int64.max - Int64(Int32.max) { _ = try RecordBatchHeader.records(inArea: area, of: header) }
                        // A batch with no records (kept by compaction for its producer's state) has none to hand out.
                        if header.nextOffset > position && header.recordCount > 0 {
                            result.batches.append(FetchedBatch(topic: name, partition: data.partitionIndex, header: header,
                                                               records: area, firstOffset: position))
                        }
                    } catch {
                        throw KafkaClientError.malformedResponse(
                            "\(key) at offset \(header.baseOffset): \(header.compression) batches cannot be read by ledgerstream's consumer (\(error))")
                    }
                    next = max(next, header.nextOffset)
                }
                result.nextPositions[key] = next
            }
        }
        return result
    }

    // MARK: Group membership

    private func ensureAssignment() async throws {
        guard manualStarts == nil, !subscription.isEmpty, needsJoin else { return }
        if config.enableAutoCommit && generationId >= 0 { try? await commit() }
        if let listener = rebalanceListener, generationId >= 0 { await listener.partitionsRevoked(assignment) }
        try await joinGroup()
    }

    /// JoinGroup (with the MEMBER_ID_REQUIRED handshake), assignment if leader, SyncGroup, then positions.
    private func joinGroup() async throws {
        guard let group = config.groupId else { return }
        // No heartbeats while joining: the JoinGroup may be parked for a while on the coordinator connection.
        heartbeat?.cancel()
        heartbeat = nil
        var attempts = 0
        // A coordinator that restarts or moves mid-join (a lost connection, NOT_COORDINATOR, a group still loading)
        // is waited for, with backoff, up to default.api.timeout.ms; then the error reaches the caller.
        let deadline = nowMs + config.defaultApiTimeoutMs
        var backoffMs: Int64 = 100
        while true {
            attempts += 1
            do {
                let connection = try await coordinator()
                let version = try connection.version(for: JoinGroupRequest.self)
                let metadata = ConsumerProtocol.encodeSubscription(topics: subscription)
                let join = try await connection.send(JoinGroupRequest(
                    groupId: group, sessionTimeoutMs: config.sessionTimeoutMs, rebalanceTimeoutMs: config.rebalanceTimeoutMs,
                    memberId: memberId, groupInstanceId: nil, protocolType: "consumer",
                    protocols: config.assignors.map { .init(name: $0.rawValue, metadata: metadata) }, reason: nil),
                    version: version, timeout: .milliseconds(Int64(config.rebalanceTimeoutMs) + 10_000))
                let error = ErrorCode(rawValue: join.errorCode)
                if error == .memberIdRequired {
                    memberId = join.memberId
                    continue
                }
                if error == .unknownMemberId || error == .illegalGeneration {
                    memberId = ""
                    if attempts < 10 { continue }
                }
                if error == .rebalanceInProgress && attempts < 10 { continue }
                guard error == .none else { throw KafkaClientError.broker(error, message: "joining group \(group)") }
                memberId = join.memberId
                generationId = join.generationId
                var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
                if join.leader == join.memberId {
                    assignments = try await computeAssignments(join)
                }
                let sync = try await connection.send(SyncGroupRequest(
                    groupId: group, generationId: generationId, memberId: memberId, groupInstanceId: nil,
                    protocolType: "consumer", protocolName: join.protocolName, assignments: assignments),
                    timeout: .milliseconds(Int64(config.rebalanceTimeoutMs) + 10_000))
                let syncError = ErrorCode(rawValue: sync.errorCode)
                if syncError == .rebalanceInProgress || syncError == .illegalGeneration || syncError == .unknownMemberId {
                    if syncError != .rebalanceInProgress { memberId = "" }
                    if attempts < 10 { continue }
                }
                guard syncError == .none else { throw KafkaClientError.broker(syncError, message: "syncing group \(group)") }
                let assignment = try ConsumerProtocol.decodeAssignment(sync.assignment)
                var starts: [TopicPartition: StartPosition] = [:]
                for (topic, partitions) in assignment.partitions {
                    for partition in partitions { starts[TopicPartition(topic: topic, partition: partition)] = .committed }
                }
                if let listener = rebalanceListener {
                    let chosen = try await listener.partitionsAssigned(starts.keys.sorted())
                    for (partition, start) in chosen where starts[partition] != nil { starts[partition] = start }
                }
                needsJoin = false
                lastCommitted = [:]
                try await resetPositions(starts)
                startHeartbeat()
                return
            } catch let error as KafkaClientError where error.isRetriable && nowMs + backoffMs < deadline {
                coordinatorConnection?.close()
                coordinatorConnection = nil
                try await client.time.sleep(milliseconds: backoffMs)
                backoffMs = min(backoffMs * 2, 1000)
            }
        }
    }

    /// The leader's job: decode every member's subscription and run the chosen assignor.
    private func computeAssignments(_ join: JoinGroupResponse) async throws -> [SyncGroupRequest.SyncGroupRequestAssignment] {
        var members: [String: [String]] = [:]
        for member in join.members {
            members[member.memberId] = (try? ConsumerProtocol.decodeSubscription(member.metadata))?.topics ?? []
        }
        var counts: [String: Int32] = [:]
        for topic in Set(members.values.flatMap { $0 }) {
            if let info = try? await client.topic(topic) { counts[topic] = Int32(info.partitions.count) }
        }
        let assignor = Assignor(rawValue: join.protocolName ?? "") ?? .range
        return assignor.assign(members: members, partitionCounts: counts).map {
            .init(memberId: $0.key, assignment: ConsumerProtocol.encodeAssignment($0.value))
        }
    }

    private func startHeartbeat() {
        heartbeat?.cancel()
        guard let group = config.groupId else { return }
        let interval = config.heartbeatIntervalMs
        let time = client.time
        heartbeat = Task {
            while !Task.isCancelled {
                try? await time.sleep(milliseconds: interval)
                if Task.isCancelled { return }
                let (member, generation) = self.membership()
                guard let connection = try? await self.coordinator() else { continue }
                guard let response = try? await connection.send(
                    HeartbeatRequest(groupId: group, generationId: generation, memberId: member, groupInstanceId: nil),
                    timeout: .seconds(10))
                else { continue }
                let error = ErrorCode(rawValue: response.errorCode)
                if error != .none { self.heartbeatFailed(error) }
            }
        }
    }

    private func membership() -> (String, Int32) { (memberId, generationId) }

    private func heartbeatFailed(_ error: ErrorCode) {
        if error == .unknownMemberId { memberId = "" }
        if [.rebalanceInProgress, .illegalGeneration, .unknownMemberId].contains(error) { needsJoin = true }
    }
}

extension KafkaClient {
    /// The cached topic metadata, for routing without a round trip.
    nonisolated var metadataSnapshot: [String: TopicInfo] { snapshot.withLock { $0 } }
}

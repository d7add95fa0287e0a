import KafkaProtocol
import KafkaSecurity
import LogStorage
import NIOCore
import Synchronization

// Fetch (key 1), v4-16. For each partition, whole batches from the one containing FetchOffset, as file regions the
// server writes with sendfile (the record bytes are never copied through user space), up to PartitionMaxBytes and
// MaxBytes overall, but always at least one batch for the first partition with data (KIP-74). FetchOffset equal to
// the log end is valid and returns nothing; outside [log start, log end] is OFFSET_OUT_OF_RANGE.
//
// Long polling: with fewer than MinBytes available and MaxWaitMs > 0 the fetch waits in the purgatory and is woken
// by the next append to any of its partitions (not by a timer), or answers with what it has after MaxWaitMs.
//
// read_committed (IsolationLevel 1) stops below the last stable offset and lists the aborted transactions
// overlapping the returned batches, whose records the client drops; the bytes are the same file regions, so both
// isolation levels stay zero-copy. Every partition reports its real last stable offset.
//
// Fetch sessions (v7+, KIP-227): see FetchSessionCache and FetchSessions.swift. v13+ address topics by id only; an
// unknown id is UNKNOWN_TOPIC_ID. CurrentLeaderEpoch (v9+) is checked per partition (FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH). LastFetchedEpoch (v12+) is not checked and the tagged DivergingEpoch is never sent: only
// followers send LastFetchedEpoch (librdkafka and the Java consumer send -1 and validate their position with
// OffsetForLeaderEpoch instead), and this broker has no followers.
extension Broker {
    struct FetchTarget: Sendable {
        var name: String
        var topicId: KafkaUUID
        var partition: Int32
        var fetchOffset: Int64
        var partitionMaxBytes: Int
        var log: PartitionLog?
        var error: ErrorCode
        /// The topic's bytes-out and records-out counters.
        var metrics: TopicMetrics?
    }

    struct FetchPlan: Sendable {
        /// Topics in request order, each with its partitions.
        var topics: [(name: String, id: KafkaUUID, targets: [FetchTarget])]
        var maxBytes: Int
        var minBytes: Int
        var readCommitted: Bool
    }

    func handleFetch(_ request: FetchRequest, _ context: RequestContext) -> RequestOutcome {
        let (session, fetchTopics) = fetchSessionContext(request, version: context.version)
        if case .error(let code) = session {
            logger.debug("fetch session error", metadata: [
                "error": "\(code)", "sessionId": "\(request.sessionId)", "epoch": "\(request.sessionEpoch)",
                "client": "\(context.header.clientId ?? "")",
            ])
            return context.respond(FetchResponse(throttleTimeMs: 0, errorCode: code.rawValue, sessionId: 0, responses: []))
        }
        var toRead = request
        toRead.topics = fetchTopics
        let plan = fetchPlan(toRead, version: context.version, context: context)
        /// The answer as sent: what the session caches and the incremental response carries is decided here, once.
        let answer = { @Sendable [self] (response: FetchResponse, traffic: FetchTraffic) -> [IOData] in
            traffic.record()
            return context.frame(completeFetchSession(response, context: session, request: request, version: context.version,
                                                      clientId: context.header.clientId ?? ""))
        }
        let first = evaluateFetch(plan)
        let waitable = plan.topics.flatMap(\.targets).filter { $0.log != nil && $0.error == .none }
        if request.maxWaitMs <= 0 || first.bytes >= plan.minBytes || first.hasError || waitable.isEmpty {
            return .response(answer(first.response, first.traffic))
        }
        let parked = ParkedFetch(promise: context.eventLoop.makePromise(of: [IOData].self))
        let keys = waitable.map { FetchPurgatory.Key(topic: $0.name, partition: $0.partition) }
        let timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(request.maxWaitMs))) { [self] in
            if let id = parked.watchId { purgatory.cancel(id) }
            parked.complete {
                let result = evaluateFetch(plan)
                return answer(result.response, result.traffic)
            }
        }
        parked.setTimeout(timeout)
        park(parked, plan: plan, keys: keys, answer: answer)
        return .deferred(parked.promise.futureResult)
    }

    /// Watches the partitions; on every wake, answers if MinBytes is now met, else watches again.
    private func park(
        _ parked: ParkedFetch, plan: FetchPlan, keys: [FetchPurgatory.Key],
        answer: @escaping @Sendable (FetchResponse, FetchTraffic) -> [IOData]
    ) {
        guard !parked.isDone else { return }
        let id = purgatory.watch(keys) { [self] in
            let result = evaluateFetch(plan)
            if result.bytes >= plan.minBytes || result.hasError {
                parked.complete { answer(result.response, result.traffic) }
            } else {
                park(parked, plan: plan, keys: keys, answer: answer)
            }
        }
        parked.watchId = id
        // Data may have arrived between the first read and the watch: look once more.
        let recheck = evaluateFetch(plan)
        if recheck.bytes >= plan.minBytes && purgatory.cancel(id) {
            parked.complete { answer(recheck.response, recheck.traffic) }
        }
    }

    /// With ACLs, a consumer needs READ on each topic (TOPIC_AUTHORIZATION_FAILED otherwise, checked before the
    /// topic's existence); a follower fetch (replica id ≥ 0) needs CLUSTER_ACTION on the cluster.
    func fetchPlan(_ request: FetchRequest, version: Int16, context: RequestContext) -> FetchPlan {
        let follower = request.replicaId >= 0 && version <= 14
        let clusterAction = !follower || context.authorize(.clusterAction, .cluster)
        var plan = FetchPlan(topics: [], maxBytes: Int(max(request.maxBytes, 0)), minBytes: Int(max(request.minBytes, 1)),
                             readCommitted: request.isolationLevel == 1)
        for requested in request.topics {
            let topic = version >= 13 ? topics.topic(id: requested.topicId) : topics.topic(named: requested.topic)
            let missing: ErrorCode = version >= 13 ? .unknownTopicId : .unknownTopicOrPartition
            let name = topic?.name ?? requested.topic
            let authorized = (version >= 13 && topic == nil) || (clusterAction && (follower || context.authorize(.read, topic: name)))
            let targets = requested.partitions.map { partition in
                let log = authorized ? topic?.log(partition.partition) : nil
                let error: ErrorCode = !authorized ? .topicAuthorizationFailed
                    : topic == nil ? missing
                    : log.map { Self.checkCurrentLeaderEpoch(partition.currentLeaderEpoch, of: $0) } ?? .unknownTopicOrPartition
                return FetchTarget(
                    name: name, topicId: requested.topicId, partition: partition.partition, fetchOffset: partition.fetchOffset,
                    partitionMaxBytes: Int(max(partition.partitionMaxBytes, 0)), log: log, error: error, metrics: topic?.metrics)
            }
            plan.topics.append((name, requested.topicId, targets))
        }
        return plan
    }

    /// Reads every partition of the plan now.
    func evaluateFetch(_ plan: FetchPlan) -> (response: FetchResponse, bytes: Int, hasError: Bool, traffic: FetchTraffic) {
        var response = FetchResponse(throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [])
        var total = 0
        var hasError = false
        var traffic = FetchTraffic()
        for topic in plan.topics {
            var partitions: [FetchResponse.FetchableTopicResponse.PartitionData] = []
            var topicBytes = 0
            var topicRecords: Int64 = 0
            for target in topic.targets {
                var data = FetchResponse.FetchableTopicResponse.PartitionData(
                    partitionIndex: target.partition, errorCode: target.error.rawValue, highWatermark: -1,
                    lastStableOffset: -1, logStartOffset: -1, abortedTransactions: plan.readCommitted ? [] : nil,
                    preferredReadReplica: -1, records: .empty)
                if let log = target.log, target.error == .none {
                    let budget = min(target.partitionMaxBytes, max(plan.maxBytes - total, 0))
                    do {
                        let read = try log.read(from: target.fetchOffset, maxBytes: budget, minOneBatch: total == 0,
                                                readCommitted: plan.readCommitted)
                        data.highWatermark = read.highWatermark
                        data.lastStableOffset = read.lastStableOffset
                        data.logStartOffset = read.logStartOffset
                        if let aborted = read.abortedTransactions {
                            data.abortedTransactions = aborted.map { .init(producerId: $0.producerId, firstOffset: $0.firstOffset) }
                        }
                        data.records = read.slices.isEmpty ? .empty : .regions(read.slices)
                        total += read.byteCount
                        topicBytes += read.byteCount
                        if let first = read.firstBatchOffset, let next = read.nextOffset { topicRecords += next - first }
                    } catch {
                        let (start, stable, end) = log.stableOffsets
                        data.errorCode = Self.errorCode(for: error).rawValue
                        data.highWatermark = end
                        data.lastStableOffset = stable
                        data.logStartOffset = start
                    }
                }
                if data.errorCode != 0 { hasError = true }
                partitions.append(data)
            }
            response.responses.append(.init(topic: topic.name, topicId: topic.id, partitions: partitions))
            if topicBytes > 0, let metrics = topic.targets.first?.metrics {
                traffic.topics.append((metrics, topicBytes, topicRecords))
            }
        }
        return (response, total, hasError, traffic)
    }
}

/// A fetch waiting in the purgatory; completed exactly once, by a wake-up or by its timeout.
final class ParkedFetch: Sendable {
    let promise: EventLoopPromise<[IOData]>
    private let state = Mutex<(done: Bool, watchId: UInt64?, timeout: Scheduled<Void>?)>((false, nil, nil))

    init(promise: EventLoopPromise<[IOData]>) {
        self.promise = promise
    }

    var isDone: Bool { state.withLock { $0.done } }

    var watchId: UInt64? {
        get { state.withLock { $0.watchId } }
        set { state.withLock { $0.watchId = newValue } }
    }

    func setTimeout(_ task: Scheduled<Void>) {
        state.withLock { $0.timeout = task }
    }

    /// Builds the answer and sends it, unless it was already completed (then `build` does not run: a session is
    /// updated only by the answer actually sent).
    func complete(_ build: () -> [IOData]) {
        let timeout = state.withLock { state -> Scheduled<Void>?? in
            if state.done { return .none }
            state.done = true
            return .some(state.timeout)
        }
        guard case .some(let task) = timeout else { return }
        task?.cancel()
        promise.succeed(build())
    }
}

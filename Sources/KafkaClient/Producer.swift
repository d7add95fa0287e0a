import KafkaProtocol
import NIOCore
import Timekeeping

/// Producer settings, named after their Kafka client equivalents.
public struct ProducerConfig: Sendable {
    public enum Acks: Int16, Sendable {
        case none = 0
        case leader = 1
        case all = -1
    }

    /// acks: 0 (no answer), 1 (the leader has it), all (every in-sync replica has it; the default, as in Kafka 3).
    public var acks: Acks = .all
    /// Idempotence (InitProducerId + per-partition sequence numbers): retries never duplicate. Needs acks=all.
    public var idempotent = true
    /// How long a batch may wait for more records before it is sent (linger.ms).
    public var lingerMs: Int64 = 5
    /// A partition's batch is sent once it reaches this size (librdkafka's batch.size default); it must stay below
    /// the topic's max.message.bytes (1048588 by default).
    public var batchSizeBytes = 1_000_000
    /// Batches not yet acknowledged may hold at most this much memory, counted by their buffers as in Kafka; `send`
    /// waits beyond it (buffer.memory), for at most max.block.ms. 32 MiB
    /// as in Kafka's Java producer: measured with `produce --csv` of 10M rows, 64 MiB sent no faster and peaked at
    /// 141-171 MB of RSS against 100-102 MB, the allocator keeping much of what the extra buffering freed.
    public var bufferMemoryBytes = 32 << 20
    /// How long a batch may keep being retried before its records fail (delivery.timeout.ms): a broker that restarts
    /// within it loses the producer nothing, and with idempotence duplicates nothing.
    public var deliveryTimeoutMs: Int64 = 120_000
    /// How long `send` may wait for the cluster's metadata or a producer id before failing, and how long for room in
    /// buffer.memory while nothing sent is answered (max.block.ms).
    public var maxBlockMs: Int64 = 60_000
    public var requestTimeoutMs: Int32 = 30_000
    /// compression.type: batches are compressed with this codec (gzip, lz4 or zstd; none by default).
    public var compression: CompressionCodec = .none
    /// transactional.id: makes this a transactional producer (``KafkaProducer/initTransactions()`` first, then
    /// records are only sent inside transactions). Implies idempotence and acks=all, as in Kafka.
    public var transactionalId: String?
    /// transaction.timeout.ms: the broker aborts a transaction left open longer than this.
    public var transactionTimeoutMs: Int32 = 60_000

    public init() {}
}

/// Where an acknowledged record landed.
public struct RecordMetadata: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    /// -1 when acks=0 (the broker does not say).
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// Called once per record with its outcome.
public typealias DeliveryCallback = @Sendable (Result<RecordMetadata, KafkaClientError>) -> Void

/// A record for ``KafkaProducer/send(topic:records:partition:onDelivery:)``.
public struct OutgoingRecord: Sendable {
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]
    public var timestamp: Int64?

    public init(key: ByteBuffer?, value: ByteBuffer?, headers: [(key: String, value: ByteBuffer?)] = [], timestamp: Int64? = nil) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Totals since the producer started.
public struct ProducerStats: Sendable, Equatable {
    public var acknowledged = 0
    public var failed = 0
    public var lastError: KafkaClientError?

    public init() {}
}

/// A Kafka producer: batching per partition (linger and batch size), acks 0/1/all, idempotence on by default,
/// Java-compatible murmur2 partitioning for keyed records and sticky partitioning for unkeyed ones, retries with
/// backoff on retriable errors (same sequence numbers, so the broker drops duplicates), delivery callbacks, and
/// back-pressure: `send` suspends while too much is unacknowledged instead of growing without bound.
///
/// One request per partition is in flight at a time, which keeps each partition's records in order under retries.
///
/// With a transactional id it is a transactional producer (KIP-98; `Producer+Transactions.swift`): records are
/// sent inside transactions that become visible to read_committed consumers all at once, or never.
public actor KafkaProducer {
    public let client: KafkaClient
    public let config: ProducerConfig
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    /// The transactional producer's state; unused without a transactional id.
    var transaction = TransactionProgress()
    private var partitionCounts: [String: Int32] = [:]
    private var sticky: [String: Int32] = [:]
    var accumulator: RecordAccumulator
    /// `send` calls waiting for room in buffer.memory, oldest first.
    private var spaceWaiters: [SpaceWaiter] = []
    private var spaceWaits = 0
    var flushWaiters: [CheckedContinuation<Void, Never>] = []
    private var senderWakeup: CheckedContinuation<Void, Never>?
    private var sender: Task<Void, Never>?
    var inFlightRequests = 0
    private var isClosed = false
    /// Each partition's last retriable failure, named when its batches expire.
    private var lastErrors: [PartitionKey: KafkaClientError] = [:]
    /// Counts `send` calls: a batch's records from one call share one delivery callback entry (see ``DeliveryRun``).
    private var sendCalls = 0
    public private(set) var stats = ProducerStats()

    public init(client: KafkaClient, config: ProducerConfig = ProducerConfig()) {
        self.client = client
        var config = config
        if config.transactionalId != nil {
            config.acks = .all
            config.idempotent = true
        }
        if config.acks != .all { config.idempotent = false }  // as Kafka: idempotence needs acks=all
        self.config = config
        accumulator = RecordAccumulator(lingerMs: config.lingerMs, batchSizeBytes: config.batchSizeBytes,
                                        compression: config.compression, transactional: config.transactionalId != nil)
    }

    /// Monotonic milliseconds from the client's time source (linger, backoff, delivery.timeout.ms).
    private var nowMs: Int64 { client.time.monotonicMs() }

    // MARK: Sending

    /// Queues one record. Returns once it is buffered (waiting while the buffer is full); `onDelivery` reports the
    /// outcome later. The partition is `partition` if given, else murmur2(key), else the topic's sticky partition.
    public func send(
        topic: String, key: ByteBuffer?, value: ByteBuffer?, headers: [(key: String, value: ByteBuffer?)] = [],
        partition: Int32? = nil, timestamp: Int64? = nil, onDelivery: DeliveryCallback? = nil
    ) async throws {
        try await send(topic: topic, records: [OutgoingRecord(key: key, value: value, headers: headers, timestamp: timestamp)],
                       partition: partition, onDelivery: onDelivery)
    }

    /// Queues many records in one call (one actor hop for all of them). Suspends only while buffer.memory is full.
    public func send(topic: String, records: [OutgoingRecord], partition: Int32? = nil, onDelivery: DeliveryCallback? = nil) async throws {
        try await enqueue(
            topic: topic, count: records.count, partition: partition,
            keyedPartition: { index, count in records[index].key.map { Murmur2.partition(forKey: $0, partitionCount: count) } },
            append: { index, accumulator, key, call, now, wallClock in
                let outgoing = records[index]
                let record = ProducerRecord(key: outgoing.key, value: outgoing.value, headers: outgoing.headers,
                                            timestamp: outgoing.timestamp ?? wallClock)
                return accumulator.append(record, to: key, callback: onDelivery, call: call, nowMs: now)
            })
    }

    /// Queues the records of a chunk (see ``RecordChunk``): the same as ``send(topic:records:partition:onDelivery:)``
    /// without a value per record, for producers of millions of records.
    public func send(topic: String, chunk: RecordChunk, partition: Int32? = nil, onDelivery: DeliveryCallback? = nil) async throws {
        try await enqueue(
            topic: topic, count: chunk.count, partition: partition,
            keyedPartition: { index, count in
                chunk.withKey(at: index) { key in key.map { Murmur2.partition(hash: Murmur2.hash($0), partitionCount: count) } }
            },
            append: { index, accumulator, key, call, now, wallClock in
                accumulator.append(index, of: chunk, timestamp: wallClock, estimatedSize: chunk.estimatedSize(at: index), to: key,
                                   callback: onDelivery, call: call, nowMs: now)
            })
    }

    /// The loop both `send`s share: for each of `count` records, wait while buffer.memory is full, choose the
    /// partition (`partition` if given, else `keyedPartition`'s murmur2 of the key, else the topic's sticky one) and
    /// let `append` add the record to the accumulator (returning whether a batch got sealed).
    private func enqueue(
        topic: String, count recordCount: Int, partition: Int32?,
        keyedPartition: (_ index: Int, _ partitionCount: Int32) -> Int32?,
        append: (_ index: Int, _ accumulator: inout RecordAccumulator, _ key: PartitionKey, _ call: Int, _ nowMs: Int64,
                 _ wallClockMs: Int64) -> Bool
    ) async throws {
        if isClosed { throw KafkaClientError.closed }
        if config.transactionalId != nil {
            try transaction.checkCanSend()
        } else if config.idempotent && producerId < 0 {
            try await initializeProducerId(forTopic: topic)
        }
        let count = try await partitionCount(topic)
        if let partition, !(0..<count).contains(partition) {
            throw KafkaClientError.invalidArgument("topic \(topic) has no partition \(partition) (it has \(count))")
        }
        let now = nowMs
        let wallClock = client.time.wallClockMs()
        sendCalls += 1
        let call = sendCalls
        var wake = config.lingerMs == 0
        // Per-record work stays on locals: actor properties are written back once per call.
        var stickyPartition = sticky[topic]
        // The accumulator is moved into a local for the loop: mutating an actor's stored property costs a dynamic
        // exclusivity check per record. It goes back before anything else can run (every await, and at the end).
        var local = RecordAccumulator(lingerMs: config.lingerMs, batchSizeBytes: config.batchSizeBytes,
                                      transactional: config.transactionalId != nil)
        swap(&local, &accumulator)
        defer { sticky[topic] = stickyPartition }
        for index in 0..<recordCount {
            while local.heldBytes >= config.bufferMemoryBytes {
                swap(&local, &accumulator)
                startSenderIfNeeded()
                wakeSender()
                let freed = await waitForSpace()
                // Thrown with the accumulator back in place (it was swapped back before the wait).
                if !freed && accumulator.heldBytes >= config.bufferMemoryBytes {
                    throw bufferStayedFull(queued: index, of: recordCount)
                }
                swap(&local, &accumulator)
            }
            let target: Int32
            var keyed = false
            if let partition {
                target = partition
            } else if let hashed = keyedPartition(index, count) {
                target = hashed
                keyed = true
            } else {
                if stickyPartition == nil { stickyPartition = Int32.random(in: 0..<count) }
                target = stickyPartition!
            }
            if append(index, &local, PartitionKey(topic: topic, partition: target), call, now, wallClock) {
                wake = true
                if !keyed && partition == nil { stickyPartition = nil }  // KIP-480: move on once a batch fills
            }
        }
        swap(&local, &accumulator)
        startSenderIfNeeded()
        if wake { wakeSender() }
    }

    /// Suspends until an acknowledged or failed batch frees some of buffer.memory (true), or max.block.ms passed
    /// without (false). Kafka's producer bounds this wait the same way: a cluster that stopped answering fails `send`
    /// within max.block.ms instead of holding it until delivery.timeout.ms fails the batches ahead.
    private func waitForSpace() async -> Bool {
        spaceWaits += 1
        let id = spaceWaits
        let time = client.time
        let timeoutMs = config.maxBlockMs
        return await withCheckedContinuation { continuation in
            let timer = Task {
                do { try await time.sleep(milliseconds: timeoutMs) } catch { return }  // cancelled: room was freed
                self.spaceWaitExpired(id)
            }
            spaceWaiters.append(SpaceWaiter(id: id, continuation: continuation, timer: timer))
        }
    }

    private func spaceWaitExpired(_ id: Int) {
        guard let index = spaceWaiters.firstIndex(where: { $0.id == id }) else { return }
        spaceWaiters.remove(at: index).continuation.resume(returning: false)
    }

    /// What `send` throws when buffer.memory stayed full for max.block.ms. The records before `queued` are buffered
    /// (their callbacks will report); the rest of the call's records are not.
    private func bufferStayedFull(queued: Int, of count: Int) -> KafkaClientError {
        let lastError = lastErrors.values.first.map { "; last error: \($0)" } ?? ""
        return .timeout("buffer.memory (\(config.bufferMemoryBytes) bytes) stayed full for max.block.ms (\(config.maxBlockMs) ms): "
            + "nothing sent was acknowledged or failed meanwhile; \(queued) of the \(count) records of this send were buffered"
            + lastError)
    }

    /// Sends everything buffered and waits until every record has an outcome.
    public func flush() async {
        accumulator.sealAll()
        wakeSender()
        while hasPendingWork {
            await withCheckedContinuation { flushWaiters.append($0) }
        }
    }

    /// Flushes, then stops the sender.
    public func close() async {
        await flush()
        isClosed = true
        wakeSender()
        sender = nil
    }

    var hasPendingWork: Bool { inFlightRequests > 0 || accumulator.hasPendingWork }

    private func partitionCount(_ topic: String) async throws -> Int32 {
        if let count = partitionCounts[topic] { return count }
        let client = self.client
        let info = try await Retry.run(forMs: config.maxBlockMs, time: client.time, retryIf: { error in
            // A topic being auto-created is retried by `topic` itself; here, only a lost broker.
            if case .broker = error { return false }
            return error.isRetriable
        }) {
            try await client.topic(topic, allowAutoCreate: true)
        }
        let count = Int32(info.partitions.count)
        partitionCounts[topic] = count
        return count
    }

    private func initializeProducerId(forTopic topic: String) async throws {
        let client = self.client
        let response = try await Retry.run(forMs: config.maxBlockMs, time: client.time) {
            let connection = try await client.anyConnection()
            let response = try await connection.send(InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: -1,
                                                                           producerId: -1, producerEpoch: -1))
            if response.errorCode == ErrorCode.clusterAuthorizationFailed.rawValue {
                throw KafkaClientError.notAuthorized(
                    "Write on topic \(topic): the principal may write to no topic, and an idempotent producer needs Write on one "
                        + "or IdempotentWrite on the cluster (CLUSTER_AUTHORIZATION_FAILED)")
            }
            if response.errorCode != 0 {
                throw KafkaClientError.broker(ErrorCode(rawValue: response.errorCode), message: "InitProducerId failed")
            }
            return response
        }
        producerId = response.producerId
        producerEpoch = response.producerEpoch
        accumulator.producer = (response.producerId, response.producerEpoch)
    }

    // MARK: The sender

    func startSenderIfNeeded() {
        guard sender == nil else { return }
        sender = Task { await self.runSender() }
    }

    func wakeSender() {
        senderWakeup?.resume()
        senderWakeup = nil
    }

    private func runSender() async {
        while !(isClosed && !hasPendingWork) {
            let nextLinger = accumulator.sealExpired(nowMs: nowMs)
            if !spaceWaiters.isEmpty { resumeSpaceWaitersIfRoom() }  // compression may have left a batch smaller
            failExpiredBatches()
            let ready = accumulator.readyPartitions
            if ready.isEmpty {
                if !hasPendingWork { resumeFlushWaiters() }
                if isClosed && !hasPendingWork { break }
                await sleep(untilMs: nextLinger)
                continue
            }
            if config.transactionalId != nil {
                let joining = ready.filter { !transaction.partitions.contains($0) }
                if !joining.isEmpty {
                    await addPartitionsToTransaction(joining)
                    continue
                }
            }
            var byLeader: [Int32: [PartitionKey]] = [:]
            for key in ready {
                do {
                    byLeader[try await client.leader(topic: key.topic, partition: key.partition), default: []].append(key)
                } catch {
                    // No leader known (the cluster is unreachable for now): the batch waits, as if sent and failed.
                    if accumulator.startSending(key) != nil {
                        retryOrFail(key, error: error as? KafkaClientError ?? .connectionClosed("\(error)"))
                    }
                }
            }
            for (leader, keys) in byLeader {
                let batches = keys.compactMap { key in accumulator.startSending(key).map { (key, $0) } }
                guard !batches.isEmpty else { continue }
                inFlightRequests += 1
                Task { await self.sendRequest(to: leader, batches: batches) }
            }
        }
    }

    /// Fails, without sending them, the waiting batches older than delivery.timeout.ms (Kafka's accumulator expiry):
    /// while a broker is gone, each would otherwise cost a reconnect attempt before failing, one after the other.
    private func failExpiredBatches() {
        let now = nowMs
        for key in accumulator.readyPartitions {
            while let batch = accumulator.first(key), now - batch.createdMs >= config.deliveryTimeoutMs, let expired = accumulator.takeFirst(key) {
                fail(expired, error: .timeout("no acknowledgement within delivery.timeout.ms (\(config.deliveryTimeoutMs) ms)"
                    + (lastErrors[key].map { "; last error: \($0)" } ?? "")))
            }
        }
    }

    private func sleep(untilMs deadline: Int64?) async {
        await withCheckedContinuation { continuation in
            senderWakeup = continuation
            if let deadline {
                let delay = max(deadline - nowMs, 0)
                let time = client.time
                Task {
                    try? await time.sleep(milliseconds: delay)
                    self.wakeSender()
                }
            }
        }
    }

    func resumeFlushWaiters() {
        let waiters = flushWaiters
        flushWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func sendRequest(to leader: Int32, batches: [(PartitionKey, ByteBuffer)]) async {
        var byTopic: [String: [ProduceRequest.TopicProduceData.PartitionProduceData]] = [:]
        for (key, bytes) in batches {
            byTopic[key.topic, default: []].append(.init(index: key.partition, records: .bytes(bytes)))
        }
        let request = ProduceRequest(
            transactionalId: config.transactionalId, acks: config.acks.rawValue, timeoutMs: config.requestTimeoutMs,
            topicData: byTopic.sorted { $0.key < $1.key }.map { .init(name: $0.key, partitionData: $0.value) })
        do {
            let connection = try await client.connection(toNode: leader)
            if config.acks == .none {
                try await connection.sendWithoutResponse(request)
                for (key, _) in batches { completeBatch(key, baseOffset: -1) }
            } else {
                let response = try await connection.send(request, timeout: .milliseconds(Int64(config.requestTimeoutMs) + 5000))
                var answered = Set<PartitionKey>()
                for topic in response.responses {
                    for partition in topic.partitionResponses {
                        let key = PartitionKey(topic: topic.name, partition: partition.index)
                        answered.insert(key)
                        let error = ErrorCode(rawValue: partition.errorCode)
                        if error == .none || error == .duplicateSequenceNumber {
                            completeBatch(key, baseOffset: partition.baseOffset)
                        } else if error == .topicAuthorizationFailed {
                            retryOrFail(key, error: .notAuthorized("Write on topic \(topic.name) (\(error))"))
                        } else {
                            retryOrFail(key, error: .broker(error, message: partition.errorMessage))
                        }
                    }
                }
                for (key, _) in batches where !answered.contains(key) {
                    retryOrFail(key, error: .malformedResponse("no answer for \(key.topic)-\(key.partition)"))
                }
            }
        } catch {
            await client.discard(node: leader)
            for (key, _) in batches { retryOrFail(key, error: error as? KafkaClientError ?? .connectionClosed("\(error)")) }
        }
        inFlightRequests -= 1
        wakeSender()
        if !hasPendingWork { resumeFlushWaiters() }
    }

    private func completeBatch(_ key: PartitionKey, baseOffset: Int64) {
        guard let batch = accumulator.takeFirst(key) else { return }
        lastErrors[key] = nil
        var index: Int64 = 0
        for run in batch.callbacks {
            defer { index += Int64(run.count) }
            guard let callback = run.callback else { continue }
            for record in index..<(index + Int64(run.count)) {
                callback(.success(RecordMetadata(topic: key.topic, partition: key.partition,
                                                 offset: baseOffset < 0 ? -1 : baseOffset + record)))
            }
        }
        stats.acknowledged += batch.recordCount
        resumeSpaceWaitersIfRoom()
    }

    private func retryOrFail(_ key: PartitionKey, error: KafkaClientError) {
        guard let batch = accumulator.first(key) else { return }
        lastErrors[key] = error
        let age = nowMs - batch.createdMs
        if error.isRetriable && age < config.deliveryTimeoutMs {
            // Leadership or the connection may have changed (a broker restarting refuses connections for a while):
            // back off (retry.backoff.ms doubling to retry.backoff.max.ms), look again, then resend the same bytes with
            // the same producer id, epoch and sequence numbers, so a batch the broker did append before the connection
            // broke is recognised as a duplicate, never appended twice. The partition stays marked in flight
            // meanwhile so nothing overtakes the batch.
            inFlightRequests += 1
            let backoffMs = min(100 << min(batch.attempts - 1, 4), 1000, max(config.deliveryTimeoutMs - age, 1))
            let time = client.time
            Task {
                try? await time.sleep(milliseconds: backoffMs)
                _ = try? await self.client.refreshMetadata(topics: [key.topic])
                self.finishBackoff(key)
            }
            return
        }
        let reported = error.isRetriable
            ? KafkaClientError.timeout("no acknowledgement within delivery.timeout.ms (\(config.deliveryTimeoutMs) ms); last error: \(error)")
            : error
        if let failed = accumulator.takeFirst(key) { fail(failed, error: reported) }
    }

    private func finishBackoff(_ key: PartitionKey) {
        accumulator.stopSending(key)
        inFlightRequests -= 1
        wakeSender()
    }

    func fail(_ batch: SealedBatch, error: KafkaClientError) {
        if config.transactionalId != nil { transaction.batchFailed(error) }
        for run in batch.callbacks {
            guard let callback = run.callback else { continue }
            for _ in 0..<run.count { callback(.failure(error)) }
        }
        stats.failed += batch.recordCount
        stats.lastError = error
        resumeSpaceWaitersIfRoom()
    }

    /// Wakes the `send`s waiting for buffer.memory once the batches hold less than it.
    private func resumeSpaceWaitersIfRoom() {
        if accumulator.heldBytes < config.bufferMemoryBytes {
            let waiters = spaceWaiters
            spaceWaiters = []
            for waiter in waiters {
                waiter.timer.cancel()
                waiter.continuation.resume(returning: true)
            }
        }
    }
}

/// A `send` waiting for room in buffer.memory, with the timer that gives up on it after max.block.ms.
private struct SpaceWaiter {
    var id: Int
    var continuation: CheckedContinuation<Bool, Never>
    var timer: Task<Void, Never>
}

import KafkaProtocol
import NIOCore

/// A topic-partition a producer writes to.
public struct PartitionKey: Hashable, Sendable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}

/// Who to tell about a run of consecutive records of a batch: the records of one `send` call share its callback, so
/// a batch keeps one entry per call instead of a retained closure per record.
struct DeliveryRun {
    var callback: DeliveryCallback?
    /// Which `send` call the run belongs to (closures cannot be compared).
    var call: Int
    var count: Int
}

/// A closed batch waiting to be sent or acknowledged: its bytes (sequence numbers included) and who to tell.
struct SealedBatch {
    var bytes: ByteBuffer
    var recordCount: Int
    /// The records' callbacks, in record order.
    var callbacks: [DeliveryRun]
    var createdMs: Int64
    /// The memory its buffer holds, counted against buffer.memory until it is acknowledged or failed.
    var heldBytes: Int
    var attempts = 0
}

/// The producer's batching, as a pure value driven with explicit times (so linger logic is testable).
///
/// Records accumulate in one open batch per partition. A batch is sealed when it reaches `batchSizeBytes`, when its
/// first record has waited `lingerMs` and its partition has no other batch in flight or waiting, or on flush; sealing
/// stamps the producer id, epoch and next sequence number (idempotence). Sealed batches leave one at a time per
/// partition: a partition with a batch in flight sends nothing else until that batch is acknowledged or failed, which
/// keeps records in order under retries.
struct RecordAccumulator {
    struct PartitionQueue {
        var open = RecordBatchBuilder(capacity: 0)
        var openCallbacks: [DeliveryRun] = []
        var openSinceMs: Int64 = 0
        /// The open batch's buffer as counted in ``RecordAccumulator/heldBytes`` (0 while the batch is empty).
        var openHeldBytes = 0
        var sealed: [SealedBatch] = []
        var inFlight = false
        var nextSequence: Int32 = 0
        var compression: CompressionCodec = .none
        var transactional = false

        /// Adds a record, sealing the open batch first if the record would not fit and afterwards if it is full.
        /// Returns whether a batch was sealed, and by how much the memory held by the partition's batches changed.
        /// `write` appends the record to the batch it is given.
        mutating func append(
            estimatedSize: Int, callback: DeliveryCallback?, call: Int, nowMs: Int64, lingerMs: Int64,
            batchSizeBytes: Int, producer: (id: Int64, epoch: Int16)?, write: (inout RecordBatchBuilder) -> Void
        ) -> (sealed: Bool, heldChange: Int) {
            var sealedOne = false
            var change = 0
            if !open.isEmpty && open.sizeInBytes + estimatedSize > batchSizeBytes {
                change += seal(producer: producer)
                sealedOne = true
            }
            if open.isEmpty {
                openSinceMs = nowMs
                // A batch starts small and doubles as it fills (by realloc, which moves a large buffer's pages rather
                // than copying them), so it never holds more than twice its records: with batches counted by their
                // buffers, a full batch size reserved up front for each of 64 busy partitions would be 64 MB.
                open = RecordBatchBuilder(capacity: 16 * 1024)
            }
            write(&open)
            if let last = openCallbacks.indices.last, openCallbacks[last].call == call {
                openCallbacks[last].count += 1
            } else {
                openCallbacks.append(DeliveryRun(callback: callback, call: call, count: 1))
            }
            change += open.capacity - openHeldBytes
            openHeldBytes = open.capacity
            if lingerMs == 0 || open.sizeInBytes >= batchSizeBytes {
                change += seal(producer: producer)
                sealedOne = true
            }
            return (sealedOne, change)
        }

        /// Closes the open batch, stamping the producer id, epoch and next sequence number into it. Returns the
        /// change in held memory (negative when compression left the batch in a smaller buffer).
        mutating func seal(producer: (id: Int64, epoch: Int16)?) -> Int {
            guard !open.isEmpty else { return 0 }
            if let producer {
                open.producerId = producer.id
                open.producerEpoch = producer.epoch
                open.baseSequence = nextSequence
                let next = Int64(nextSequence) + Int64(open.recordCount)
                nextSequence = Int32(next > Int64(Int32.max) ? next - Int64(Int32.max) - 1 : next)
            }
            let recordCount = open.recordCount
            open.compression = compression
            open.isTransactional = transactional
            // delivery.timeout.ms counts from the batch's first record, as in Kafka: a batch may stay open while the
            // one ahead of it is in flight.
            let bytes = open.build()
            sealed.append(SealedBatch(bytes: bytes, recordCount: recordCount, callbacks: openCallbacks,
                                      createdMs: openSinceMs, heldBytes: bytes.capacity))
            let change = bytes.capacity - openHeldBytes
            open = RecordBatchBuilder(capacity: 0)
            openCallbacks = []
            openHeldBytes = 0
            return change
        }
    }

    let lingerMs: Int64
    let batchSizeBytes: Int
    /// The codec batches are compressed with when sealed.
    let compression: CompressionCodec
    /// Batches are sealed as transactional (attribute bit 4).
    let transactional: Bool
    /// Set once InitProducerId answered; batches sealed before then carry no sequence.
    var producer: (id: Int64, epoch: Int16)?
    private(set) var queues: [PartitionKey: PartitionQueue] = [:]
    /// The memory every open and sealed batch's buffer holds: what buffer.memory bounds, as in Kafka's producer, which
    /// counts the buffers it allocates rather than the records in them. Counted by records, a producer writing to 64
    /// partitions held 105 MB for a 10M-row file under a 32 MiB buffer.memory, against 44 MB with 4 partitions.
    private(set) var heldBytes = 0

    init(lingerMs: Int64, batchSizeBytes: Int, compression: CompressionCodec = .none, transactional: Bool = false) {
        self.lingerMs = lingerMs
        self.batchSizeBytes = batchSizeBytes
        self.compression = compression
        self.transactional = transactional
    }

    /// Adds a record; returns true when a batch of the partition got sealed (it was full). A record that would push
    /// the open batch over `batchSizeBytes` seals it first and starts a new one, so no batch outgrows the limit (which
    /// the broker enforces as max.message.bytes) unless a single record does. One dictionary access per record: the
    /// queue is mutated in place (copying it out would copy the batch buffer on every record).
    /// `estimatedSize`: the record's ``ProducerRecord/estimatedSize``, when the caller has it already.
    /// `call`: which `send` call the record comes from (consecutive records of one call share `callback`).
    mutating func append(
        _ record: ProducerRecord, estimatedSize: Int? = nil, to key: PartitionKey, callback: DeliveryCallback?, call: Int,
        nowMs: Int64
    ) -> Bool {
        append(estimatedSize: estimatedSize ?? record.estimatedSize, to: key, callback: callback, call: call, nowMs: nowMs) {
            $0.append(record)
        }
    }

    /// Adds record `index` of `chunk` (see ``RecordChunk``), stamped `timestamp` unless it has its own.
    mutating func append(
        _ index: Int, of chunk: RecordChunk, timestamp: Int64, estimatedSize: Int, to key: PartitionKey,
        callback: DeliveryCallback?, call: Int, nowMs: Int64
    ) -> Bool {
        append(estimatedSize: estimatedSize, to: key, callback: callback, call: call, nowMs: nowMs) {
            $0.append(index, of: chunk, timestamp: timestamp)
        }
    }

    private mutating func append(
        estimatedSize: Int, to key: PartitionKey, callback: DeliveryCallback?, call: Int, nowMs: Int64,
        write: (inout RecordBatchBuilder) -> Void
    ) -> Bool {
        let (sealed, change) = queues[key, default: PartitionQueue(compression: compression, transactional: transactional)]
            .append(estimatedSize: estimatedSize, callback: callback, call: call, nowMs: nowMs, lingerMs: lingerMs,
                    batchSizeBytes: batchSizeBytes, producer: producer, write: write)
        heldBytes += change
        return sealed
    }

    /// Seals every batch whose linger has expired and whose partition could send it now; returns when the next one
    /// will be due (nil if none is open or every open one waits for its partition).
    ///
    /// A partition with a batch in flight or waiting keeps filling its open batch instead, up to the batch size, and
    /// seals it once it could go: the sender is woken when the batch ahead is answered. Sealed at the linger
    /// regardless, batches shrank whenever the broker was slower than the linger: each acknowledgement freed one
    /// batch's worth of buffer.memory, `send` spread that over every partition, and the linger sealed each part as a
    /// batch of its own. Against a broker slowed to a crawl, a 10M-row `produce --csv` was soon sending batches of a
    /// few records, each in its own buffer, and its memory grew by about 100 KB a second (heaptrack: 77 MB in batch
    /// buffers under a 32 MiB buffer.memory after five minutes). librdkafka builds its batches when it sends them, for
    /// the same reason.
    mutating func sealExpired(nowMs: Int64) -> Int64? {
        var next: Int64?
        var expired: [PartitionKey] = []
        for (key, queue) in queues where !queue.open.isEmpty && !queue.inFlight && queue.sealed.isEmpty {
            let due = queue.openSinceMs + lingerMs
            if due <= nowMs { expired.append(key) } else { next = min(next ?? due, due) }
        }
        // Sealed once the loop let go of `queues`: sealing while iterating it copied the dictionary on the first write,
        // so every open batch's buffer had a second owner and `build()` copied the whole batch to write its header
        // (measured: about 3 % of `produce --csv`'s CPU).
        for key in expired { seal(key) }
        return next
    }

    mutating func sealAll() {
        for key in Array(queues.keys) { seal(key) }
    }

    private mutating func seal(_ key: PartitionKey) {
        heldBytes += queues[key]?.seal(producer: producer) ?? 0
    }

    /// Partitions with a sealed batch and nothing in flight.
    var readyPartitions: [PartitionKey] {
        queues.filter { !$0.value.inFlight && !$0.value.sealed.isEmpty }.map(\.key).sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    var hasPendingWork: Bool {
        queues.values.contains { !$0.open.isEmpty || !$0.sealed.isEmpty || $0.inFlight }
    }

    /// Marks the partition in flight and returns its oldest sealed batch's bytes.
    mutating func startSending(_ key: PartitionKey) -> ByteBuffer? {
        guard var queue = queues[key], !queue.inFlight, !queue.sealed.isEmpty else { return nil }
        queue.inFlight = true
        queue.sealed[0].attempts += 1
        queues[key] = queue
        return queue.sealed[0].bytes
    }

    /// The partition's oldest sealed batch (the one in flight), left in place.
    func first(_ key: PartitionKey) -> SealedBatch? { queues[key]?.sealed.first }

    /// Removes the oldest sealed batch (acknowledged or failed) and clears the in-flight mark.
    mutating func takeFirst(_ key: PartitionKey) -> SealedBatch? {
        guard var queue = queues[key], !queue.sealed.isEmpty else { return nil }
        let batch = queue.sealed.removeFirst()
        queue.inFlight = false
        queues[key] = queue
        heldBytes -= batch.heldBytes
        return batch
    }

    /// Clears the in-flight mark without removing the batch (it will be sent again: a retry).
    mutating func stopSending(_ key: PartitionKey) {
        queues[key]?.inFlight = false
    }

    /// A new producer id or epoch (KIP-360 bump): every partition's sequence starts again at 0. Only called with
    /// nothing buffered.
    mutating func resetSequences() {
        precondition(!hasPendingWork && heldBytes == 0, "sequences reset with batches still pending")
        queues = [:]
    }
}

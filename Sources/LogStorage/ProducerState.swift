import KafkaProtocol

/// Why a producer's batch (or a transaction marker) was refused. Each maps to the Kafka error code the client acts on.
public enum ProducerStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The batch does not continue the producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, 45).
    case outOfOrderSequence(producerId: Int64, expected: Int32, received: Int32)
    /// The batch carries an older epoch than the producer's current one (INVALID_PRODUCER_EPOCH, 47).
    case staleEpoch(producerId: Int64, current: Int16, received: Int16)
    /// A non-transactional batch from a producer whose transaction is still open here (INVALID_TXN_STATE, 48).
    case nonTransactionalWriteInTransaction(producerId: Int64, transactionStart: Int64)

    public var description: String {
        switch self {
        case .outOfOrderSequence(let pid, let expected, let received):
            return "producer \(pid): out-of-order sequence \(received), expected \(expected)"
        case .staleEpoch(let pid, let current, let received):
            return "producer \(pid): epoch \(received) is older than the current epoch \(current)"
        case .nonTransactionalWriteInTransaction(let pid, let start):
            return "producer \(pid): non-transactional batch while its transaction begun at offset \(start) is open"
        }
    }
}

/// What the log remembers of one appended idempotent batch, to recognise a retry.
struct ProducerBatch: Equatable, Sendable {
    var firstSequence: Int32
    var lastSequence: Int32
    var firstOffset: Int64
    var lastOffset: Int64
    var timestamp: Int64
}

/// Per-producer state of one partition: the epoch, the last five batches (Kafka keeps five because a producer has
/// at most five requests in flight per connection with idempotence) and the producer's open transaction, if any.
struct ProducerEntry: Equatable, Sendable {
    var epoch: Int16
    var batches: [ProducerBatch]
    /// Wall-clock time of the last append, for expiring idle producers.
    var lastAppendMs: Int64
    /// First offset of the producer's open transaction in this partition; nil when none is open.
    var currentTxnFirstOffset: Int64? = nil
    /// Epoch of the coordinator that wrote the producer's last marker (-1 before any).
    var coordinatorEpoch: Int32 = -1
    /// Timestamp of the last batch or marker.
    var lastTimestamp: Int64 = -1

    static let retainedBatches = 5
    var lastSequence: Int32? { batches.last?.lastSequence }
}

/// A transaction whose marker was just written to this partition: [firstOffset, lastOffset] (the marker's offset).
public struct CompletedTransaction: Equatable, Sendable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var isAborted: Bool
}

/// Producer bookkeeping of one partition, as Kafka's ProducerStateManager: pure, driven by the log.
///
/// Rules (Apache Kafka `ProducerAppendInfo`):
/// - producerId < 0: not idempotent, nothing is checked (aiokafka writes baseSequence 0 there; it is ignored).
/// - Unknown producer: any sequence is accepted (its state may have been removed by retention or expiry).
/// - Older epoch: refused. Newer epoch: must start at sequence 0.
/// - Same epoch: a batch equal to one of the last five (same first and last sequence) is a retry; it is not appended
///   again and the original offsets are returned. Otherwise its first sequence must follow the last one (wrapping to 0
///   after Int32.max).
/// - Transactions: a producer's first transactional batch opens its transaction at that batch's base offset; a
///   non-transactional batch while it is open is refused; the COMMIT or ABORT marker closes it. The last stable
///   offset is the first offset of the oldest open transaction: nothing at or above it may be read committed.
struct ProducerStateManager: Equatable, Sendable {
    private(set) var producers: [Int64: ProducerEntry] = [:]
    /// Open transactions: producer id -> first offset. Few at a time, so the LSO is a minimum over a small dictionary.
    private(set) var openTransactions: [Int64: Int64] = [:]

    enum Decision: Equatable {
        case append
        case duplicate(ProducerBatch)
    }

    static func nextSequence(after sequence: Int32) -> Int32 { sequence == .max ? 0 : sequence + 1 }

    /// First offset of the oldest open transaction, nil if none is open.
    var firstUnstableOffset: Int64? { openTransactions.values.min() }

    func check(_ header: RecordBatchHeader) throws(ProducerStateError) -> Decision {
        let pid = header.producerId
        guard pid >= 0, let entry = producers[pid] else { return .append }
        if header.producerEpoch < entry.epoch {
            throw .staleEpoch(producerId: pid, current: entry.epoch, received: header.producerEpoch)
        }
        if header.producerEpoch > entry.epoch {
            guard header.baseSequence == 0 else {
                throw .outOfOrderSequence(producerId: pid, expected: 0, received: header.baseSequence)
            }
            return .append
        }
        if let retry = entry.batches.first(where: {
            $0.firstSequence == header.baseSequence && $0.lastSequence == header.lastSequence
        }) {
            return .duplicate(retry)
        }
        if let last = entry.lastSequence {
            let expected = Self.nextSequence(after: last)
            guard header.baseSequence == expected else {
                throw .outOfOrderSequence(producerId: pid, expected: expected, received: header.baseSequence)
            }
        }
        if !header.isTransactional, let start = entry.currentTxnFirstOffset {
            throw .nonTransactionalWriteInTransaction(producerId: pid, transactionStart: start)
        }
        return .append
    }

    /// Records a data batch that was appended (its header carries the assigned offsets).
    mutating func record(_ header: RecordBatchHeader, appendTimeMs: Int64) {
        let pid = header.producerId
        guard pid >= 0 else { return }
        var entry = producers[pid] ?? ProducerEntry(epoch: header.producerEpoch, batches: [], lastAppendMs: appendTimeMs)
        if header.producerEpoch != entry.epoch {
            entry.epoch = header.producerEpoch
            entry.batches = []
        }
        entry.batches.append(ProducerBatch(
            firstSequence: header.baseSequence, lastSequence: header.lastSequence,
            firstOffset: header.baseOffset, lastOffset: header.lastOffset, timestamp: header.maxTimestamp))
        if entry.batches.count > ProducerEntry.retainedBatches { entry.batches.removeFirst() }
        entry.lastAppendMs = max(entry.lastAppendMs, appendTimeMs)
        entry.lastTimestamp = header.maxTimestamp
        if header.isTransactional && entry.currentTxnFirstOffset == nil {
            entry.currentTxnFirstOffset = header.baseOffset
            openTransactions[pid] = header.baseOffset
        }
        producers[pid] = entry
    }

    /// Checks a transaction marker about to be written: its epoch may not be older than the producer's.
    func checkMarker(producerId: Int64, producerEpoch: Int16) throws(ProducerStateError) {
        if let entry = producers[producerId], producerEpoch < entry.epoch {
            throw .staleEpoch(producerId: producerId, current: entry.epoch, received: producerEpoch)
        }
    }

    /// Records a transaction marker written at `offset`. Returns the transaction it closed, or nil if the producer
    /// had no open transaction here (a marker for a partition the transaction never wrote to). A marker with a newer
    /// epoch (the coordinator fenced the producer) moves the producer to that epoch, so its next batch starts at 0.
    @discardableResult
    mutating func recordMarker(
        producerId: Int64, producerEpoch: Int16, marker: ControlRecord, offset: Int64, timestamp: Int64, appendTimeMs: Int64
    ) -> CompletedTransaction? {
        var entry = producers[producerId] ?? ProducerEntry(epoch: producerEpoch, batches: [], lastAppendMs: appendTimeMs)
        let completed = entry.currentTxnFirstOffset.map {
            CompletedTransaction(producerId: producerId, firstOffset: $0, lastOffset: offset, isAborted: marker.kind == .abort)
        }
        if producerEpoch != entry.epoch {
            entry.epoch = producerEpoch
            entry.batches = []
        }
        entry.currentTxnFirstOffset = nil
        entry.coordinatorEpoch = marker.coordinatorEpoch
        entry.lastTimestamp = timestamp
        entry.lastAppendMs = max(entry.lastAppendMs, appendTimeMs)
        producers[producerId] = entry
        openTransactions[producerId] = nil
        return completed
    }

    /// Forgets producers idle since before `cutoffMs` (Kafka's producer.id.expiration.ms, one day by default). A
    /// producer with an open transaction is kept: its marker is still to come.
    mutating func expire(idleBefore cutoffMs: Int64) {
        producers = producers.filter { $0.value.lastAppendMs >= cutoffMs || $0.value.currentTxnFirstOffset != nil }
    }

    /// Forgets batches below `offset` (their segments were deleted); producers left with none are dropped unless a
    /// transaction of theirs is still open.
    mutating func truncateHead(below offset: Int64) {
        for (pid, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset < offset }
            producers[pid] = entry.batches.isEmpty && entry.currentTxnFirstOffset == nil ? nil : entry
        }
    }

    /// The producers, for DescribeProducers.
    var activeProducers: [(producerId: Int64, entry: ProducerEntry)] {
        producers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    // MARK: Snapshot file

    /// Format (big-endian): magic "LSPS", version int16 (2), entry count int32, then per producer: producerId int64,
    /// epoch int16, lastAppendMs int64, currentTxnFirstOffset int64 (-1: none), coordinatorEpoch int32,
    /// lastTimestamp int64, batch count int8, batches (firstSequence int32, lastSequence int32, firstOffset int64,
    /// lastOffset int64, timestamp int64); then CRC-32C of everything before it. Version 1 (written before
    /// transactions existed) lacks the three transaction fields and still loads.
    func snapshotBytes() -> [UInt8] {
        var out: [UInt8] = Array("LSPS".utf8)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) } }
        put(Int16(2))
        put(Int32(producers.count))
        for (pid, entry) in producers.sorted(by: { $0.key < $1.key }) {
            put(pid)
            put(entry.epoch)
            put(entry.lastAppendMs)
            put(entry.currentTxnFirstOffset ?? -1)
            put(entry.coordinatorEpoch)
            put(entry.lastTimestamp)
            put(Int8(entry.batches.count))
            for batch in entry.batches {
                put(batch.firstSequence)
                put(batch.lastSequence)
                put(batch.firstOffset)
                put(batch.lastOffset)
                put(batch.timestamp)
            }
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        put(crc)
        return out
    }

    /// Parses a snapshot; nil if it is damaged in any way (the caller then rebuilds from the log).
    static func load(snapshot bytes: [UInt8]) -> ProducerStateManager? {
        guard bytes.count >= 14, Array(bytes[0..<4]) == Array("LSPS".utf8) else { return nil }
        let body = bytes[0..<(bytes.count - 4)]
        let stored = bytes[(bytes.count - 4)...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard body.withUnsafeBytes({ CRC32C.checksum($0) }) == stored else { return nil }
        var position = 4
        func get<T: FixedWidthInteger>(_: T.Type) -> T? {
            let size = MemoryLayout<T>.size
            guard position + size <= body.count else { return nil }
            var value: T = 0
            for byte in body[position..<(position + size)] { value = value << 8 | T(truncatingIfNeeded: byte) }
            position += size
            return value
        }
        guard let version = get(Int16.self), version == 1 || version == 2, let count = get(Int32.self), count >= 0 else {
            return nil
        }
        var state = ProducerStateManager()
        for _ in 0..<count {
            guard let pid = get(Int64.self), let epoch = get(Int16.self), let last = get(Int64.self) else { return nil }
            var entry = ProducerEntry(epoch: epoch, batches: [], lastAppendMs: last)
            if version >= 2 {
                guard let txnStart = get(Int64.self), let coordinatorEpoch = get(Int32.self),
                      let lastTimestamp = get(Int64.self) else { return nil }
                entry.currentTxnFirstOffset = txnStart >= 0 ? txnStart : nil
                entry.coordinatorEpoch = coordinatorEpoch
                entry.lastTimestamp = lastTimestamp
            }
            guard let batchCount = get(Int8.self), batchCount >= 0 else { return nil }
            for _ in 0..<batchCount {
                guard let first = get(Int32.self), let lastSeq = get(Int32.self), let firstOffset = get(Int64.self),
                      let lastOffset = get(Int64.self), let timestamp = get(Int64.self) else { return nil }
                entry.batches.append(ProducerBatch(firstSequence: first, lastSequence: lastSeq, firstOffset: firstOffset,
                                                   lastOffset: lastOffset, timestamp: timestamp))
            }
            if version == 1 { entry.lastTimestamp = entry.batches.last?.timestamp ?? -1 }
            state.producers[pid] = entry
            if let start = entry.currentTxnFirstOffset { state.openTransactions[pid] = start }
        }
        return position == body.count ? state : nil
    }
}

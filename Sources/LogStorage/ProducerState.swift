import KafkaProtocol

/// Why an idempotent producer's batch was refused. Each maps to the Kafka error code the client acts on.
public enum ProducerStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The batch does not continue the producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, 45).
    case outOfOrderSequence(producerId: Int64, expected: Int32, received: Int32)
    /// The batch carries an older epoch than the producer's current one (INVALID_PRODUCER_EPOCH, 47).
    case staleEpoch(producerId: Int64, current: Int16, received: Int16)

    public var description: String {
        switch self {
        case .outOfOrderSequence(let pid, let expected, let received):
            return "producer \(pid): out-of-order sequence \(received), expected \(expected)"
        case .staleEpoch(let pid, let current, let received):
            return "producer \(pid): epoch \(received) is older than the current epoch \(current)"
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

/// Per-producer state of one partition: the epoch and the last five batches (Kafka keeps five because a producer has
/// at most five requests in flight per connection with idempotence).
struct ProducerEntry: Equatable, Sendable {
    var epoch: Int16
    var batches: [ProducerBatch]
    /// Wall-clock time of the last append, for expiring idle producers.
    var lastAppendMs: Int64

    static let retainedBatches = 5
    var lastSequence: Int32? { batches.last?.lastSequence }
}

/// Idempotent-producer bookkeeping of one partition, as Kafka's ProducerStateManager: pure, driven by the log.
///
/// Rules (Apache Kafka `ProducerAppendInfo.checkSequence`):
/// - producerId < 0: not idempotent, nothing is checked (aiokafka writes baseSequence 0 there; it is ignored).
/// - Unknown producer: any sequence is accepted (its state may have been removed by retention or expiry).
/// - Older epoch: refused. Newer epoch: must start at sequence 0.
/// - Same epoch: a batch equal to one of the last five (same first and last sequence) is a retry; it is not appended
///   again and the original offsets are returned. Otherwise its first sequence must follow the last one (wrapping to 0
///   after Int32.max).
struct ProducerStateManager: Equatable, Sendable {
    private(set) var producers: [Int64: ProducerEntry] = [:]

    enum Decision: Equatable {
        case append
        case duplicate(ProducerBatch)
    }

    static func nextSequence(after sequence: Int32) -> Int32 { sequence == .max ? 0 : sequence + 1 }

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
        return .append
    }

    /// Records a batch that was appended (its header carries the assigned offsets).
    mutating func record(_ header: RecordBatchHeader, appendTimeMs: Int64) {
        let pid = header.producerId
        guard pid >= 0 else { return }
        var entry = producers[pid] ?? ProducerEntry(epoch: header.producerEpoch, batches: [], lastAppendMs: appendTimeMs)
        if header.producerEpoch != entry.epoch {
            entry = ProducerEntry(epoch: header.producerEpoch, batches: [], lastAppendMs: appendTimeMs)
        }
        entry.batches.append(ProducerBatch(
            firstSequence: header.baseSequence, lastSequence: header.lastSequence,
            firstOffset: header.baseOffset, lastOffset: header.lastOffset, timestamp: header.maxTimestamp))
        if entry.batches.count > ProducerEntry.retainedBatches { entry.batches.removeFirst() }
        entry.lastAppendMs = max(entry.lastAppendMs, appendTimeMs)
        producers[pid] = entry
    }

    /// Forgets producers idle since before `cutoffMs` (Kafka's producer.id.expiration.ms, one day by default).
    mutating func expire(idleBefore cutoffMs: Int64) {
        producers = producers.filter { $0.value.lastAppendMs >= cutoffMs }
    }

    /// Forgets batches below `offset` (their segments were deleted); producers left with none are dropped.
    mutating func truncateHead(below offset: Int64) {
        for (pid, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset < offset }
            producers[pid] = entry.batches.isEmpty ? nil : entry
        }
    }

    // MARK: Snapshot file

    /// Format (big-endian): magic "LSPS", version int16 (1), entry count int32, then per producer: producerId int64,
    /// epoch int16, lastAppendMs int64, batch count int8, batches (firstSequence int32, lastSequence int32,
    /// firstOffset int64, lastOffset int64, timestamp int64); then CRC-32C of everything before it.
    func snapshotBytes() -> [UInt8] {
        var out: [UInt8] = Array("LSPS".utf8)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) } }
        put(Int16(1))
        put(Int32(producers.count))
        for (pid, entry) in producers.sorted(by: { $0.key < $1.key }) {
            put(pid)
            put(entry.epoch)
            put(entry.lastAppendMs)
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
        guard get(Int16.self) == 1, let count = get(Int32.self), count >= 0 else { return nil }
        var state = ProducerStateManager()
        for _ in 0..<count {
            guard let pid = get(Int64.self), let epoch = get(Int16.self), let last = get(Int64.self),
                  let batchCount = get(Int8.self), batchCount >= 0 else { return nil }
            var entry = ProducerEntry(epoch: epoch, batches: [], lastAppendMs: last)
            for _ in 0..<batchCount {
                guard let first = get(Int32.self), let lastSeq = get(Int32.self), let firstOffset = get(Int64.self),
                      let lastOffset = get(Int64.self), let timestamp = get(Int64.self) else { return nil }
                entry.batches.append(ProducerBatch(firstSequence: first, lastSequence: lastSeq, firstOffset: firstOffset,
                                                   lastOffset: lastOffset, timestamp: timestamp))
            }
            state.producers[pid] = entry
        }
        return position == body.count ? state : nil
    }
}

import KafkaProtocol
import NIOCore

/// One record of a batch as the cleaner needs it: where its key is, whether it is a tombstone, and the bytes from
/// the key length on (key, value, headers), which a rewritten batch copies unchanged.
struct CleanerRecord {
    var attributes: UInt8
    var timestampDelta: Int64
    var offsetDelta: Int32
    /// Byte range of the key inside the record area; nil for a null key.
    var key: Range<Int>?
    var hasValue: Bool
    /// Key length prefix to the end of the record.
    var tail: Range<Int>
}

/// Parses the records of a (decompressed) record area. Nil if any record is malformed.
func cleanerRecords(_ area: UnsafeRawBufferPointer, count: Int) -> [CleanerRecord]? {
    var position = 0
    func varlong() -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < area.count, shift < 64 {
            let byte = area[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1))) }
            shift += 7
        }
        return nil
    }
    func field() -> Range<Int>?? {
        guard let length = varlong(), length >= -1 else { return nil }
        if length == -1 { return .some(nil) }
        let start = position
        guard position + Int(length) <= area.count else { return nil }
        position += Int(length)
        return .some(start..<position)
    }
    var records: [CleanerRecord] = []
    records.reserveCapacity(min(count, area.count / 7))
    for _ in 0..<count {
        guard let length = varlong(), length > 0, position + Int(length) <= area.count, position < area.count else { return nil }
        let end = position + Int(length)
        let attributes = area[position]
        position += 1
        guard let timestampDelta = varlong(), let offsetDelta = varlong(), let offset32 = Int32(exactly: offsetDelta) else { return nil }
        let tailStart = position
        guard let key = field(), let value = field() else { return nil }
        guard end >= position else { return nil }
        records.append(CleanerRecord(attributes: attributes, timestampDelta: timestampDelta, offsetDelta: offset32,
                                     key: key, hasValue: value != nil, tail: tailStart..<end))
        position = end
    }
    return records
}

/// Kafka's `CleanedTransactionMetadata`: walks a log's batches in offset order alongside the aborted transactions
/// (from the transaction indexes) to tell which data batches belong to aborted transactions (removed) and when a
/// transaction marker may go (its transaction has no data left before it).
struct CleanerTransactions {
    /// Aborted transactions not yet reached, by first offset.
    private var pending: [AbortedTransaction]
    private var next = 0
    /// Aborted transactions whose data is being walked, with whether any of their batches was seen in this pass.
    private var ongoingAborted: [Int64: (transaction: AbortedTransaction, observedData: Bool)] = [:]
    /// Producers with a committed (not aborted) transaction in progress whose data was seen in this pass.
    private var ongoingCommitted: Set<Int64> = []

    init(aborted: [AbortedTransaction]) {
        pending = aborted.sorted { $0.firstOffset < $1.firstOffset }
    }

    private mutating func consumeAborted(upTo offset: Int64) {
        while next < pending.count && pending[next].firstOffset <= offset {
            ongoingAborted[pending[next].producerId] = (pending[next], false)
            next += 1
        }
    }

    /// For a data batch: true when it belongs to an aborted transaction (its records are removed).
    mutating func isAborted(_ header: RecordBatchHeader) -> Bool {
        consumeAborted(upTo: header.lastOffset)
        guard header.isTransactional else { return false }
        if ongoingAborted[header.producerId] != nil {
            ongoingAborted[header.producerId]!.observedData = true
            return true
        }
        ongoingCommitted.insert(header.producerId)
        return false
    }

    /// For a control batch: whether the marker may be removed (once its delete horizon passed), and for a retained
    /// ABORT the transaction-index entry the cleaned segment keeps.
    mutating func controlBatch(_ header: RecordBatchHeader, kind: ControlRecord.Kind?) -> (canDiscard: Bool, aborted: AbortedTransaction?) {
        consumeAborted(upTo: header.lastOffset)
        switch kind {
        case .abort:
            let ongoing = ongoingAborted.removeValue(forKey: header.producerId)
            // Kept while this pass still removed data of the transaction: a consumer may hold some of it.
            if let ongoing, ongoing.observedData { return (false, ongoing.transaction) }
            return (true, ongoing?.transaction)
        case .commit:
            // Removable once none of the transaction's data was met before it in this pass.
            return (ongoingCommitted.remove(header.producerId) == nil, nil)
        case nil:
            return (true, nil)
        }
    }
}

/// What the cleaner does with the records of each batch (Kafka's `Cleaner.cleanInto` filter over
/// `MemoryRecords.filterTo`).
struct CompactionFilter {
    let nowMs: Int64
    let deleteRetentionMs: Int64
    /// Per active producer, the last offset of its last data batch: that batch is kept (emptied if need be) so the
    /// producer's sequence state survives the cleaning, as Kafka keeps it.
    let lastBatchOfProducer: [Int64: Int64]
    /// Offsets at or above this were not mapped: their records are kept (apart from aborted data).
    let mapEnd: Int64

    struct Outcome {
        /// The batch to write, nil to drop it.
        var bytes: ByteBuffer?
        var keptRecords = 0
        var removedRecords = 0
        /// A retained ABORT marker's transaction, for the cleaned segment's transaction index.
        var aborted: AbortedTransaction?
    }

    /// Filters one whole batch. `keepEmpty` keeps an emptied batch (header only) to hold the segment's last offset.
    func filter(
        _ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, map: borrowing OffsetMap,
        transactions: inout CleanerTransactions, keepEmpty: Bool
    ) throws(RecordBatchError) -> Outcome {
        var outcome = Outcome()
        let hasHorizon = header.deleteHorizonMs != nil
        let horizonPassed = header.deleteHorizonMs.map { $0 <= nowMs } ?? false
        let retainForProducer = header.producerId >= 0 && lastBatchOfProducer[header.producerId] == header.lastOffset
        /// A batch that would go entirely: Kafka's empty batch when the producer needs it, else, at a segment's end,
        /// a placeholder holding only the offsets.
        func emptied() -> ByteBuffer? {
            retainForProducer ? Self.emptyBatch(header) : keepEmpty ? Self.offsetPlaceholder(header) : nil
        }
        if header.isControl {
            let kind = ControlRecord(controlBatch: batch)?.kind
            let (canDiscard, aborted) = transactions.controlBatch(header, kind: kind)
            if canDiscard && horizonPassed {
                outcome.removedRecords = Int(header.recordCount)
                outcome.bytes = emptied()
                return outcome
            }
            outcome.keptRecords = Int(header.recordCount)
            outcome.aborted = aborted
            // A removable marker gets its horizon the first time the cleaner sees it (KIP-534).
            if canDiscard && !hasHorizon {
                outcome.bytes = try rewrite(batch, header: header, keeping: nil, horizon: nowMs &+ deleteRetentionMs)
            } else {
                outcome.bytes = ByteBuffer(bytes: batch)
            }
            return outcome
        }
        let aborted = transactions.isAborted(header)
        let plain: ByteBuffer
        let area = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalSize])
        plain = try header.compression.decompress(area)
        let records = plain.withUnsafeReadableBytes { cleanerRecords($0, count: Int(header.recordCount)) }
        guard let records else { throw .badRecord(index: 0, reason: "unreadable record in a stored batch at offset \(header.baseOffset)") }
        var kept: [Int] = []
        var keptTombstone = false
        plain.withUnsafeReadableBytes { area in
            for (index, record) in records.enumerated() {
                let offset = header.baseOffset + Int64(record.offsetDelta)
                var retain: Bool
                if aborted {
                    retain = false
                } else if offset >= mapEnd {
                    retain = true
                } else if let key = record.key {
                    let latest = map.get(key: UnsafeRawBufferPointer(rebasing: area[key]))
                    retain = offset >= latest && (record.hasValue || !horizonPassed)
                } else {
                    retain = false  // a record without a key cannot be compacted (Kafka counts it invalid)
                }
                if retain {
                    kept.append(index)
                    if !record.hasValue { keptTombstone = true }
                }
            }
        }
        outcome.keptRecords = kept.count
        outcome.removedRecords = records.count - kept.count
        if kept.isEmpty {
            outcome.bytes = emptied()
            return outcome
        }
        let needsHorizon = keptTombstone && !hasHorizon
        if kept.count == records.count && !needsHorizon {
            outcome.bytes = ByteBuffer(bytes: batch)
            return outcome
        }
        let horizon: Int64? = needsHorizon ? nowMs &+ deleteRetentionMs : header.deleteHorizonMs
        outcome.bytes = try rewrite(batch, header: header, keeping: (plain, records, kept), horizon: horizon)
        return outcome
    }

    /// A batch holding `kept` of its records (all of them when nil, for control batches), with the same offsets,
    /// last offset delta, producer fields and codec; with `horizon`, the delete-horizon attribute set and the base
    /// timestamp holding it (record timestamps are re-based so they keep their values).
    private func rewrite(
        _ batch: UnsafeRawBufferPointer, header: RecordBatchHeader,
        keeping: (plain: ByteBuffer, records: [CleanerRecord], kept: [Int])?, horizon: Int64?
    ) throws(RecordBatchError) -> ByteBuffer {
        let plain: ByteBuffer
        let records: [CleanerRecord]
        let kept: [Int]
        if let keeping {
            (plain, records, kept) = keeping
        } else {
            let area = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalSize])
            plain = try header.compression.decompress(area)
            guard let parsed = plain.withUnsafeReadableBytes({ cleanerRecords($0, count: Int(header.recordCount)) }) else {
                throw .badRecord(index: 0, reason: "unreadable record in a stored batch at offset \(header.baseOffset)")
            }
            records = parsed
            kept = Array(parsed.indices)
        }
        let originalBase = header.baseTimestamp
        let firstTimestamp = originalBase &+ records[kept[0]].timestampDelta
        let base = horizon ?? firstTimestamp
        var maxTimestamp = Int64.min
        var area = KafkaWriter(capacity: plain.readableBytes)
        plain.withUnsafeReadableBytes { bytes in
            for index in kept {
                let record = records[index]
                let timestamp = originalBase &+ record.timestampDelta
                maxTimestamp = max(maxTimestamp, timestamp)
                var body = KafkaWriter(capacity: record.tail.count + 16)
                body.writeInt8(Int8(bitPattern: record.attributes))
                body.writeVarlong(timestamp &- base)
                body.writeVarint(record.offsetDelta)
                body.writeRawBytes(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[record.tail])))
                area.writeVarint(Int32(body.buffer.readableBytes))
                area.writeRawBytes(body.buffer)
            }
        }
        var codec = header.compression
        var recordArea = area.buffer
        if codec != .none {
            do {
                recordArea = try recordArea.withUnsafeReadableBytes { bytes throws(RecordBatchError) in try codec.compress(bytes) }
            } catch {
                // Snappy is decode-only here: such a batch is rewritten uncompressed rather than not at all.
                guard codec == .snappy else { throw error }
                codec = .none
            }
        }
        var out = header
        out.attributes = (header.attributes & ~0x7 & ~RecordBatchHeader.deleteHorizonFlag) | Int16(codec.rawValue)
            | (horizon != nil ? RecordBatchHeader.deleteHorizonFlag : 0)
        out.baseTimestamp = base
        if header.timestampType == .createTime { out.maxTimestamp = maxTimestamp }
        out.recordCount = Int32(kept.count)
        out.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd + recordArea.readableBytes)
        return Self.seal(out, recordArea: recordArea)
    }

    /// Header (with a fresh CRC-32C) followed by the record area.
    private static func seal(_ header: RecordBatchHeader, recordArea: ByteBuffer) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + recordArea.readableBytes)
        header.write(to: &out)
        out.writeImmutableBuffer(recordArea)
        let crc = out.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcStart...])) }
        out.setInteger(crc, at: out.readerIndex + 17, endianness: .big)
        return out
    }

    /// Kafka's `DefaultRecordBatch.writeEmptyHeader`: the batch's offsets and producer fields with no records, so
    /// the producer's last sequence survives.
    static func emptyBatch(_ header: RecordBatchHeader) -> ByteBuffer {
        emptied(header, attributes: header.attributes & (0x8 | 0x10 | 0x20))
    }

    /// An empty batch with the original's offsets and nothing else (no producer, not transactional): it keeps a
    /// cleaned segment ending where the original did, without pinning any producer or transaction state.
    static func offsetPlaceholder(_ header: RecordBatchHeader) -> ByteBuffer {
        var anonymous = header
        anonymous.producerId = -1
        anonymous.producerEpoch = -1
        anonymous.baseSequence = -1
        return emptied(anonymous, attributes: header.attributes & 0x8)
    }

    private static func emptied(_ header: RecordBatchHeader, attributes: Int16) -> ByteBuffer {
        var out = header
        out.attributes = attributes
        out.baseTimestamp = header.maxTimestamp
        out.recordCount = 0
        out.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd)
        return seal(out, recordArea: ByteBuffer())
    }
}

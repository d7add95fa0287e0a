import FileSystem
import KafkaProtocol
import NIOCore

@testable import LogStorage

/// A compacted topic's config with tiny segments (each batch of the tests rolls) and every dirty byte cleanable.
func compactConfig(segmentBytes: Int = 200, deleteRetentionMs: Int64 = 1_000) -> LogConfig {
    var config = LogConfig()
    config.cleanupPolicy = .compact
    config.segmentBytes = segmentBytes
    config.indexIntervalBytes = 64
    config.minCleanableDirtyRatio = 0
    config.deleteRetentionMs = deleteRetentionMs
    return config
}

/// One batch of keyed records; a nil value is a tombstone.
func keyedBatch(
    _ records: [(key: String, value: String?)], timestamp: Int64 = 1_000, compression: CompressionCodec = .none,
    producerId: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1, transactional: Bool = false
) -> ByteBuffer {
    var builder = RecordBatchBuilder()
    builder.compression = compression
    builder.producerId = producerId
    builder.producerEpoch = epoch
    builder.baseSequence = sequence
    builder.isTransactional = transactional
    for (index, record) in records.enumerated() {
        builder.append(ProducerRecord(key: ByteBuffer(string: record.key), value: record.value.map { ByteBuffer(string: $0) },
                                      timestamp: timestamp + Int64(index)))
    }
    return builder.build()
}

/// Every batch from the log start to the end, in order, with its records (control batches have theirs too).
func allBatches(_ log: PartitionLog) throws -> [(header: RecordBatchHeader, records: [ConsumedRecord])] {
    var result: [(header: RecordBatchHeader, records: [ConsumedRecord])] = []
    var offset = log.logStartOffset
    while offset < log.logEndOffset {
        var bytes = try log.readBytes(from: offset, maxBytes: 1 << 20)
        guard bytes.readableBytes > 0 else { break }
        while let header = RecordBatchHeader(bytes), bytes.readableBytes >= header.totalSize {
            let batch = bytes.readSlice(length: header.totalSize)!
            expectValidCRC(batch, header)
            result.append((header, try RecordBatchHeader.records(in: batch)))
            offset = header.nextOffset
        }
    }
    return result
}

/// Traps on a batch whose CRC-32C does not match (the cleaner rewrote it wrongly).
func expectValidCRC(_ batch: ByteBuffer, _ header: RecordBatchHeader) {
    let valid = batch.withUnsafeReadableBytes { (try? RecordBatchValidator.validateFrame($0, at: 0)) != nil }
    precondition(valid, "batch at offset \(header.baseOffset) fails its CRC")
}

/// (offset, key, value) of every data record from the log start, as a consumer reading from the beginning sees them.
func visibleRecords(_ log: PartitionLog) throws -> [(offset: Int64, key: String, value: String?)] {
    try allBatches(log).filter { !$0.header.isControl }.flatMap(\.records).map { record in
        (record.offset, record.key.map { String(buffer: $0) } ?? "", record.value.map { String(buffer: $0) })
    }
}

/// The latest value per key as a consumer reading from the beginning would compute it (tombstones delete).
func latestValues(_ log: PartitionLog) throws -> [String: String] {
    var latest: [String: String] = [:]
    for record in try visibleRecords(log) { latest[record.key] = record.value }
    return latest
}

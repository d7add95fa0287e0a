import KafkaProtocol
import NIOCore

/// One record batch of a partition as a fetch brought it: what ``KafkaConsumer/pollBatches(timeoutMs:)`` hands out to
/// a consumer that walks records itself, and what ``KafkaConsumer/poll(timeoutMs:)`` turns into ``ConsumerRecord``s.
///
/// A `ConsumerRecord` holds several reference-counted values (its key, value and header slices, the headers array),
/// retained and released at every hand-over: for a consumer of millions of small records (the ledger sink) that
/// bookkeeping costs more than reading the records. A batch is one value for hundreds of records.
public struct FetchedBatch: Sendable {
    public let topic: String
    public let partition: Int32
    public let header: RecordBatchHeader
    /// The record area (batch byte 61 onward, decompressed), as ``RecordIterator/init(records:count:)`` walks it.
    public let records: ByteBuffer
    /// Records below this offset are not this consumer's to see (they precede its position): skip them.
    public internal(set) var firstOffset: Int64

    init(topic: String, partition: Int32, header: RecordBatchHeader, records: ByteBuffer, firstOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.header = header
        self.records = records
        self.firstOffset = firstOffset
    }

    /// The offset a consumer's position moves to once it has the whole batch (past the last record, even one a
    /// compaction removed).
    public var nextOffset: Int64 { header.nextOffset }

    /// A record's absolute offset; nil past the largest offset (the fetch refused such batches already).
    public func offset(of record: RawRecord) -> Int64? {
        let (offset, overflow) = header.baseOffset.addingReportingOverflow(Int64(record.offsetDelta))
        return overflow ? nil : offset
    }

    /// Calls `body` with each record at or past ``firstOffset``, its offset, and the record area's bytes its ranges
    /// point into, in order. Nothing is copied or retained per record.
    public func forEachRecord<E: Error>(
        _ body: (_ record: RawRecord, _ offset: Int64, _ area: UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        try records.withUnsafeReadableBytes { (area: UnsafeRawBufferPointer) throws(E) in
            var iterator = RecordIterator(records: area, count: Int(header.recordCount))
            while let record = iterator.next() {
                guard let offset = offset(of: record) else { return }
                if offset >= firstOffset { try body(record, offset, area) }
            }
        }
    }

    /// The first `limit` records at or past ``firstOffset`` as ``ConsumerRecord``s (those before are skipped, not
    /// built: a batch split over many polls is not decoded again from its start each time).
    func consumerRecords(limit: Int) throws(RecordBatchError) -> [ConsumerRecord] {
        try RecordBatchHeader.records(inArea: records, of: header, from: firstOffset, limit: limit).map { record in
            ConsumerRecord(topic: topic, partition: partition, offset: record.offset, timestamp: record.timestamp,
                           key: record.key, value: record.value, headers: record.headers)
        }
    }
}

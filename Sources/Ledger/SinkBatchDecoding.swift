#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaClient
import KafkaProtocol
import NIOCore

extension LedgerSink.DecodedRecord {
    public init(record: SinkRecord, event: Result<TransactionEvent, TransactionEvent.DecodeError>) {
        self.record = record
        self.event = event
    }

    /// The source header's key, as bytes to compare record header keys with in place.
    private static let sourceHeaderKey = Array(EventSource.headerKey.utf8)

    /// Decodes the records of a fetched batch straight from its bytes, appending them to `decoded`: the same records
    /// as ``init(_:)`` of each ``SinkRecord``, without a value per record in between (see ``FetchedBatch``).
    /// `source` is the last record's source: consecutive rows of one file share its digest string. Returns the
    /// offset after the last record decoded (nil if the batch had none for this consumer).
    public static func decode(_ batch: FetchedBatch, into decoded: inout [LedgerSink.DecodedRecord], source: inout EventSource?)
        -> Int64? {
        var next: Int64?
        batch.forEachRecord { record, offset, area in
            source = Self.source(of: record, in: area, previous: source)
            var sinkRecord = SinkRecord(topic: batch.topic, partition: batch.partition, offset: offset, value: nil, source: source)
            let event: Result<TransactionEvent, TransactionEvent.DecodeError>
            if let range = record.value {
                event = Result { () throws(TransactionEvent.DecodeError) in
                    try TransactionEvent(json: UnsafeRawBufferPointer(rebasing: area[range]).bindMemory(to: UInt8.self))
                }
                // Kept only when it is not an event: `rejected_records` shows it.
                if case .failure = event {
                    sinkRecord.value = batch.records.getSlice(at: batch.records.readerIndex + range.lowerBound, length: range.count)
                }
            } else {
                event = .failure(.notJSON("the record has no value"))
            }
            decoded.append(LedgerSink.DecodedRecord(record: sinkRecord, event: event))
            next = offset + 1
        }
        return next
    }

    /// The source named in a record's headers (the last such header wins, as in ``EventSource/init(headers:previous:)``).
    private static func source(of record: RawRecord, in area: UnsafeRawBufferPointer, previous: EventSource?) -> EventSource? {
        guard !record.headers.isEmpty else { return nil }
        for header in record.headers.reversed() {
            let key = UnsafeRawBufferPointer(rebasing: area[header.key])
            guard key.count == sourceHeaderKey.count,
                  sourceHeaderKey.withUnsafeBytes({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) else { continue }
            guard let value = header.value else { return nil }
            return EventSource(headerBytes: UnsafeRawBufferPointer(rebasing: area[value]), previous: previous)
        }
        return nil
    }
}

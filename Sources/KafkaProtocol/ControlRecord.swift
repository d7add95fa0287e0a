import NIOCore

/// A transaction marker: the one record of a control batch that a transaction coordinator writes to every partition
/// of a transaction when it ends. Consumers never see it as a record; read_committed consumers use it (with the
/// fetch response's aborted-transaction list) to drop an aborted transaction's records.
///
/// Wire form (Kafka's `EndTransactionMarker`): the batch has the control and transactional attribute bits, the
/// producer's id and epoch, base sequence -1 and one record whose key is `int16 version (0), int16 type
/// (0 ABORT, 1 COMMIT)` and whose value is `int16 version (0), int32 coordinatorEpoch`.
public struct ControlRecord: Equatable, Sendable {
    public enum Kind: Int16, Sendable {
        case abort = 0
        case commit = 1
    }

    public var kind: Kind
    public var coordinatorEpoch: Int32

    public init(kind: Kind, coordinatorEpoch: Int32 = 0) {
        self.kind = kind
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Attribute bits of a control batch: isTransactional (bit 4) and isControl (bit 5).
    public static let batchAttributes: Int16 = 0x10 | 0x20

    /// The whole control batch (offset 0; the log assigns the real one).
    public func batch(producerId: Int64, producerEpoch: Int16, timestamp: Int64) -> ByteBuffer {
        var key = ByteBuffer()
        key.writeInteger(Int16(0), endianness: .big)
        key.writeInteger(kind.rawValue, endianness: .big)
        var value = ByteBuffer()
        value.writeInteger(Int16(0), endianness: .big)
        value.writeInteger(coordinatorEpoch, endianness: .big)
        var builder = RecordBatchBuilder(capacity: 128)
        builder.producerId = producerId
        builder.producerEpoch = producerEpoch
        builder.baseSequence = -1
        builder.isTransactional = true
        builder.isControl = true
        builder.append(ProducerRecord(key: key, value: value, timestamp: timestamp))
        return builder.build()
    }

    /// The marker of a control batch (header included); nil if `batch` is not a well-formed control batch.
    public init?(controlBatch batch: UnsafeRawBufferPointer) {
        guard let header = RecordBatchHeader(batch), header.isControl, header.compression == .none,
              header.totalSize <= batch.count
        else { return nil }
        let records = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalSize])
        var iterator = RecordIterator(records: records, count: 1)
        guard let record = iterator.next(), let keyRange = record.key, keyRange.count >= 4 else { return nil }
        func int16(_ at: Int) -> Int16 { Int16(bigEndian: records.loadUnaligned(fromByteOffset: at, as: Int16.self)) }
        guard let kind = Kind(rawValue: int16(keyRange.lowerBound + 2)) else { return nil }
        var epoch: Int32 = -1
        if let valueRange = record.value, valueRange.count >= 6 {
            epoch = Int32(bigEndian: records.loadUnaligned(fromByteOffset: valueRange.lowerBound + 2, as: Int32.self))
        }
        self.init(kind: kind, coordinatorEpoch: epoch)
    }

    public init?(controlBatch batch: ByteBuffer) {
        guard let marker = batch.withUnsafeReadableBytes({ ControlRecord(controlBatch: $0) }) else { return nil }
        self = marker
    }
}

import CCRC32C
import NIOCore

/// The fixed 61-byte header of a Kafka v2 record batch (magic 2), the unit of storage and of the wire.
///
/// Layout (big-endian): baseOffset int64 @0, batchLength int32 @8 (bytes after this field), partitionLeaderEpoch
/// int32 @12, magic int8 @16, crc uint32 @17, attributes int16 @21, lastOffsetDelta int32 @23, baseTimestamp int64
/// @27, maxTimestamp int64 @35, producerId int64 @43, producerEpoch int16 @51, baseSequence int32 @53,
/// recordCount int32 @57, then the records. The CRC-32C covers bytes [21, end), so the broker can rewrite the base
/// offset and leader epoch without recomputing it.
public struct RecordBatchHeader: Equatable, Sendable {
    public static let size = 61
    /// Offset of the batchLength field's end: the first byte counted by batchLength.
    public static let lengthFieldEnd = 12
    public static let crcStart = 21
    public static let baseOffsetPosition = 0
    public static let partitionLeaderEpochPosition = 12
    public static let maxTimestampPosition = 35

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// Whole batch size in bytes, header included.
    public var totalSize: Int { Self.lengthFieldEnd + Int(batchLength) }
    /// Wrapping, as Kafka's Java arithmetic is: a corrupt or hostile header near Int64.max gives an offset out of
    /// order (which the log and the consumer refuse), never a trap.
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }
    public var nextOffset: Int64 { lastOffset &+ 1 }
    public var compression: CompressionCodec { CompressionCodec(rawValue: Int(attributes & 0x7)) ?? .unknown }
    public var timestampType: TimestampType { attributes & 0x8 == 0 ? .createTime : .logAppendTime }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var isIdempotent: Bool { producerId >= 0 }
    /// Attribute bit 6 (KIP-534): the log cleaner kept tombstones or a transaction marker in this batch until the
    /// time in baseTimestamp (record timestamps are deltas from it, so they keep their values).
    public static let deleteHorizonFlag: Int16 = 0x40
    /// When the cleaner may remove this batch's tombstones and marker, if it set that time.
    public var deleteHorizonMs: Int64? { attributes & Self.deleteHorizonFlag != 0 ? baseTimestamp : nil }
    /// The sequence number of the last record, wrapping at Int32.max as Kafka does.
    public var lastSequence: Int32 {
        let last = Int64(baseSequence) + Int64(lastOffsetDelta)
        return last > Int64(Int32.max) ? Int32(last - Int64(Int32.max) - 1) : Int32(last)
    }

    public init(
        baseOffset: Int64 = 0, batchLength: Int32 = 0, partitionLeaderEpoch: Int32 = 0, magic: Int8 = 2,
        crc: UInt32 = 0, attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = 0,
        maxTimestamp: Int64 = 0, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        recordCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Parses the header at the start of `bytes`; nil if fewer than 61 bytes are given.
    /// Nothing is validated here: see ``RecordBatchValidator``.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size else { return nil }
        func int<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            T(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
        }
        self.init(
            baseOffset: int(0, Int64.self), batchLength: int(8, Int32.self),
            partitionLeaderEpoch: int(12, Int32.self), magic: int(16, Int8.self), crc: int(17, UInt32.self),
            attributes: int(21, Int16.self), lastOffsetDelta: int(23, Int32.self),
            baseTimestamp: int(27, Int64.self), maxTimestamp: int(35, Int64.self),
            producerId: int(43, Int64.self), producerEpoch: int(51, Int16.self),
            baseSequence: int(53, Int32.self), recordCount: int(57, Int32.self))
    }

    public init?(_ buffer: ByteBuffer) {
        guard let header = buffer.withUnsafeReadableBytes({ Self($0) }) else { return nil }
        self = header
    }

    /// Calls `body` with the header of each batch laid back to back in `buffer`, up to the first one that is not
    /// whole or until `body` returns false (nothing is validated: for looking at flags before
    /// ``RecordBatchValidator`` runs). Allocates nothing.
    public static func forEachHeader(in buffer: ByteBuffer, _ body: (RecordBatchHeader) -> Bool) {
        buffer.withUnsafeReadableBytes { bytes in
            var position = 0
            while let header = RecordBatchHeader(UnsafeRawBufferPointer(rebasing: bytes[position...])),
                  header.batchLength > 0, position + header.totalSize <= bytes.count, body(header) {
                position += header.totalSize
            }
        }
    }

    /// Writes the 61 header bytes (with the stored crc) into `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.size) { bytes in
            write(to: bytes)
            return Self.size
        }
    }

    /// Stores the 61 header bytes (with the stored crc) at the start of `bytes`, which must hold at least that many:
    /// the log's append path rewrites each batch's header straight into the area its write is gathered from.
    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size, "a record batch header needs \(Self.size) bytes")
        func store<T: FixedWidthInteger>(_ value: T, _ at: Int) {
            bytes.storeBytes(of: value.bigEndian, toByteOffset: at, as: T.self)
        }
        store(baseOffset, 0)
        store(batchLength, 8)
        store(partitionLeaderEpoch, 12)
        store(magic, 16)
        store(crc, 17)
        store(attributes, 21)
        store(lastOffsetDelta, 23)
        store(baseTimestamp, 27)
        store(maxTimestamp, 35)
        store(producerId, 43)
        store(producerEpoch, 51)
        store(baseSequence, 53)
        store(recordCount, 57)
    }
}

public enum CompressionCodec: Int, Sendable {
    case none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4
    case unknown = -1
}

public enum TimestampType: Sendable {
    case createTime, logAppendTime
}

/// CRC-32C as used by record batches.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return crc32c_update(crc, base, bytes.count)
    }

    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    public static var usesHardware: Bool { crc32c_hardware_available() != 0 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// One record of an uncompressed v2 batch, as byte ranges into the batch (no copies).
public struct RawRecord {
    public var offsetDelta: Int32
    public var timestampDelta: Int64
    /// Byte range of the key inside the batch's record area, nil for a null key.
    public var key: Range<Int>?
    public var value: Range<Int>?
    public var headers: RawHeaders
}

/// A record's headers as byte ranges. The first is held inline: most records carry none or one (the ledger's
/// source header), and an array per record would be an allocation per record.
public struct RawHeaders: RandomAccessCollection, Sendable {
    public typealias Element = (key: Range<Int>, value: Range<Int>?)
    private var first: Element?
    private var rest: [Element] = []

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { first == nil ? 0 : 1 + rest.count }
    public subscript(position: Int) -> Element { position == 0 ? first! : rest[position - 1] }

    mutating func append(_ header: Element) {
        if first == nil { first = header } else { rest.append(header) }
    }
}

/// Iterates the records of an uncompressed batch given its full bytes (header included).
/// Stops (returns nil) at the end or at the first malformed record; validate with ``RecordBatchValidator`` first.
public struct RecordIterator: IteratorProtocol {
    private var cursor: VarintCursor
    private var remaining: Int

    public init(batch: UnsafeRawBufferPointer, header: RecordBatchHeader) {
        let records = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<min(batch.count, header.totalSize)])
        self.init(records: records, count: header.compression == .none ? Int(header.recordCount) : 0)
    }

    /// Iterates `count` records laid out in `records` (a batch's record area, or a compressed batch's after
    /// ``CompressionCodec/decompress(_:limit:)``).
    public init(records: UnsafeRawBufferPointer, count: Int) {
        cursor = VarintCursor(bytes: records)
        remaining = count
    }

    /// Positions in `RawRecord` are relative to the record area (batch byte 61 onward).
    public mutating func next() -> RawRecord? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        guard let length = cursor.varint(), length > 0 else { return finish() }
        let end = cursor.position + Int(length)
        guard cursor.skip(1), let timestampDelta = cursor.varlong(), let offsetDelta = cursor.varint(),
              let key = range(), let value = range(), let headerCount = cursor.varint(), headerCount >= 0
        else { return finish() }
        var headers = RawHeaders()
        for _ in 0..<headerCount {
            guard let headerKey = range(), let headerKeyRange = headerKey, let headerValue = range() else { return finish() }
            headers.append((headerKeyRange, headerValue))
        }
        guard cursor.position == end else { return finish() }
        return RawRecord(offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers)
    }

    /// Reads a varint length and skips that many bytes: .some(nil) for length -1 (null), nil if malformed.
    private mutating func range() -> Range<Int>?? {
        guard let length = cursor.varint(), length >= -1 else { return nil }
        if length == -1 { return .some(nil) }
        let start = cursor.position
        guard cursor.skip(Int(length)) else { return nil }
        return .some(start..<cursor.position)
    }

    private mutating func finish() -> RawRecord? {
        remaining = 0
        return nil
    }
}

/// A record to be written by ``RecordBatchBuilder``.
public struct ProducerRecord: Sendable, Equatable {
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]
    public var timestamp: Int64

    public init(key: ByteBuffer?, value: ByteBuffer?, headers: [(key: String, value: ByteBuffer?)] = [], timestamp: Int64) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public static func == (lhs: ProducerRecord, rhs: ProducerRecord) -> Bool {
        lhs.key == rhs.key && lhs.value == rhs.value && lhs.timestamp == rhs.timestamp
            && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Bytes this record adds to an uncompressed batch (an upper bound is enough for batching decisions).
    public var estimatedSize: Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for header in headers { size += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        return size
    }
}

/// Builds an uncompressed v2 record batch with a correct CRC-32C.
public struct RecordBatchBuilder {
    public var producerId: Int64 = -1
    public var producerEpoch: Int16 = -1
    public var baseSequence: Int32 = -1
    public var baseOffset: Int64 = 0
    public var partitionLeaderEpoch: Int32 = 0
    /// The codec `build()` compresses the record area with. A batch that fails to compress, or does not shrink, is
    /// sent uncompressed (always a valid choice for the broker).
    public var compression: CompressionCodec = .none
    /// Attribute bit 4: the batch belongs to a transaction (its producer's records stay invisible to read_committed
    /// consumers until the transaction's COMMIT marker).
    public var isTransactional = false
    /// Attribute bit 5: a control batch (a transaction marker); only a broker writes these.
    public var isControl = false
    /// The whole batch as it grows: 61 placeholder bytes for the header, then the records. `build()` fills the header
    /// in place, so a batch is never copied.
    private var records: KafkaWriter
    private var count: Int32 = 0
    private var baseTimestamp: Int64 = 0
    private var maxTimestamp: Int64 = -1

    /// - Parameter capacity: bytes to reserve up front (a producer passes its batch size, avoiding regrowth).
    public init(capacity: Int = 1024) {
        records = KafkaWriter(capacity: max(capacity, RecordBatchHeader.size + 64))
        records.writeRawBytes(ByteBuffer(repeating: 0, count: RecordBatchHeader.size))
    }

    public var recordCount: Int { Int(count) }
    public var isEmpty: Bool { count == 0 }
    /// Size the batch will have if built now.
    public var sizeInBytes: Int { records.buffer.readableBytes }
    /// Bytes of memory the batch's buffer holds (at least ``sizeInBytes``; it grows by doubling).
    public var capacity: Int { records.buffer.capacity }

    public mutating func append(_ record: ProducerRecord) {
        if count == 0 { baseTimestamp = record.timestamp }
        maxTimestamp = max(maxTimestamp, record.timestamp)
        let timestampDelta = record.timestamp - baseTimestamp
        // The record's length prefix comes first, so compute the body size instead of staging it in a buffer.
        var bodySize = 1 + Self.varlongSize(timestampDelta) + Self.varlongSize(Int64(count))
        bodySize += Self.varBytesSize(record.key?.readableBytes) + Self.varBytesSize(record.value?.readableBytes)
        bodySize += Self.varlongSize(Int64(record.headers.count))
        for header in record.headers {
            bodySize += Self.varBytesSize(header.key.utf8.count) + Self.varBytesSize(header.value?.readableBytes)
        }
        let offsetDelta = count
        records.writeInPlace(count: Self.varlongSize(Int64(bodySize)) + bodySize) { cursor in
            cursor.writeVarlong(Int64(bodySize))
            cursor.writeInt8(0)
            cursor.writeVarlong(timestampDelta)
            cursor.writeVarlong(Int64(offsetDelta))
            Self.writeVarBytes(&cursor, record.key)
            Self.writeVarBytes(&cursor, record.value)
            cursor.writeVarlong(Int64(record.headers.count))
            for header in record.headers {
                cursor.writeVarlong(Int64(header.key.utf8.count))
                cursor.writeString(header.key)
                Self.writeVarBytes(&cursor, header.value)
            }
        }
        count += 1
    }

    /// Appends record `index` of `chunk`, copying its bytes straight from the chunk (see ``RecordChunk``). `timestamp`
    /// stands in for a record given none.
    public mutating func append(_ index: Int, of chunk: RecordChunk, timestamp defaultTimestamp: Int64) {
        let entry = chunk.entries[index]
        let timestamp = entry.timestamp == .min ? defaultTimestamp : entry.timestamp
        if count == 0 { baseTimestamp = timestamp }
        maxTimestamp = max(maxTimestamp, timestamp)
        let timestampDelta = timestamp - baseTimestamp
        let headers = Int(entry.firstHeader)..<Int(entry.firstHeader + entry.headerCount)
        var bodySize = 1 + Self.varlongSize(timestampDelta) + Self.varlongSize(Int64(count))
        bodySize += Self.varBytesSize(entry.key.isNull ? nil : entry.key.count)
        bodySize += Self.varBytesSize(entry.value.isNull ? nil : entry.value.count)
        bodySize += Self.varlongSize(Int64(headers.count))
        for header in chunk.headers[headers] {
            bodySize += Self.varBytesSize(header.key.count) + Self.varBytesSize(header.value.isNull ? nil : header.value.count)
        }
        let offsetDelta = count
        chunk.bytes.withUnsafeBytes { base in
            records.writeInPlace(count: Self.varlongSize(Int64(bodySize)) + bodySize) { cursor in
                cursor.writeVarlong(Int64(bodySize))
                cursor.writeInt8(0)
                cursor.writeVarlong(timestampDelta)
                cursor.writeVarlong(Int64(offsetDelta))
                Self.writeVarBytes(&cursor, RecordChunk.field(entry.key, in: base))
                Self.writeVarBytes(&cursor, RecordChunk.field(entry.value, in: base))
                cursor.writeVarlong(Int64(headers.count))
                for header in chunk.headers[headers] {
                    Self.writeVarBytes(&cursor, RecordChunk.field(header.key, in: base))
                    Self.writeVarBytes(&cursor, RecordChunk.field(header.value, in: base))
                }
            }
        }
        count += 1
    }

    /// Bytes of a zig-zag varint/varlong.
    static func varlongSize(_ value: Int64) -> Int {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var size = 1
        while v >= 0x80 {
            v >>= 7
            size += 1
        }
        return size
    }

    /// Bytes of a length-prefixed field (length -1 for nil).
    static func varBytesSize(_ length: Int?) -> Int {
        guard let length else { return varlongSize(-1) }
        return varlongSize(Int64(length)) + length
    }

    private static func writeVarBytes(_ cursor: inout ByteCursor, _ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else { return cursor.writeVarlong(-1) }
        cursor.writeVarlong(Int64(bytes.count))
        cursor.writeBytes(bytes)
    }

    private static func writeVarBytes(_ cursor: inout ByteCursor, _ bytes: ByteBuffer?) {
        guard let bytes else { return cursor.writeVarlong(-1) }
        cursor.writeVarlong(Int64(bytes.readableBytes))
        cursor.writeBytes(bytes)
    }

    /// The finished batch.
    /// The finished batch. The builder is left empty (its buffer moves into the result without a copy).
    public mutating func build() -> ByteBuffer {
        precondition(count > 0, "a record batch needs at least one record")
        var out = records.buffer
        records = KafkaWriter(capacity: 64)
        records.writeRawBytes(ByteBuffer(repeating: 0, count: RecordBatchHeader.size))
        var attributes: Int16 = (isTransactional ? 0x10 : 0) | (isControl ? 0x20 : 0)
        if compression != .none, let packed = Self.compressRecordArea(of: out, with: compression) {
            out = packed
            attributes |= Int16(compression.rawValue)
        }
        var header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(out.readableBytes - RecordBatchHeader.lengthFieldEnd),
            partitionLeaderEpoch: partitionLeaderEpoch, magic: 2, crc: 0, attributes: attributes, lastOffsetDelta: count - 1,
            baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, recordCount: count)
        var headerBytes = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
        header.write(to: &headerBytes)
        out.setBuffer(headerBytes, at: out.readerIndex)
        let crc = out.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcStart...]))
        }
        header.crc = crc
        out.setInteger(crc, at: out.readerIndex + 17, endianness: .big)
        count = 0
        maxTimestamp = -1
        return out
    }

    /// A new batch buffer: header placeholder plus the compressed record area, or nil to stay uncompressed.
    private static func compressRecordArea(of batch: ByteBuffer, with codec: CompressionCodec) -> ByteBuffer? {
        let plainSize = batch.readableBytes - RecordBatchHeader.size
        let compressed = batch.withUnsafeReadableBytes { bytes in
            try? codec.compress(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.size...]))
        }
        guard let compressed, compressed.readableBytes < plainSize else { return nil }
        var packed = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + compressed.readableBytes)
        packed.writeRepeatingByte(0, count: RecordBatchHeader.size)
        packed.writeImmutableBuffer(compressed)
        return packed
    }
}

/// A record read back from a batch, with its absolute offset and timestamp.
public struct ConsumedRecord: Sendable, Equatable {
    public var offset: Int64
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [(key: String, value: ByteBuffer?)]

    public static func == (lhs: ConsumedRecord, rhs: ConsumedRecord) -> Bool {
        lhs.offset == rhs.offset && lhs.timestamp == rhs.timestamp && lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension RecordBatchHeader {
    /// Decodes the records of `batch` (header included), decompressing the record area of a compressed batch.
    /// Keys, values and headers of an uncompressed batch are slices of `batch` (no copies).
    public static func records(in batch: ByteBuffer) throws(RecordBatchError) -> [ConsumedRecord] {
        let (header, area) = try recordArea(of: batch)
        return try records(inArea: area, of: header)
    }

    /// The records of a batch's record area (see ``recordArea(of:)``); keys, values and headers are slices of it. Only
    /// records at or past offset `first` are built, and at most `limit` of them (the rest of the walk is skipped).
    public static func records(
        inArea recordArea: ByteBuffer, of header: RecordBatchHeader, from first: Int64 = .min, limit: Int = .max
    ) throws(RecordBatchError) -> [ConsumedRecord] {
        try recordArea.withUnsafeReadableBytes { bytes throws(RecordBatchError) in
            var iterator = RecordIterator(records: bytes, count: Int(header.recordCount))
            var result: [ConsumedRecord] = []
            // A record takes at least 7 bytes: a lying recordCount cannot make this reserve more than the data holds.
            result.reserveCapacity(max(0, min(Int(header.recordCount), bytes.count / 7, limit)))
            func slice(_ range: Range<Int>?) -> ByteBuffer? {
                range.flatMap { recordArea.getSlice(at: recordArea.readerIndex + $0.lowerBound, length: $0.count) }
            }
            // Records of a batch mostly carry the same header keys: each distinct key's string is built once (a key
            // longer than 15 bytes is otherwise an allocation per record).
            var keys: [String] = []
            func key(_ range: Range<Int>) -> String {
                let bytes = UnsafeRawBufferPointer(rebasing: bytes[range])
                if let known = keys.first(where: { $0.hasUTF8(bytes) }) { return known }
                let text = String(decoding: bytes, as: UTF8.self)
                if keys.count < 8 { keys.append(text) }
                return text
            }
            while result.count < limit, let raw = iterator.next() {
                // An offset past Int64.max cannot be consumed (nor committed): the batch is refused. A timestamp is
                // only data, and wraps as it does in Kafka's Java client.
                let (offset, overflow) = header.baseOffset.addingReportingOverflow(Int64(raw.offsetDelta))
                guard !overflow else {
                    throw .badRecord(index: result.count, reason: "offset \(header.baseOffset) + \(raw.offsetDelta) is past the largest offset")
                }
                if offset < first { continue }
                let headers = raw.headers.map { h in (key: key(h.key), value: slice(h.value)) }
                let timestamp = header.timestampType == .logAppendTime ? header.maxTimestamp : header.baseTimestamp &+ raw.timestampDelta
                result.append(ConsumedRecord(
                    offset: offset, timestamp: timestamp,
                    timestampType: header.timestampType, key: slice(raw.key), value: slice(raw.value), headers: headers))
            }
            return result
        }
    }
}

extension RecordBatchHeader {
    /// A batch's header and its record area (batch byte 61 onward), decompressed for a compressed batch: what
    /// ``RecordIterator/init(records:count:)`` walks. Uncompressed, the area is a slice of `batch` (no copy).
    public static func recordArea(of batch: ByteBuffer) throws(RecordBatchError) -> (header: RecordBatchHeader, records: ByteBuffer) {
        guard let header = RecordBatchHeader(batch) else { throw .truncatedHeader(position: 0, available: batch.readableBytes) }
        guard header.compression != .unknown else { throw .unknownCompression(position: 0, attributes: header.attributes) }
        let area = batch.getSlice(at: batch.readerIndex + RecordBatchHeader.size,
                                  length: min(batch.readableBytes, header.totalSize) - RecordBatchHeader.size) ?? ByteBuffer()
        guard header.compression != .none else { return (header, area) }
        let codec = header.compression
        let plain = try area.withUnsafeReadableBytes { compressed in
            Result { () throws(RecordBatchError) in try codec.decompress(compressed) }
        }.get()
        return (header, plain)
    }
}

extension String {
    /// Whether the string's UTF-8 is exactly `bytes` (compared with memcmp: a generic comparison of the UTF-8 view
    /// goes byte by byte through an iterator).
    func hasUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard utf8.count == bytes.count else { return false }
        guard !bytes.isEmpty else { return true }
        return utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
            ?? utf8.elementsEqual(bytes)
    }
}

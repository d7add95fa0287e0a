import NIOCore

/// Why bytes are not a valid v2 record batch. The broker maps framing, magic and CRC failures to CORRUPT_MESSAGE
/// and record-level failures to INVALID_RECORD, as Apache Kafka does.
public enum RecordBatchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No batch at all was given.
    case empty
    /// Fewer bytes remain than a batch header needs.
    case truncatedHeader(position: Int, available: Int)
    /// batchLength is too small for a header or runs past the end of the bytes.
    case badLength(position: Int, batchLength: Int32, available: Int)
    /// magic is not 2 (ledgerstream stores only v2 record batches).
    case unsupportedMagic(position: Int, magic: Int8)
    /// The stored CRC-32C does not match the bytes.
    case crcMismatch(position: Int, stored: UInt32, computed: UInt32)
    /// recordCount is not positive or does not match lastOffsetDelta + 1.
    case badRecordCount(position: Int, recordCount: Int32, lastOffsetDelta: Int32)
    /// Producers may not write control batches (they mark transaction boundaries and are written by the broker).
    case controlBatch(position: Int)
    /// An idempotent batch (producerId >= 0) must carry a non-negative base sequence.
    case missingSequence(position: Int)
    /// A transactional batch must name its producer (producerId >= 0).
    case transactionalWithoutProducer(position: Int)
    /// A record inside an uncompressed batch is malformed.
    case badRecord(index: Int, reason: String)
    /// The batch uses a compression codec Kafka does not define.
    case unknownCompression(position: Int, attributes: Int16)
    /// A compressed batch's records could not be decompressed (corrupt, too large, or the codec's library missing).
    case decompressionFailed(codec: CompressionCodec, reason: String)
    /// The codec's shared library is not installed on this machine, so the batch's records cannot be read here.
    case codecUnavailable(codec: CompressionCodec)

    /// True for failures of framing and checksum (CORRUPT_MESSAGE); false for record-level ones (INVALID_RECORD).
    public var isCorruption: Bool {
        switch self {
        case .badRecord, .controlBatch, .missingSequence, .transactionalWithoutProducer: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case .empty: return "no record batch"
        case .truncatedHeader(let p, let a): return "truncated batch header at byte \(p) (\(a) bytes left)"
        case .badLength(let p, let l, let a): return "batch at byte \(p) declares length \(l) but \(a) bytes remain"
        case .unsupportedMagic(let p, let m): return "batch at byte \(p) has magic \(m); only magic 2 is supported"
        case .crcMismatch(let p, let s, let c):
            return "batch at byte \(p) fails its CRC-32C check (stored \(hex(s)), computed \(hex(c)))"
        case .badRecordCount(let p, let n, let d):
            return "batch at byte \(p) has recordCount \(n) but lastOffsetDelta \(d)"
        case .controlBatch(let p): return "batch at byte \(p) is a control batch; producers may not write those"
        case .missingSequence(let p): return "idempotent batch at byte \(p) has a negative base sequence"
        case .transactionalWithoutProducer(let p): return "transactional batch at byte \(p) has no producer id"
        case .badRecord(let i, let reason): return "record \(i): \(reason)"
        case .unknownCompression(let p, let a): return "batch at byte \(p) has unknown compression (attributes \(a))"
        case .decompressionFailed(let codec, let reason): return "\(codec)-compressed batch: \(reason)"
        case .codecUnavailable(let codec):
            let library = codec == .lz4 ? ("liblz4.so.1", "liblz4-1") : ("libzstd.so.1", "libzstd1")
            return "\(codec)-compressed batch: \(library.0) is not installed (Debian package \(library.1))"
        }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}

/// Structural validation of v2 record batches, shared by the broker's produce path, log recovery and the client.
public enum RecordBatchValidator {
    /// Checks the batch starting at `position`: header present, length within `bytes`, magic 2, CRC-32C over
    /// [21, end). Returns the header. Does not look at the records.
    public static func validateFrame(
        _ bytes: UnsafeRawBufferPointer, at position: Int
    ) throws(RecordBatchError) -> RecordBatchHeader {
        let available = bytes.count - position
        guard available >= RecordBatchHeader.size else { throw .truncatedHeader(position: position, available: available) }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + RecordBatchHeader.size)])
        let header = RecordBatchHeader(headerBytes)!
        guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.lengthFieldEnd),
              header.totalSize <= available
        else { throw .badLength(position: position, batchLength: header.batchLength, available: available) }
        guard header.magic == 2 else { throw .unsupportedMagic(position: position, magic: header.magic) }
        let covered = UnsafeRawBufferPointer(
            rebasing: bytes[(position + RecordBatchHeader.crcStart)..<(position + header.totalSize)])
        let computed = CRC32C.checksum(covered)
        guard computed == header.crc else { throw .crcMismatch(position: position, stored: header.crc, computed: computed) }
        return header
    }

    /// Full validation of batches offered by a producer: every batch framed and checksummed, tiling `bytes`
    /// exactly, with consistent counts, no control batches, sequences on idempotent batches, and (for uncompressed
    /// batches when `checkRecords` is set) well-formed records with consecutive offset deltas.
    public static func validateProduced(
        _ bytes: UnsafeRawBufferPointer, checkRecords: Bool = true
    ) throws(RecordBatchError) -> [RecordBatchHeader] {
        guard bytes.count > 0 else { throw .empty }
        var headers: [RecordBatchHeader] = []
        var position = 0
        while position < bytes.count {
            let header = try validateFrame(bytes, at: position)
            guard header.recordCount > 0, header.lastOffsetDelta == header.recordCount - 1 else {
                throw .badRecordCount(position: position, recordCount: header.recordCount,
                                      lastOffsetDelta: header.lastOffsetDelta)
            }
            guard !header.isControl else { throw .controlBatch(position: position) }
            guard header.producerId < 0 || header.baseSequence >= 0 else { throw .missingSequence(position: position) }
            guard !header.isTransactional || header.producerId >= 0 else {
                throw .transactionalWithoutProducer(position: position)
            }
            guard header.compression != .unknown else {
                throw .unknownCompression(position: position, attributes: header.attributes)
            }
            if checkRecords {
                let records = UnsafeRawBufferPointer(
                    rebasing: bytes[(position + RecordBatchHeader.size)..<(position + header.totalSize)])
                if header.compression == .none {
                    try validateRecords(records, count: Int(header.recordCount))
                } else {
                    try validateCompressedRecords(records, header: header)
                }
            }
            headers.append(header)
            position += header.totalSize
        }
        return headers
    }

    public static func validateProduced(_ buffer: ByteBuffer, checkRecords: Bool = true) throws(RecordBatchError) -> [RecordBatchHeader] {
        do {
            return try buffer.withUnsafeReadableBytes { bytes in try validateProduced(bytes, checkRecords: checkRecords) }
        } catch let error as RecordBatchError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// As Kafka's broker does, a compressed batch is decompressed and its records walked, so a batch that no
    /// consumer could read never reaches the log. Without the codec's library the batch is stored unchecked.
    static func validateCompressedRecords(
        _ compressed: UnsafeRawBufferPointer, header: RecordBatchHeader
    ) throws(RecordBatchError) {
        let plain: ByteBuffer
        do {
            plain = try header.compression.decompress(compressed)
        } catch .codecUnavailable {
            return
        }
        try plain.withUnsafeReadableBytes { records in
            Result { () throws(RecordBatchError) in try validateRecords(records, count: Int(header.recordCount)) }
        }.get()
    }

    /// Walks `count` records of an uncompressed batch: each length in bounds, fields parse, offset deltas 0, 1, 2…,
    /// and the records end exactly where the batch ends.
    public static func validateRecords(_ bytes: UnsafeRawBufferPointer, count: Int) throws(RecordBatchError) {
        var cursor = VarintCursor(bytes: bytes)
        for index in 0..<count {
            guard let length = cursor.varint(), length > 0 else {
                throw .badRecord(index: index, reason: "bad record length")
            }
            let end = cursor.position &+ Int(length)  // both far below Int.max: no overflow check
            guard end <= bytes.count else { throw .badRecord(index: index, reason: "record runs past the batch") }
            guard cursor.skip(1),  // attributes
                  cursor.varlong() != nil,  // timestamp delta
                  let offsetDelta = cursor.varint()
            else { throw .badRecord(index: index, reason: "malformed record header") }
            guard Int(offsetDelta) == index else {
                throw .badRecord(index: index, reason: "offset delta \(offsetDelta), expected \(index)")
            }
            guard let keyLength = cursor.varint(), keyLength >= -1, cursor.skip(max(Int(keyLength), 0)),
                  let valueLength = cursor.varint(), valueLength >= -1, cursor.skip(max(Int(valueLength), 0)),
                  let headerCount = cursor.varint(), headerCount >= 0
            else { throw .badRecord(index: index, reason: "malformed key or value") }
            for _ in 0..<headerCount {
                guard let keyLength = cursor.varint(), keyLength >= 0, cursor.skip(Int(keyLength)),
                      let valueLength = cursor.varint(), valueLength >= -1, cursor.skip(max(Int(valueLength), 0))
                else { throw .badRecord(index: index, reason: "malformed header") }
            }
            guard cursor.position == end else {
                throw .badRecord(index: index, reason: "record length \(length) does not match its fields")
            }
        }
        guard cursor.position == bytes.count else {
            throw .badRecord(index: count, reason: "\(bytes.count - cursor.position) bytes after the last record")
        }
    }
}

/// A non-throwing cursor for zig-zag varints over raw bytes; nil means "ran out or malformed".
struct VarintCursor {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= bytes.count &- position else { return false }
        position &+= count
        return true
    }

    /// A record's varints (length, deltas, key and value lengths, header count) nearly all fit in one or two bytes
    /// (a 100-byte value's length is two), so those return before the general loop: the append path walks every
    /// record of every produced batch.
    @inline(__always)
    mutating func varlong() -> Int64? {
        guard position < bytes.count else { return nil }
        let first = UInt64(bytes.load(fromByteOffset: position, as: UInt8.self))
        if first & 0x80 == 0 {
            position &+= 1
            return Self.zigZag(first)
        }
        if position &+ 1 < bytes.count {
            let second = UInt64(bytes.load(fromByteOffset: position &+ 1, as: UInt8.self))
            if second & 0x80 == 0 {
                position &+= 2
                return Self.zigZag(first & 0x7F | second << 7)
            }
        }
        return multiByteVarlong()
    }

    @inline(__always)
    private static func zigZag(_ raw: UInt64) -> Int64 { Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))) }

    private mutating func multiByteVarlong() -> Int64? {
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { return nil }
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return Self.zigZag(raw) }
            shift += 7
        }
        return nil
    }

    /// The same short cases as ``varlong()``, in 32 bits: a one- or two-byte varint always fits an Int32, so only
    /// the general path checks the range. Written out rather than shared with ``varlong()``: a helper common to both
    /// (generic over the width, or 32-bit and widened) cost the walk 4.5-7 % more instructions (callgrind).
    @inline(__always)
    mutating func varint() -> Int32? {
        guard position < bytes.count else { return nil }
        let first = UInt32(bytes.load(fromByteOffset: position, as: UInt8.self))
        if first & 0x80 == 0 {
            position &+= 1
            return Self.zigZag(first)
        }
        if position &+ 1 < bytes.count {
            let second = UInt32(bytes.load(fromByteOffset: position &+ 1, as: UInt8.self))
            if second & 0x80 == 0 {
                position &+= 2
                return Self.zigZag(first & 0x7F | second << 7)
            }
        }
        guard let value = multiByteVarlong(), value >= Int64(Int32.min), value <= Int64(Int32.max) else { return nil }
        return Int32(value)
    }

    @inline(__always)
    private static func zigZag(_ raw: UInt32) -> Int32 { Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))) }
}

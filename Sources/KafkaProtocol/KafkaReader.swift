import NIOCore

/// Consuming reader over one complete Kafka frame.
///
/// Every read either returns a value and moves past it, or throws and leaves the reader unusable: running out of
/// bytes inside a complete frame means the frame is malformed (the frame decoder has already checked the size
/// prefix). "Compact" reads are the flexible-version encodings of KIP-482 (unsigned varint lengths holding N+1).
/// All integers are big-endian, as everywhere in Kafka.
public struct KafkaReader {
    public private(set) var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Bytes not read yet.
    public var remaining: Int { buffer.readableBytes }

    @inline(__always)
    mutating func readFixed<T: FixedWidthInteger>(_: T.Type) throws(KafkaDecodingError) -> T {
        guard let value = buffer.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: buffer.readableBytes)
        }
        return value
    }

    public mutating func readInt8() throws(KafkaDecodingError) -> Int8 { try readFixed(Int8.self) }
    public mutating func readInt16() throws(KafkaDecodingError) -> Int16 { try readFixed(Int16.self) }
    public mutating func readInt32() throws(KafkaDecodingError) -> Int32 { try readFixed(Int32.self) }
    public mutating func readInt64() throws(KafkaDecodingError) -> Int64 { try readFixed(Int64.self) }
    public mutating func readUInt16() throws(KafkaDecodingError) -> UInt16 { try readFixed(UInt16.self) }
    public mutating func readUInt32() throws(KafkaDecodingError) -> UInt32 { try readFixed(UInt32.self) }

    public mutating func readBool() throws(KafkaDecodingError) -> Bool {
        try readFixed(UInt8.self) != 0
    }

    public mutating func readUUID() throws(KafkaDecodingError) -> KafkaUUID {
        let high = try readFixed(UInt64.self)
        let low = try readFixed(UInt64.self)
        return KafkaUUID(high: high, low: low)
    }

    /// Unsigned LEB128 varint of at most 5 bytes (compact lengths, tag numbers).
    public mutating func readUnsignedVarint() throws(KafkaDecodingError) -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            let byte = try readFixed(UInt8.self)
            if shift == 28 && byte > 0x0F { throw .malformedVarint }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Zig-zag signed varint (record-level fields of record batches).
    public mutating func readVarint() throws(KafkaDecodingError) -> Int32 {
        let raw = try readUnsignedVarint()
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Zig-zag signed varlong of at most 10 bytes.
    public mutating func readVarlong() throws(KafkaDecodingError) -> Int64 {
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readFixed(UInt8.self)
            if shift == 63 && byte > 0x01 { throw .malformedVarint }
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A length prefix: int16 (classic strings), int32 (classic bytes and arrays) or uvarint N+1 (compact).
    /// Returns nil for null (-1, or 0 in compact form).
    @inline(__always)
    mutating func readLength(compact: Bool, wide: Bool) throws(KafkaDecodingError) -> Int? {
        let length: Int
        if compact {
            length = Int(try readUnsignedVarint()) - 1
        } else if wide {
            length = Int(try readInt32())
        } else {
            length = Int(try readInt16())
        }
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(Int64(length)) }
        return length
    }

    /// The longest string Kafka encodes, in UTF-8 bytes: a classic string has an int16 length, and Kafka holds
    /// compact strings to the same limit.
    public static let maxStringBytes = Int(Int16.max)

    public mutating func readNullableString(compact: Bool) throws(KafkaDecodingError) -> String? {
        guard let length = try readLength(compact: compact, wide: false) else { return nil }
        guard length <= buffer.readableBytes else {
            throw .truncated(needed: length, available: buffer.readableBytes)
        }
        // Invalid UTF-8 is replaced with U+FFFD, as Kafka's Java decoder does, rather than failing the request.
        let string = buffer.readString(length: length)!
        // Each replaced byte becomes three, so a string can outgrow its int16 length here; the broker echoes strings
        // (topic names, group ids) in responses, so one it could not write back is refused now, as Kafka refuses a
        // string longer than 32767 bytes.
        guard string.utf8.count <= Self.maxStringBytes else {
            throw .invalidValue("a string of \(length) bytes is \(string.utf8.count) bytes as UTF-8, more than \(Self.maxStringBytes)")
        }
        return string
    }

    /// A non-nullable string; a null on the wire reads as "" (Kafka's own decoders reject it, clients never send it).
    public mutating func readString(compact: Bool) throws(KafkaDecodingError) -> String {
        try readNullableString(compact: compact) ?? ""
    }

    /// A byte field as a slice of the frame (no copy).
    public mutating func readNullableBytes(compact: Bool) throws(KafkaDecodingError) -> ByteBuffer? {
        guard let length = try readLength(compact: compact, wide: true) else { return nil }
        guard let slice = buffer.readSlice(length: length) else {
            throw .truncated(needed: length, available: buffer.readableBytes)
        }
        return slice
    }

    public mutating func readBytes(compact: Bool) throws(KafkaDecodingError) -> ByteBuffer {
        try readNullableBytes(compact: compact) ?? ByteBuffer()
    }

    public mutating func readNullableRecords(compact: Bool) throws(KafkaDecodingError) -> Records? {
        guard let bytes = try readNullableBytes(compact: compact) else { return nil }
        return .bytes(bytes)
    }

    public mutating func readRecords(compact: Bool) throws(KafkaDecodingError) -> Records {
        try readNullableRecords(compact: compact) ?? .bytes(ByteBuffer())
    }

    /// An array element count; nil for a null array. Counts larger than the bytes left cannot be honest
    /// (every element takes at least one byte), which stops a 4-byte frame from allocating gigabytes.
    public mutating func readArrayCount(compact: Bool) throws(KafkaDecodingError) -> Int? {
        guard let count = try readLength(compact: compact, wide: true) else { return nil }
        guard count <= buffer.readableBytes else { throw .invalidLength(Int64(count)) }
        return count
    }

    /// Skips a tag buffer: uvarint count, then per field uvarint tag, uvarint size and the bytes.
    /// ledgerstream acts on no tagged field, so all are skipped.
    public mutating func skipTaggedFields() throws(KafkaDecodingError) {
        let count = try readUnsignedVarint()
        for _ in 0..<count {
            _ = try readUnsignedVarint()
            let size = Int(try readUnsignedVarint())
            guard buffer.readableBytes >= size else {
                throw .truncated(needed: size, available: buffer.readableBytes)
            }
            buffer.moveReaderIndex(forwardBy: size)
        }
    }

    public mutating func readInt8Array(compact: Bool) throws(KafkaDecodingError) -> [Int8]? {
        guard let count = try readArrayCount(compact: compact) else { return nil }
        var values: [Int8] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readInt8()) }
        return values
    }

    public mutating func readInt32Array(compact: Bool) throws(KafkaDecodingError) -> [Int32]? {
        guard let count = try readArrayCount(compact: compact) else { return nil }
        var values: [Int32] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readInt32()) }
        return values
    }

    public mutating func readInt64Array(compact: Bool) throws(KafkaDecodingError) -> [Int64]? {
        guard let count = try readArrayCount(compact: compact) else { return nil }
        var values: [Int64] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readInt64()) }
        return values
    }

    public mutating func readStringArray(compact: Bool) throws(KafkaDecodingError) -> [String]? {
        guard let count = try readArrayCount(compact: compact) else { return nil }
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readString(compact: compact)) }
        return values
    }
}

import NIOCore

/// Appending writer for one Kafka message.
///
/// Writes go to `buffer`. A `records` field may instead hold regions of segment files; `splice` then closes the bytes
/// written so far as one part and records the file region as the next, so a Fetch response reaches the socket as
/// bytes + sendfile regions + bytes without the record data ever being copied through memory (see ``parts()``).
public struct KafkaWriter {
    public private(set) var buffer: ByteBuffer
    private var finishedParts: [IOData] = []
    private var splicedBytes = 0
    /// Records held as bytes of at least this size are spliced in as a part of their own instead of copied (see
    /// ``KafkaFrame/requestParts(_:header:splicingFrom:)``); by default they are copied.
    public var splicesRecordBytesFrom = Int.max

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    public init(capacity: Int = 256) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Bytes written so far, spliced file regions included.
    public var count: Int { splicedBytes + buffer.readableBytes }

    /// Everything written, in order: one byte buffer unless file regions were spliced in.
    public func parts() -> [IOData] {
        finishedParts.isEmpty ? [.byteBuffer(buffer)] : finishedParts + [.byteBuffer(buffer)]
    }

    /// Overwrites an int32 already written at `index` of the current buffer (used for the frame size prefix).
    public mutating func setInt32(_ value: Int32, at index: Int) {
        buffer.setInteger(value, at: index, endianness: .big)
    }

    /// Completes a frame whose first four bytes were written as a placeholder: sets them to the size of everything
    /// after them (spliced regions included) and returns the parts to write, in order.
    public func finishFrame() -> [IOData] {
        let size = Int32(count - 4)
        if finishedParts.isEmpty {
            var whole = buffer
            whole.setInteger(size, at: whole.readerIndex, endianness: .big)
            return [.byteBuffer(whole)]
        }
        var parts = finishedParts + [.byteBuffer(buffer)]
        guard case .byteBuffer(var first) = parts[0] else { preconditionFailure("a frame starts with bytes") }
        first.setInteger(size, at: first.readerIndex, endianness: .big)
        parts[0] = .byteBuffer(first)
        return parts
    }

    public mutating func splice(_ region: FileRegion) { splice(part: .fileRegion(region)) }

    /// Closes the bytes written so far as one part and makes `bytes` the next, uncopied.
    public mutating func splice(_ bytes: ByteBuffer) { splice(part: .byteBuffer(bytes)) }

    private mutating func splice(part: IOData) {
        finishedParts.append(.byteBuffer(buffer))
        finishedParts.append(part)
        splicedBytes += buffer.readableBytes + part.readableBytes
        buffer = ByteBufferAllocator().buffer(capacity: 256)
    }

    public mutating func writeInt8(_ value: Int8) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeInt16(_ value: Int16) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeInt32(_ value: Int32) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeInt64(_ value: Int64) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeUInt16(_ value: UInt16) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeUInt32(_ value: UInt32) { buffer.writeInteger(value, endianness: .big) }
    public mutating func writeBool(_ value: Bool) { buffer.writeInteger(UInt8(value ? 1 : 0)) }

    /// Appends bytes without any length prefix.
    public mutating func writeRawBytes(_ bytes: ByteBuffer) { buffer.writeImmutableBuffer(bytes) }

    /// Appends a string's UTF-8 bytes without any length prefix.
    public mutating func writeRawString(_ string: String) { buffer.writeString(string) }

    public mutating func writeUUID(_ value: KafkaUUID) {
        buffer.writeInteger(value.high, endianness: .big)
        buffer.writeInteger(value.low, endianness: .big)
    }

    public mutating func writeUnsignedVarint(_ value: UInt32) {
        writeVarintBits(UInt64(value))
    }

    /// Writes exactly `count` bytes that `body` fills in place: one capacity check and one buffer access for a whole
    /// structure (record batches write a record's seven or so fields this way instead of field by field).
    public mutating func writeInPlace(count: Int, _ body: (inout ByteCursor) -> Void) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var cursor = ByteCursor(UnsafeMutableRawBufferPointer(rebasing: raw[..<count]))
            body(&cursor)
            precondition(cursor.position == count, "writeInPlace: \(cursor.position) bytes written, \(count) announced")
            return count
        }
    }

    public mutating func writeVarint(_ value: Int32) {
        writeVarintBits(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    public mutating func writeVarlong(_ value: Int64) {
        writeVarintBits(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// LEB128 of `bits` in one buffer access (record batches write several varints per record; per-byte writes
    /// dominated the producer's profile).
    @inline(__always)
    private mutating func writeVarintBits(_ bits: UInt64) {
        if bits < 0x80 {
            buffer.writeInteger(UInt8(bits))
            return
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { pointer in
            var v = bits
            var index = 0
            while v >= 0x80 {
                pointer[index] = UInt8(truncatingIfNeeded: v) | 0x80
                v >>= 7
                index += 1
            }
            pointer[index] = UInt8(v)
            return index + 1
        }
    }

    /// A length prefix in the encoding of the field; nil writes null.
    @inline(__always)
    mutating func writeLength(_ length: Int?, compact: Bool, wide: Bool) {
        if compact {
            writeUnsignedVarint(UInt32(length.map { $0 + 1 } ?? 0))
        } else if wide {
            writeInt32(Int32(length ?? -1))
        } else {
            writeInt16(Int16(length ?? -1))
        }
    }

    public mutating func writeNullableString(_ value: String?, compact: Bool) {
        guard let value else { return writeLength(nil, compact: compact, wide: false) }
        writeLength(value.utf8.count, compact: compact, wide: false)
        buffer.writeString(value)
    }

    public mutating func writeString(_ value: String, compact: Bool) {
        writeLength(value.utf8.count, compact: compact, wide: false)
        buffer.writeString(value)
    }

    public mutating func writeNullableBytes(_ value: ByteBuffer?, compact: Bool) {
        guard let value else { return writeLength(nil, compact: compact, wide: true) }
        writeLength(value.readableBytes, compact: compact, wide: true)
        buffer.writeImmutableBuffer(value)
    }

    public mutating func writeBytes(_ value: ByteBuffer, compact: Bool) {
        writeNullableBytes(value, compact: compact)
    }

    public mutating func writeNullableRecords(_ value: Records?, compact: Bool) {
        guard let value else { return writeLength(nil, compact: compact, wide: true) }
        writeLength(value.byteCount, compact: compact, wide: true)
        switch value {
        case .bytes(let bytes):
            if bytes.readableBytes >= splicesRecordBytesFrom { splice(bytes) } else { buffer.writeImmutableBuffer(bytes) }
        case .regions(let slices):
            for slice in slices { splice(slice.region) }
        }
    }

    public mutating func writeRecords(_ value: Records, compact: Bool) {
        writeNullableRecords(value, compact: compact)
    }

    public mutating func writeArrayCount(_ count: Int?, compact: Bool) {
        writeLength(count, compact: compact, wide: true)
    }

    /// The empty tag buffer that ends every struct in flexible versions. ledgerstream never writes tagged fields:
    /// librdkafka before 2.2 mis-parses them (confluentinc/librdkafka#4278).
    public mutating func writeEmptyTaggedFields() { buffer.writeInteger(UInt8(0)) }

    public mutating func writeInt8Array(_ values: [Int8]?, compact: Bool) {
        writeArrayCount(values?.count, compact: compact)
        for value in values ?? [] { writeInt8(value) }
    }

    public mutating func writeInt32Array(_ values: [Int32]?, compact: Bool) {
        writeArrayCount(values?.count, compact: compact)
        for value in values ?? [] { writeInt32(value) }
    }

    public mutating func writeInt64Array(_ values: [Int64]?, compact: Bool) {
        writeArrayCount(values?.count, compact: compact)
        for value in values ?? [] { writeInt64(value) }
    }

    public mutating func writeStringArray(_ values: [String]?, compact: Bool) {
        writeArrayCount(values?.count, compact: compact)
        for value in values ?? [] { writeString(value, compact: compact) }
    }
}

/// Writes into a fixed region of memory (see ``KafkaWriter/writeInPlace(count:_:)``). Overrunning it traps.
public struct ByteCursor {
    private let bytes: UnsafeMutableRawBufferPointer
    public private(set) var position = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    public mutating func writeInt8(_ value: Int8) {
        precondition(position < bytes.count, "ByteCursor overrun")
        bytes[position] = UInt8(bitPattern: value)
        position += 1
    }

    /// A zig-zag varint (Kafka's signed varint/varlong encoding).
    public mutating func writeVarlong(_ value: Int64) {
        var bits = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while bits >= 0x80 {
            precondition(position < bytes.count, "ByteCursor overrun")
            bytes[position] = UInt8(truncatingIfNeeded: bits) | 0x80
            bits >>= 7
            position += 1
        }
        precondition(position < bytes.count, "ByteCursor overrun")
        bytes[position] = UInt8(bits)
        position += 1
    }

    public mutating func writeBytes(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, !source.isEmpty else { return }
        precondition(position + source.count <= bytes.count, "ByteCursor overrun")
        (bytes.baseAddress! + position).copyMemory(from: base, byteCount: source.count)
        position += source.count
    }

    public mutating func writeBytes(_ source: ByteBuffer) {
        source.withUnsafeReadableBytes { writeBytes($0) }
    }

    public mutating func writeString(_ text: String) {
        var text = text
        text.withUTF8 { writeBytes(UnsafeRawBufferPointer($0)) }
    }
}

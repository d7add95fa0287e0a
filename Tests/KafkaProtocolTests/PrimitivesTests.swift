import CCRC32C
import NIOCore
import Testing

@testable import KafkaProtocol

/// Encodings shared by every message: varints, strings, arrays, tag buffers, UUIDs and CRC-32C.
@Suite struct PrimitivesTests {
    @Test func crc32cMatchesKnownVectors() {
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
        #expect([UInt8]().withUnsafeBytes { CRC32C.checksum($0) } == 0)
    }

    @Test func everyCRCImplementationAgreesOnEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        // Lengths around the three-stream blocks of the SSE4.2 path (3 × 256, 3 × 2,048 and 3 × 8,192 bytes), around
        // the folding path's 256-byte turns, 64-byte and 16-byte steps, and past them.
        let data = (0..<60_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 271, 272, 319, 320, 321,
                       511, 512, 513, 767, 768, 769, 1536, 4000, 6143, 6144, 6145, 6912, 16_361, 16_384, 24_575, 24_576,
                       24_577, 49_152 + 800, 59_990]
        let implementations = Array(Int32(CRC32C_PORTABLE)...crc32c_best_implementation())
        data.withUnsafeBytes { bytes in
            for start in 0..<9 {
                for length in lengths where start + length <= bytes.count {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
                    let expected = crc32c_update_portable(0, slice.baseAddress, length)
                    #expect(crc32c_update(0, slice.baseAddress, length) == expected)
                    for implementation in implementations {
                        #expect(crc32c_update_using(implementation, 0, slice.baseAddress, length) == expected,
                                "implementation \(implementation), length \(length), start \(start)")
                        // Continuing from a register that is not the initial one.
                        #expect(crc32c_update_using(implementation, 0x1234_5678, slice.baseAddress, length)
                                == crc32c_update_portable(0x1234_5678, slice.baseAddress, length))
                    }
                }
            }
            // Chaining: the checksum of a+b equals continuing from the checksum of a.
            let a = UnsafeRawBufferPointer(rebasing: bytes[0..<1000])
            let b = UnsafeRawBufferPointer(rebasing: bytes[1000..<4099])
            #expect(CRC32C.checksum(b, continuing: CRC32C.checksum(a)) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<4099])))
        }
    }

    @Test(arguments: [Int32.min, -300, -64, -1, 0, 1, 63, 64, 300, 1 << 20, Int32.max])
    func varintsRoundTrip(value: Int32) throws {
        var writer = KafkaWriter()
        writer.writeVarint(value)
        writer.writeVarlong(Int64(value) * 1_000_003)
        writer.writeUnsignedVarint(UInt32(bitPattern: value))
        var reader = KafkaReader(writer.buffer)
        #expect(try reader.readVarint() == value)
        #expect(try reader.readVarlong() == Int64(value) * 1_000_003)
        #expect(try reader.readUnsignedVarint() == UInt32(bitPattern: value))
        #expect(reader.remaining == 0)
    }

    /// The record walk's cursor (one-byte fast path, then the general loop) reads what the writer wrote, and
    /// refuses truncated and over-long encodings.
    @Test func varintCursorReadsWhatTheWriterWrote() {
        let values: [Int64] = [0, 1, -1, 63, -64, 64, -65, 127, 8_191, -8_192, 8_192, 1 << 40, Int64(Int32.max), Int64(Int32.min),
                               Int64(Int32.max) + 1, .max, .min]
        var writer = KafkaWriter()
        for value in values { writer.writeVarlong(value) }
        let bytes = Array(buffer: writer.buffer)
        bytes.withUnsafeBytes { raw in
            var cursor = VarintCursor(bytes: raw)
            for value in values { #expect(cursor.varlong() == value) }
            #expect(cursor.position == raw.count)
            #expect(cursor.varlong() == nil)
        }
        // varint() has one- and two-byte paths of its own: the values that fit an Int32 read back through them.
        let fitting = values.filter { Int64(Int32.min)...Int64(Int32.max) ~= $0 }
        var fittingWriter = KafkaWriter()
        for value in fitting { fittingWriter.writeVarlong(value) }
        Array(buffer: fittingWriter.buffer).withUnsafeBytes { raw in
            var cursor = VarintCursor(bytes: raw)
            for value in fitting { #expect(cursor.varint().map(Int64.init) == value) }
            #expect(cursor.position == raw.count)
            #expect(cursor.varint() == nil)
        }
        var narrow = KafkaWriter()
        narrow.writeVarlong(Int64(Int32.max) + 1)
        narrow.writeVarlong(-5)
        Array(buffer: narrow.buffer).withUnsafeBytes { raw in
            var cursor = VarintCursor(bytes: raw)
            #expect(cursor.varint() == nil)  // fits an Int64, not an Int32
        }
        for malformed: [UInt8] in [[0x80], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]] {
            malformed.withUnsafeBytes { raw in
                var cursor = VarintCursor(bytes: raw)
                #expect(cursor.varlong() == nil)
                var narrowCursor = VarintCursor(bytes: raw)
                #expect(narrowCursor.varint() == nil)
            }
        }
    }

    @Test func zigZagEncodingMatchesKafka() {
        var writer = KafkaWriter()
        writer.writeVarint(-1)  // zig-zag 1
        writer.writeVarint(1)  // zig-zag 2
        writer.writeVarint(-64)  // 127
        writer.writeVarint(64)  // 128 = 0x80 0x01
        #expect(Array(buffer: writer.buffer) == [0x01, 0x02, 0x7F, 0x80, 0x01])
    }

    @Test func malformedVarintsAreRejected() {
        var reader = KafkaReader(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
        #expect(throws: KafkaDecodingError.malformedVarint) { try reader.readUnsignedVarint() }
        var short = KafkaReader(ByteBuffer(bytes: [0x80]))
        #expect(throws: KafkaDecodingError.self) { try short.readVarint() }
    }

    @Test func stringsAndArraysInBothEncodings() throws {
        for compact in [false, true] {
            var writer = KafkaWriter()
            writer.writeString("héllo", compact: compact)
            writer.writeNullableString(nil, compact: compact)
            writer.writeNullableBytes(ByteBuffer(bytes: [1, 2, 3]), compact: compact)
            writer.writeInt32Array([5, -6], compact: compact)
            writer.writeStringArray(nil, compact: compact)
            var reader = KafkaReader(writer.buffer)
            #expect(try reader.readString(compact: compact) == "héllo")
            #expect(try reader.readNullableString(compact: compact) == nil)
            #expect(try reader.readNullableBytes(compact: compact) == ByteBuffer(bytes: [1, 2, 3]))
            #expect(try reader.readInt32Array(compact: compact) == [5, -6])
            #expect(try reader.readStringArray(compact: compact) == nil)
            #expect(reader.remaining == 0)
        }
    }

    @Test func compactNullAndEmptyAreDistinct() throws {
        var writer = KafkaWriter()
        writer.writeNullableString(nil, compact: true)
        writer.writeNullableString("", compact: true)
        #expect(Array(buffer: writer.buffer) == [0x00, 0x01])
    }

    @Test func absurdCountsAndLengthsAreRejectedBeforeAllocating() {
        var array = KafkaReader(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        #expect(throws: KafkaDecodingError.self) { try array.readArrayCount(compact: false) }
        var string = KafkaReader(ByteBuffer(bytes: [0x7F, 0xFF, 0x41]))
        #expect(throws: KafkaDecodingError.self) { try string.readString(compact: false) }
        var negative = KafkaReader(ByteBuffer(bytes: [0xFF, 0xFE]))
        #expect(throws: KafkaDecodingError.invalidLength(-2)) { try negative.readString(compact: false) }
    }

    @Test func taggedFieldsAreSkipped() throws {
        // Two tagged fields (tag 0 with 3 bytes, tag 5 with 1 byte), then an int8.
        var reader = KafkaReader(ByteBuffer(bytes: [0x02, 0x00, 0x03, 1, 2, 3, 0x05, 0x01, 9, 0x2A]))
        try reader.skipTaggedFields()
        #expect(try reader.readInt8() == 42)
    }

    @Test func uuidsPrintAsKafkaBase64() throws {
        let id = KafkaUUID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
        #expect(id.description.count == 22)
        #expect(KafkaUUID(base64: id.description) == id)
        let random = KafkaUUID.random()
        #expect(!random.isZero && !random.description.hasPrefix("-"))
        #expect(KafkaUUID(base64: "not base64!") == nil)
    }
}

/// Record batches: building, validating and decoding.
@Suite struct RecordBatchTests {
    func sampleBatch() -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.append(ProducerRecord(key: ByteBuffer(string: "k0"), value: ByteBuffer(string: "v0"),
                                      headers: [("h", ByteBuffer(string: "x"))], timestamp: 1_700_000_000_000))
        builder.append(ProducerRecord(key: nil, value: nil, timestamp: 1_700_000_000_005))
        return builder.build()
    }

    @Test func builtBatchesValidateAndDecode() throws {
        let batch = sampleBatch()
        let headers = try RecordBatchValidator.validateProduced(batch)
        #expect(headers.count == 1 && headers[0].recordCount == 2 && headers[0].lastOffsetDelta == 1)
        #expect(headers[0].maxTimestamp == 1_700_000_000_005)
        let decoded = try RecordBatchHeader.records(in: batch)
        #expect(decoded.map(\.offset) == [0, 1])
        #expect(decoded[0].key == ByteBuffer(string: "k0") && decoded[0].headers[0].key == "h")
        #expect(decoded[1].key == nil && decoded[1].value == nil)
    }

    /// kcat's first record in our capture: `1c 00 00 00 04 6b30 04 7630 02 02 68 02 78` (key k0, value v0, h=x).
    @Test func recordEncodingMatchesACapturedKcatRecord() {
        var builder = RecordBatchBuilder()
        builder.append(ProducerRecord(key: ByteBuffer(string: "k0"), value: ByteBuffer(string: "v0"),
                                      headers: [("h", ByteBuffer(string: "x"))], timestamp: 5))
        let batch = builder.build()
        let record = Array(buffer: batch.getSlice(at: 61, length: batch.readableBytes - 61)!)
        #expect(record == [0x1C, 0x00, 0x00, 0x00, 0x04, 0x6B, 0x30, 0x04, 0x76, 0x30, 0x02, 0x02, 0x68, 0x02, 0x78])
    }

    @Test func validatorRejectsEachKindOfDamage() {
        var badCount = sampleBatch()
        badCount.setInteger(Int32(5), at: 57)  // recordCount 5 != lastOffsetDelta + 1 (CRC recomputed below)
        fixCRC(&badCount)
        #expect(throws: RecordBatchError.badRecordCount(position: 0, recordCount: 5, lastOffsetDelta: 1)) {
            try RecordBatchValidator.validateProduced(badCount)
        }
        var control = sampleBatch()
        control.setInteger(Int16(0x20), at: 21)
        fixCRC(&control)
        #expect(throws: RecordBatchError.controlBatch(position: 0)) { try RecordBatchValidator.validateProduced(control) }
        var badRecord = sampleBatch()
        badRecord.setInteger(UInt8(0x7F), at: 61)  // first record length now too large
        fixCRC(&badRecord)
        #expect(throws: RecordBatchError.self) { try RecordBatchValidator.validateProduced(badRecord) }
        #expect(throws: Never.self) { try RecordBatchValidator.validateProduced(badRecord, checkRecords: false) }
        var idempotentWithoutSequence = sampleBatch()
        idempotentWithoutSequence.setInteger(Int64(3), at: 43)
        fixCRC(&idempotentWithoutSequence)
        #expect(throws: RecordBatchError.missingSequence(position: 0)) {
            try RecordBatchValidator.validateProduced(idempotentWithoutSequence)
        }
    }

    @Test func twoBatchesBackToBackValidate() throws {
        var both = sampleBatch()
        var second = sampleBatch()
        both.writeBuffer(&second)
        #expect(try RecordBatchValidator.validateProduced(both).count == 2)
        both.writeInteger(UInt8(0))  // one stray byte after them
        #expect(throws: RecordBatchError.truncatedHeader(position: both.readableBytes - 1, available: 1)) {
            try RecordBatchValidator.validateProduced(both)
        }
    }

    private func fixCRC(_ batch: inout ByteBuffer) {
        let crc = batch.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        batch.setInteger(crc, at: 17)
    }
}

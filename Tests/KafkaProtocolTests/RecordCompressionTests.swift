import KafkaProtocol
import NIOCore
import Testing

/// The record-batch codecs: round trips, a hand-made snappy stream (raw and xerial-framed), corrupt and truncated
/// input, the decompression limit, and compressed batches through the builder, the reader and the validator.
@Suite struct RecordCompressionTests {
    static let text = Array(String(repeating: "transaction_date;account;transaction_value;balance\n", count: 200).utf8)

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func roundTrip(codec: CompressionCodec) throws {
        let compressed = try Self.text.withUnsafeBytes { try codec.compress($0) }
        #expect(compressed.readableBytes < Self.text.count / 4, "repetitive text must shrink")
        let plain = try compressed.withUnsafeReadableBytes { try codec.decompress($0) }
        #expect(Array(plain.readableBytesView) == Self.text)
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func emptyInputRoundTrips(codec: CompressionCodec) throws {
        let compressed = try [UInt8]().withUnsafeBytes { try codec.compress($0) }
        let plain = try compressed.withUnsafeReadableBytes { try codec.decompress($0) }
        #expect(plain.readableBytes == 0)
    }

    /// "abc" as a literal, then a 9-byte copy at distance 3 (overlapping itself): "abcabcabcabc".
    static let snappyBlock: [UInt8] = [0x0C, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]

    @Test func snappyRawBlock() throws {
        let plain = try Self.snappyBlock.withUnsafeBytes { try CompressionCodec.snappy.decompress($0) }
        #expect(String(buffer: plain) == "abcabcabcabc")
    }

    @Test func snappyXerialFraming() throws {
        let header: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        let block = [0, 0, 0, UInt8(Self.snappyBlock.count)] + Self.snappyBlock
        let framed = header + block + block
        let plain = try framed.withUnsafeBytes { try CompressionCodec.snappy.decompress($0) }
        #expect(String(buffer: plain) == "abcabcabcabc" + "abcabcabcabc")
    }

    @Test func snappyRejectsACopyBeforeTheStart() {
        let bad: [UInt8] = [0x0C, 0x08, 0x61, 0x62, 0x63, 0x15, 0x09]  // distance 9 with 3 bytes written
        #expect(throws: RecordBatchError.self) { try bad.withUnsafeBytes { try CompressionCodec.snappy.decompress($0) } }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func garbageIsCorrupt(codec: CompressionCodec) {
        let garbage: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
        #expect(throws: RecordBatchError.self) { try garbage.withUnsafeBytes { try codec.decompress($0) } }
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func truncatedStreamIsCorrupt(codec: CompressionCodec) throws {
        let compressed = try Self.text.withUnsafeBytes { try codec.compress($0) }
        let cut = Array(compressed.readableBytesView.dropLast(5))
        #expect(throws: RecordBatchError.self) { try cut.withUnsafeBytes { try codec.decompress($0) } }
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func outputBeyondTheLimitIsRefused(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = try zeros.withUnsafeBytes { try codec.compress($0) }
        #expect(throws: RecordBatchError.decompressionFailed(codec: codec, reason: "decompresses to more than 65536 bytes")) {
            try compressed.withUnsafeReadableBytes { try codec.decompress($0, limit: 65536) }
        }
    }

    static func batch(_ codec: CompressionCodec, records: Int = 50) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.compression = codec
        builder.baseOffset = 100
        for index in 0..<records {
            builder.append(ProducerRecord(
                key: ByteBuffer(string: "account-\(index % 5)"), value: ByteBuffer(string: "value number \(index) of many"),
                headers: [(key: "h", value: ByteBuffer(string: "\(index)"))], timestamp: 1_700_000_000_000 + Int64(index)))
        }
        return builder.build()
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func compressedBatchesReadBackRecordForRecord(codec: CompressionCodec) throws {
        let batch = Self.batch(codec)
        let header = try #require(RecordBatchHeader(batch))
        #expect(header.compression == codec)
        #expect(batch.readableBytes < Self.batch(.none).readableBytes)
        #expect(try RecordBatchValidator.validateProduced(batch).count == 1)
        let records = try RecordBatchHeader.records(in: batch)
        #expect(records == (try RecordBatchHeader.records(in: Self.batch(.none))))
        #expect(records.count == 50)
        #expect(records.last?.offset == 149)
        #expect(records.last.map { String(buffer: $0.value!) } == "value number 49 of many")
        #expect(records.last?.headers.first?.key == "h")
    }

    @Test func aBatchThatDoesNotShrinkStaysUncompressed() throws {
        var builder = RecordBatchBuilder()
        builder.compression = .gzip
        builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: "x"), timestamp: 1))
        let header = try #require(RecordBatchHeader(builder.build()))
        #expect(header.compression == .none)
    }

    @Test func theValidatorRejectsACompressedBatchWhoseRecordsDoNotDecode() throws {
        // A gzip batch whose compressed area is valid gzip of bytes that are not records, with a correct CRC.
        var batch = Self.batch(.gzip)
        let junk = try Array(repeating: UInt8(0xFF), count: 64).withUnsafeBytes { try CompressionCodec.gzip.compress($0) }
        batch.moveWriterIndex(to: batch.readerIndex + RecordBatchHeader.size)
        batch.writeImmutableBuffer(junk)
        Self.fixLengthAndCRC(&batch)
        #expect(throws: RecordBatchError.self) { try RecordBatchValidator.validateProduced(batch) }
        // And one whose compressed area is not gzip at all.
        batch.moveWriterIndex(to: batch.readerIndex + RecordBatchHeader.size)
        batch.writeBytes([UInt8](repeating: 0x42, count: 40))
        Self.fixLengthAndCRC(&batch)
        #expect {
            try RecordBatchValidator.validateProduced(batch)
        } throws: { error in
            (error as? RecordBatchError)?.isCorruption == true
        }
    }

    static func fixLengthAndCRC(_ batch: inout ByteBuffer) {
        batch.setInteger(Int32(batch.readableBytes - RecordBatchHeader.lengthFieldEnd), at: batch.readerIndex + 8)
        let crc = batch.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcStart...])) }
        batch.setInteger(crc, at: batch.readerIndex + 17)
    }
}

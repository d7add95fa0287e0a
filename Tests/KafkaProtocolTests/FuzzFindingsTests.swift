import NIOCore
import Testing

@testable import KafkaProtocol

/// Inputs that made a fuzz target (Fuzz/, `bash Fuzz/run`) crash or break an invariant, each kept here with the
/// input inline so that the bug stays fixed without the fuzzer.
@Suite struct FuzzFindingsTests {
    /// kafka-request (the re-encode invariant): a CreateTopics v4 request naming its topic with 10,923 bytes of
    /// invalid UTF-8. Decoding replaced each byte with U+FFFD (three bytes), so the name no longer fitted the int16
    /// length of the response that echoes it, and writing that response trapped: one request took the broker down.
    @Test func createTopicsNameThatOutgrowsItsLengthAsUTF8IsRefused() throws {
        var frame: [UInt8] = [0, 19, 0, 4, 0, 0, 0, 1, 0, 1, 0x78]  // CreateTopics v4, correlation id 1, client "x"
        frame += [0, 0, 0, 1, 0x2A, 0xAB] + [UInt8](repeating: 0xFF, count: 10_923)  // 1 topic, 10,923-byte name
        frame += [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8, 0]  // 1 partition, RF 1, 1000 ms
        var reader = KafkaReader(ByteBuffer(bytes: frame))
        #expect(try RequestHeader(from: &reader).apiKey == .createTopics)
        #expect(throws: KafkaDecodingError.self) { _ = try CreateTopicsRequest(from: &reader, version: 4) }
    }

    /// The limit behind the finding: whatever string the reader returns fits 32767 UTF-8 bytes, so it can be
    /// written back in either encoding; longer ones are refused, as Kafka refuses them.
    @Test func everyStringReadCanBeWrittenBack() throws {
        func classic(_ bytes: [UInt8]) -> KafkaReader {
            KafkaReader(ByteBuffer(bytes: [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes))
        }
        var fits = classic([UInt8](repeating: 0xFF, count: 10_922))
        let repaired = try fits.readString(compact: false)
        #expect(repaired.utf8.count == 32_766)
        var writer = KafkaWriter()
        writer.writeString(repaired, compact: false)
        #expect(writer.buffer.readableBytes == 2 + 32_766)

        var outgrows = classic([UInt8](repeating: 0xFF, count: 10_923))
        #expect(throws: KafkaDecodingError.self) { _ = try outgrows.readString(compact: false) }

        var writerOfCompact = KafkaWriter()
        writerOfCompact.writeString(String(repeating: "a", count: 32_768), compact: true)
        var tooLong = KafkaReader(writerOfCompact.buffer)
        #expect(throws: KafkaDecodingError.self) { _ = try tooLong.readString(compact: true) }
        var longest = KafkaReader(ByteBuffer(bytes: [0x80, 0x80, 0x02] + [UInt8](repeating: 0x61, count: 32_767)))
        #expect(try longest.readString(compact: true).utf8.count == 32_767)
    }

    /// record-batch (minimised with -minimize_crash=1): two records in a batch whose baseOffset is Int64.max. The
    /// produce validator accepts it (the broker assigns its own offsets), but the record reader computed the second
    /// record's offset with a trapping add, and the consumer (so the ledger sink) would die on such a fetched batch.
    static let batchAtTheLastOffset: [UInt8] = [
        0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00,
        0x02, 0xA6, 0xB5, 0x47, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0xA2, 0x12,
        0x66, 0x35, 0x5D, 0x00, 0x00, 0x01, 0xA2, 0x12, 0x66, 0x35, 0x67, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00,
        0x00, 0x02, 0x6B, 0x02, 0x76, 0x00, 0x10, 0x00, 0x14, 0x02, 0x02, 0x6B, 0x02, 0x76, 0x00,
    ]

    @Test func recordOffsetsPastInt64MaxAreRefusedNotTrapped() throws {
        let batch = ByteBuffer(bytes: Self.batchAtTheLastOffset)
        let header = try #require(RecordBatchHeader(batch))
        #expect(header.baseOffset == Int64.max && header.recordCount == 2)
        #expect(header.lastOffset < header.baseOffset, "wraps, as in Kafka, instead of trapping")
        #expect(throws: RecordBatchError.self) { _ = try RecordBatchHeader.records(in: batch) }

        // Stored by the broker, the batch starts at an offset of its choosing and reads whole.
        var stored = batch
        stored.setInteger(Int64(41), at: 0)
        #expect(try RecordBatchHeader.records(in: stored).map(\.offset) == [41, 42])
    }

    /// The same reader added timestamp deltas to baseTimestamp with a trapping add; a timestamp is only data and
    /// wraps, as in Kafka's Java client.
    @Test func timestampsPastInt64MaxWrap() throws {
        var batch = ByteBuffer(bytes: Self.batchAtTheLastOffset)
        batch.setInteger(Int64(0), at: 0)
        batch.setInteger(Int64.max, at: 27)  // baseTimestamp; the records' deltas are 0 and 10
        let records = try RecordBatchHeader.records(in: batch)
        #expect(records.map(\.timestamp) == [Int64.max, Int64.max &+ 10])
    }
}

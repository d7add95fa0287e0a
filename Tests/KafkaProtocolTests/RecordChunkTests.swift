import NIOCore
import Testing

@testable import KafkaProtocol

/// A ``RecordChunk`` builds exactly the batch its records would as ``ProducerRecord``s.
@Suite struct RecordChunkTests {
    /// Records covering every shape: null and empty keys and values, no header, several, a repeated key, a null
    /// header value, multi-byte text, a value past one varint byte, and given and default timestamps.
    func sample() -> RecordChunk {
        var chunk = RecordChunk(records: 2, bytes: 16)  // small on purpose: the arrays grow
        chunk.append(key: "C1", value: Array(#"{"a":1}"#.utf8))
        chunk.addHeader("ledgerstream.source", value: Array("sha256:ab:2".utf8))
        chunk.append(key: nil, value: nil, timestamp: 1_700_000_000_123)
        chunk.append(key: "", value: [])
        chunk.addHeader("h", value: nil)
        chunk.addHeader("ledgerstream.source", value: Array("sha256:ab:4".utf8))
        chunk.addHeader("h", value: [])
        chunk.append(key: "Zürich ✓", value: [UInt8](repeating: 7, count: 300), timestamp: 5)
        return chunk
    }

    @Test func buildsTheSameBatchAsProducerRecords() throws {
        let chunk = sample()
        #expect(chunk.count == 4)
        var fromChunk = RecordBatchBuilder()
        var fromRecords = RecordBatchBuilder()
        for index in 0..<chunk.count {
            fromChunk.append(index, of: chunk, timestamp: 1_700_000_000_000)
            let record = chunk.record(at: index, timestamp: 1_700_000_000_000)
            fromRecords.append(record)
            #expect(chunk.estimatedSize(at: index) == record.estimatedSize)
            #expect(chunk.hasKey(at: index) == (record.key != nil))
            #expect(chunk.withKey(at: index) { $0.map { Array($0) } } == record.key.map { Array(buffer: $0) })
        }
        let built = fromChunk.build()
        #expect(built == fromRecords.build())
        _ = try RecordBatchValidator.validateProduced(built)
        let decoded = try RecordBatchHeader.records(in: built)
        #expect(decoded.count == 4)
        #expect(decoded[0].key == ByteBuffer(string: "C1") && decoded[0].headers.map(\.key) == ["ledgerstream.source"])
        #expect(decoded[0].headers[0].value == ByteBuffer(string: "sha256:ab:2") && decoded[0].timestamp == 1_700_000_000_000)
        #expect(decoded[1].key == nil && decoded[1].value == nil && decoded[1].timestamp == 1_700_000_000_123)
        #expect(decoded[2].key == ByteBuffer() && decoded[2].value == ByteBuffer())
        #expect(decoded[2].headers.map(\.key) == ["h", "ledgerstream.source", "h"])
        #expect(decoded[2].headers[0].value == nil && decoded[2].headers[2].value == ByteBuffer())
        #expect(decoded[3].key == ByteBuffer(string: "Zürich ✓") && decoded[3].value?.readableBytes == 300)
        #expect(decoded[3].timestamp == 5)
    }

    /// A batch's records from an offset, at most so many: those before are skipped, the walk stops at the limit.
    @Test func recordsFromAnOffsetUpToALimit() throws {
        var builder = RecordBatchBuilder()
        builder.baseOffset = 100
        for index in 0..<5 { builder.append(ProducerRecord(key: nil, value: ByteBuffer(string: "v\(index)"), timestamp: 7)) }
        let (header, area) = try RecordBatchHeader.recordArea(of: builder.build())
        #expect(try RecordBatchHeader.records(inArea: area, of: header).map(\.offset) == [100, 101, 102, 103, 104])
        #expect(try RecordBatchHeader.records(inArea: area, of: header, from: 102, limit: 2).map(\.offset) == [102, 103])
        #expect(try RecordBatchHeader.records(inArea: area, of: header, from: 103).map { String(buffer: $0.value!) } == ["v3", "v4"])
        #expect(try RecordBatchHeader.records(inArea: area, of: header, from: 105).isEmpty)
    }

    /// Header keys are reused by their bytes: keys of the same length that differ, and a canonically equivalent key
    /// spelled with other bytes (a precomposed é against e + a combining accent), each keep their own bytes.
    @Test func headerKeysKeepTheirOwnBytes() throws {
        let keys = ["source-a", "source-b", "caf\u{E9}", "cafe\u{301}", "source-a", "caf\u{E9}"]
        var chunk = RecordChunk(records: 1, bytes: 8)
        chunk.append(key: nil, value: nil, timestamp: 1)
        for key in keys { chunk.addHeader(key, value: Array(key.utf8)) }
        var builder = RecordBatchBuilder()
        builder.append(0, of: chunk, timestamp: 1)
        let headers = try RecordBatchHeader.records(in: builder.build())[0].headers
        #expect(headers.map { Array($0.key.utf8) } == keys.map { Array($0.utf8) })
        #expect(headers.map { Array(buffer: $0.value!) } == keys.map { Array($0.utf8) })
    }

    @Test func removeAllStartsAFreshChunk() {
        var chunk = sample()
        chunk.removeAll()
        #expect(chunk.isEmpty)
        chunk.append(key: "k", value: Array("v".utf8))
        chunk.addHeader("h", value: Array("x".utf8))
        var builder = RecordBatchBuilder()
        builder.append(0, of: chunk, timestamp: 5)
        let batch = builder.build()
        // Key "k", value "v", header h=x, timestamp and offset deltas 0.
        let record = Array(buffer: batch.getSlice(at: 61, length: batch.readableBytes - 61)!)
        #expect(record == [0x18, 0x00, 0x00, 0x00, 0x02, 0x6B, 0x02, 0x76, 0x02, 0x02, 0x68, 0x02, 0x78])
    }
}
